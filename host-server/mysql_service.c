/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <vamos/protocol.h>

#include "executor.h"
#include "store.h"
#include "log.h"
#include "mysql_fragments.h"
#include "mysql_service.h"
#include "reply.h"
#include "service.h"

/* One executor per configured VM, keyed by the VM's identity (never its
 * name: see vm_id), with its messages in pieces; fixed once started. */
struct vm_slot {
	vm_id id;
	struct mx_vm *vm;
	struct mfrag *frag;
};
static struct vm_slot vms[CONFIG_MAX_VMS];
static unsigned vm_count;
/* Largest request or reply in pieces (mysql_max_request_mb). */
static uint32_t max_message;
/* The block cache and background threads every VM's store shares. */
static struct mh_shared *shared;

/* VM_NONE (a session on the shared unix_socket) matches no executor. */
static struct vm_slot *find(vm_id id)
{
	for (unsigned i = 0; id != VM_NONE && i < vm_count; i++)
		if (vms[i].id == id)
			return &vms[i];
	return NULL;
}

/* The executor's view of one request on a poller. */
struct glue {
	struct mx_call call;
	struct reply *rep;
	struct vm_slot *slot;
	uint64_t ctx;         /* the request's context (0: none) */
	unsigned char *small; /* an answer reserved in the ring */
	unsigned char *big;   /* an answer larger than a record (malloc'd) */
	unsigned char *first; /* then: the ring room for its first piece */
};

/* A deferred answer, to be sent in pieces if it is larger than a record. */
struct later {
	struct deferred_reply *d;
	struct mfrag *frag;
	uint64_t ctx;
	uint32_t max_payload;
};

static int reserve(struct mx_call *c, uint32_t len, void **buf)
{
	struct glue *g = (struct glue *)c;
	if (len <= g->rep->max_payload || !g->ctx) {
		int rc = reply_reserve(g->rep, len, buf);
		if (rc == 0)
			g->small = *buf;
		return rc;
	}
	/* Larger than a record: the first piece goes in a full record now,
	 * the rest is fetched with REPLY_NEXT. */
	int rc = reply_reserve(g->rep, g->rep->max_payload, (void **)&g->first);
	if (rc)
		return rc;
	g->big = malloc(len);
	if (!g->big)
		return -ENOMEM;
	*buf = g->big;
	return 0;
}

static void unreserve(struct mx_call *c)
{
	struct glue *g = (struct glue *)c;
	/* Only small answers are tried before a hand-over to the pool. */
	if (g->small) {
		reply_unreserve(g->rep);
		g->small = NULL;
	}
}

static uint32_t room(struct mx_call *c)
{
	return reply_room(((struct glue *)c)->rep);
}

static void *defer(struct mx_call *c)
{
	struct glue *g = (struct glue *)c;
	struct later *l = malloc(sizeof *l);
	if (!l)
		return NULL;
	l->d = reply_defer(g->rep);
	if (!l->d) {
		free(l);
		return NULL;
	}
	l->frag = g->slot->frag;
	l->ctx = g->ctx;
	l->max_payload = g->rep->max_payload;
	return l;
}

/* The first piece of a reply of @len bytes into @dst (a full record of
 * @room bytes); the rest kept for REPLY_NEXT (@whole taken over). Returns
 * the bytes written to @dst, or -ENOMEM (nothing kept). */
static int64_t split(struct mfrag *frag, uint64_t ctx, int status, unsigned char *whole,
		     uint32_t len, unsigned char *dst, uint32_t room)
{
	struct vamos_mysql_more m = { .status = status, .total = len };
	uint32_t first = room - (uint32_t)sizeof m;
	memcpy(dst, &m, sizeof m);
	memcpy(dst + sizeof m, whole, first);
	if (mfrag_keep_reply(frag, ctx, whole, len, first))
		return -ENOMEM;
	return room;
}

static void done(void *token, int status, const void *data, uint32_t len)
{
	struct later *l = token;
	if (len > l->max_payload && l->ctx) {
		unsigned char *whole = malloc(len), *msg = malloc(l->max_payload);
		int64_t n = -ENOMEM;
		if (whole && msg) {
			memcpy(whole, data, len);
			n = split(l->frag, l->ctx, status, whole, len, msg, l->max_payload);
		} else {
			free(whole);
		}
		if (n < 0)
			deferred_reply_send(l->d, -ENOMEM, NULL, 0);
		else
			deferred_reply_send(l->d, VAMOS_MYSQL_MORE, msg, (uint32_t)n);
		free(msg);
	} else {
		deferred_reply_send(l->d, status, data, len);
	}
	free(l);
}

/* Fail with status @rc and message @why (if there is room for it). */
static int fail(struct reply *rep, int rc, const char *why)
{
	void *p;
	uint32_t n = (uint32_t)strlen(why);
	if (rep->at || reply_reserve(rep, n, &p))
		return rc;
	memcpy(p, why, n);
	reply_commit(rep, rc, n);
	return rc;
}

/* REPLY_NEXT: the next piece of the context's reply. */
static int next_piece(struct vm_slot *slot, uint64_t ctx, const unsigned char *body,
		      uint32_t len, struct reply *rep)
{
	void *p;
	int rc = reply_reserve(rep, rep->max_payload, &p);
	if (rc)
		return rc;
	const char *why = "";
	int64_t n = mfrag_next(slot->frag, ctx, body, len, p, rep->max_payload, &why);
	if (n < 0) {
		uint32_t m = (uint32_t)strlen(why);
		memcpy(p, why, m < rep->max_payload ? m : rep->max_payload);
		reply_commit(rep, (int)n, m < rep->max_payload ? m : rep->max_payload);
		return (int)n;
	}
	reply_commit(rep, 0, (uint32_t)n);
	return 0;
}

/* A request flagged VAMOS_MYSQL_LOCK_WAIT: the value into @c, the request
 * without it into *@copy (malloc'd) for the executor. 0, or -EINVAL with
 * @why, or -ENOMEM. */
static int take_lock_wait(struct mx_call *c, struct vamos_mysql_req h, unsigned char **copy,
			  const char **why)
{
	struct vamos_mysql_lock_wait w;
	/* Trust: the flag needs its whole struct, copied once (@h already is). */
	if (c->len < sizeof h + sizeof w) {
		*why = "LOCK_WAIT: request too short";
		return -EINVAL;
	}
	memcpy(&w, c->data + sizeof h, sizeof w);
	/* Trust: a wait of at least 1 ms and reserved bits zero. */
	if (w.ms == 0 || w.reserved) {
		*why = "LOCK_WAIT: malformed";
		return -EINVAL;
	}
	uint32_t len = c->len - (uint32_t)sizeof w;
	if (!(*copy = malloc(len)))
		return -ENOMEM;
	h.flags &= (uint16_t)~VAMOS_MYSQL_LOCK_WAIT;
	memcpy(*copy, &h, sizeof h);
	memcpy(*copy + sizeof h, c->data + sizeof h + sizeof w, len - sizeof h);
	c->data = *copy;
	c->len = len;
	c->lock_wait_ms = w.ms;
	return 0;
}

static int handle(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx;
	struct vm_slot *slot = find(req->vm);
	if (!slot) {
		/* A session of no VM (unix_socket): no store. ATTACH, the first
		 * call of a client, says why; later calls' buffers may be small. */
		if (req->op != VAMOS_MYSQL_ATTACH)
			return -EPERM;
		return fail(rep, -EPERM, "this connection belongs to no VM (vamosd's unix_socket): "
					 "connect to the VM's stream_socket or over vsock");
	}
	struct vamos_mysql_req h = { 0 };
	/* Trust: the header is copied once; the executor checks it again in full. */
	if (req->len >= sizeof h)
		memcpy(&h, req->data, sizeof h);
	bool attach = req->op == VAMOS_MYSQL_ATTACH;
	struct glue g = {
		.call = { .op = req->op, .data = req->data, .len = req->len,
			  /* Replies larger than a record go in pieces; ATTACH's
			   * welcome states the record's own limits. */
			  .max_reply = attach ? rep->max_payload : max_message,
			  .max_request = attach ? rep->max_payload : max_message,
			  .reserve = reserve, .unreserve = unreserve, .room = room,
			  .defer = defer, .reserve_in_place = reply_in_ring(rep) },
		.rep = rep,
		.slot = slot,
		.ctx = h.ctx,
	};
	const char *why = "";
	bool whole = false;
	if (req->op == VAMOS_MYSQL_FRAGMENT || req->op == VAMOS_MYSQL_REPLY_NEXT) {
		/* Trust: pieces carry a full header of this version, a context, no table or flags. */
		if (req->len < sizeof h || h.version != VAMOS_MYSQL_VERSION || !h.ctx || h.table ||
		    h.flags)
			return fail(rep, -EINVAL, "FRAGMENT/REPLY_NEXT: bad request header");
		const unsigned char *body = req->data + sizeof h;
		uint32_t len = req->len - (uint32_t)sizeof h;
		if (req->op == VAMOS_MYSQL_REPLY_NEXT)
			return next_piece(slot, h.ctx, body, len, rep);
		struct vamos_mysql_fragment fh;
		/* Trust: the piece's header is copied once and only the copy is used. */
		if (len < sizeof fh)
			return fail(rep, -EINVAL, "FRAGMENT: no fragment header");
		memcpy(&fh, body, sizeof fh);
		uint32_t n = len - (uint32_t)sizeof fh;
		/* A piece that does not end the request is answered with no
		 * bytes (or a short message): room for that first, so that a
		 * piece is never taken twice. */
		void *p = NULL;
		uint32_t room = rep->max_payload < 128 ? rep->max_payload : 128;
		bool last = fh.offset <= fh.total && n >= fh.total - fh.offset;
		if (!last && reply_reserve(rep, room, &p))
			return -EAGAIN;
		struct mfrag_whole w;
		int rc = mfrag_put(slot->frag, h.ctx, &fh, body + sizeof fh, n, &w, &why);
		if (rc <= 0 && p) {
			uint32_t m = rc ? (uint32_t)strlen(why) : 0;
			memcpy(p, why, m < room ? m : room);
			reply_commit(rep, rc, m < room ? m : room);
			return rc;
		}
		if (rc < 0)
			return fail(rep, rc, why);
		g.call.op = w.op;
		g.call.data = w.data;
		g.call.len = w.len;
		whole = true;
	} else if (h.ctx && req->op == VAMOS_MYSQL_CTX_CLOSE) {
		mfrag_drop(slot->frag, h.ctx);
	} else if (h.ctx) {
		int rc = mfrag_other_request(slot->frag, h.ctx, &why);
		if (rc)
			return rc == -EBUSY ? rc : fail(rep, rc, why);
	} else if (attach) {
		struct vamos_mysql_attach a = { 0 };
		/* Trust: only a copy of the flags is looked at; the executor checks the rest. */
		if (req->len >= sizeof h + sizeof a)
			memcpy(&a, req->data + sizeof h, sizeof a);
		if (a.flags & VAMOS_MYSQL_ATTACH_EXCLUSIVE)
			mfrag_reset(slot->frag); /* every context of the VM ends */
	}
	unsigned char *copy = NULL;
	struct vamos_mysql_req inner = { 0 };
	/* Trust: the (whole) request's header is read once into a private copy. */
	if (g.call.len >= sizeof inner)
		memcpy(&inner, g.call.data, sizeof inner);
	if (inner.flags & VAMOS_MYSQL_LOCK_WAIT) {
		int rc = take_lock_wait(&g.call, inner, &copy, &why);
		if (rc) {
			if (whole)
				mfrag_release(slot->frag, h.ctx, true);
			return fail(rep, rc, why);
		}
	}
	int rc = mx_handle(slot->vm, &g.call);
	free(copy);
	if (whole)
		mfrag_release(slot->frag, h.ctx, rc != -EAGAIN);
	if (rc == MX_DEFERRED)
		return 0;
	if (g.big) {
		uint32_t n = g.call.reply_len;
		if (rc == -EAGAIN || n <= rep->max_payload) {
			if (rc != -EAGAIN)
				memcpy(g.first, g.big, n);
			free(g.big);
			if (rc != -EAGAIN)
				reply_commit(rep, rc, n);
			return rc;
		}
		int64_t m = split(slot->frag, g.ctx, rc, g.big, n, g.first, rep->max_payload);
		if (m < 0)
			reply_commit(rep, -ENOMEM, 0);
		else
			reply_commit(rep, VAMOS_MYSQL_MORE, (uint32_t)m);
		return rc;
	}
	if (rc == 0 && attach && g.small &&
	    g.call.reply_len >= sizeof(struct vamos_mysql_welcome)) {
		uint32_t mm = max_message;
		memcpy(g.small + offsetof(struct vamos_mysql_welcome, max_message), &mm, sizeof mm);
	}
	if (rc != -EAGAIN && rep->at)
		reply_commit(rep, rc, g.call.reply_len <= rep->reserved ? g.call.reply_len : 0);
	return rc;
}

int mysql_service_start(const struct config *cfg, const char **why)
{
	struct mh_shared_options so = {
		.block_cache = (size_t)cfg->mysql_block_cache_mb << 20,
		.background_threads = cfg->mysql_background_threads,
	};
	int src = mh_shared_create(&so, &shared);
	if (src) {
		*why = "cannot make the stores' shared cache and threads";
		return src;
	}
	struct mx_options opt = {
		.write_buffer = (size_t)cfg->mysql_write_buffer_mb << 20,
		.shared = shared,
		.lock_wait_ms = cfg->mysql_lock_wait_ms,
		.max_workers = cfg->mysql_max_workers,
		.sync = cfg->mysql_sync,
	};
	max_message = cfg->mysql_max_request_mb << 20;
	/* A VM holds at most two whole messages at once in pieces, for at most
	 * 64 contexts. */
	struct mfrag_limits lim = { .max_message = max_message,
				    .max_held = 2 * (uint64_t)max_message, .max_entries = 64 };
	for (unsigned i = 0; i < cfg->vm_count; i++) {
		char dir[CONFIG_PATH_MAX + 160];
		/* The store lives in the VM's own directory, named by the host's
		 * configuration (vm.c creates it). */
		snprintf(dir, sizeof dir, "%s/%s", cfg->data_dir, cfg->vms[i].name);
		if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
			*why = "cannot create the data directory";
			return -errno;
		}
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			*why = "cannot create the VM's data directory";
			return -errno;
		}
		snprintf(dir, sizeof dir, "%s/%s/mysql", cfg->data_dir, cfg->vms[i].name);
		int rc = mx_vm_open(dir, cfg->vms[i].name, &opt, done, &vms[i].vm, why);
		if (rc == 0 && (rc = mfrag_new(&lim, &vms[i].frag))) {
			*why = "out of memory";
			mx_vm_close(vms[i].vm);
			vms[i].vm = NULL;
		}
		if (rc) {
			mysql_service_stop();
			return rc;
		}
		vms[i].id = cfg->vms[i].id;
		vm_count = i + 1;
	}
	static const struct service svc = { .id = VAMOS_SERVICE_MYSQL, .name = "mysql",
					    .handle = handle };
	int rc = services_register(&svc);
	if (rc)
		*why = "cannot register the service";
	return rc;
}

void mysql_service_vm_reset(vm_id id)
{
	struct vm_slot *slot = find(id);
	if (slot) {
		mx_vm_reset(slot->vm);
		mfrag_reset(slot->frag);
	}
}

bool mysql_service_stats(vm_id id, struct mx_stats *out)
{
	struct vm_slot *slot = find(id);
	if (slot)
		*out = mx_vm_stats(slot->vm);
	return slot != NULL;
}

void mysql_service_stop(void)
{
	for (unsigned i = 0; i < vm_count; i++) {
		mx_vm_close(vms[i].vm);
		mfrag_free(vms[i].frag);
		vms[i].vm = NULL;
		vms[i].frag = NULL;
	}
	vm_count = 0;
	mh_shared_destroy(shared); /* after every store that used it */
	shared = NULL;
}
