/* SPDX-License-Identifier: MIT */
/*
 * The executor: table handles, and who runs what. Reads of a
 * context without a write transaction run at once on the caller's thread
 * in the context's snapshot. Writes, statement ends, rollbacks and COMMIT
 * are tried at once too, never waiting for a lock or the disk
 * (attempt_now; a COMMIT that must be durable is answered after the WAL
 * sync the pool makes for it and every other commit waiting then:
 * exec_sync.c); a write that would wait, locking reads, the other
 * requests of a context with a write transaction, and DDL are jobs for
 * the VM's worker pool (exec_pool.c, exec_job.c), where they may wait for
 * row locks or fsync.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "executor_state.h"
#include "vamos_clock.h"

/* ---- table handles ---- */

static uint32_t handle_of(const struct mx_vm *vm, const struct mx_table_slot *s,
			  uint32_t slot)
{
	return (((s->generation + vm->table_gen_base) & 0xffff) << 16) | (slot + 1);
}

static int table_new(struct mx_vm *vm, const struct mx_table_ref *ref, uint32_t *handle)
{
	uint32_t free_slot = UINT32_MAX;
	for (uint32_t i = 0; i < vm->opt.max_tables; i++) {
		struct mx_table_slot *s = &vm->tables[i];
		if (s->refs && s->ref.id == ref->id && !strcmp(s->ref.name, ref->name)) {
			/* Every handler of the same table shares one handle. */
			s->refs++;
			*handle = handle_of(vm, s, i);
			return 0;
		}
		if (!s->refs && free_slot == UINT32_MAX)
			free_slot = i;
	}
	if (free_slot == UINT32_MAX)
		return -EMFILE;
	struct mx_table_slot *s = &vm->tables[free_slot];
	s->ref = *ref;
	s->refs = 1;
	s->generation = (s->generation + 1) & 0xffff;
	*handle = handle_of(vm, s, free_slot);
	vm->table_count++;
	return 0;
}

static struct mx_table_slot *table_find(struct mx_vm *vm, uint32_t handle)
{
	uint32_t slot = (handle & 0xffff) - 1;
	if (slot >= vm->opt.max_tables)
		return NULL;
	struct mx_table_slot *s = &vm->tables[slot];
	return s->refs && handle_of(vm, s, slot) == handle ? s : NULL;
}

void mx_tables_clear(struct mx_vm *vm)
{
	for (uint32_t i = 0; i < vm->opt.max_tables; i++)
		vm->tables[i].refs = 0;
	vm->table_count = 0;
}

/* ---- classifying ops ---- */

enum op_class {
	OP_SESSION, /* ATTACH, CTX_*, OPEN, CLOSE: at once */
	OP_READ,    /* reads: at once unless the context has a write txn */
	OP_TXN,     /* transaction ends: on the pool for a write txn */
	OP_WRITE,   /* on the pool, in the context's write transaction */
	OP_DDL,     /* on the pool, in a transaction of its own */
	OP_MAINT,   /* on the pool, in a read transaction of its own */
	OP_XA,      /* prepared transactions no context holds: on the pool */
};

static int classify(uint16_t op, enum op_class *cls, bool *needs_table)
{
	*needs_table = false;
	switch (op) {
	case VAMOS_MYSQL_ATTACH:
	case VAMOS_MYSQL_CTX_OPEN:
	case VAMOS_MYSQL_OPEN:
		*cls = OP_SESSION;
		return 0;
	case VAMOS_MYSQL_CLOSE:
		*cls = OP_SESSION;
		*needs_table = true;
		return 0;
	case VAMOS_MYSQL_INFO:
	case VAMOS_MYSQL_RECORDS_IN_RANGE:
	case VAMOS_MYSQL_GET:
	case VAMOS_MYSQL_READ:
		*cls = OP_READ;
		*needs_table = true;
		return 0;
	case VAMOS_MYSQL_CTX_CLOSE:
	case VAMOS_MYSQL_SNAPSHOT:
	case VAMOS_MYSQL_STMT_COMMIT:
	case VAMOS_MYSQL_STMT_ROLLBACK:
	case VAMOS_MYSQL_COMMIT:
	case VAMOS_MYSQL_ROLLBACK:
	case VAMOS_MYSQL_PREPARE:
		*cls = OP_TXN;
		return 0;
	case VAMOS_MYSQL_COMMIT_BY_XID:
	case VAMOS_MYSQL_ROLLBACK_BY_XID:
	case VAMOS_MYSQL_RECOVER:
		*cls = OP_XA;
		return 0;
	case VAMOS_MYSQL_TRUNCATE:
	case VAMOS_MYSQL_WRITE:
	case VAMOS_MYSQL_UPDATE:
	case VAMOS_MYSQL_DELETE:
	case VAMOS_MYSQL_AUTOINC:
		*cls = OP_WRITE;
		*needs_table = true;
		return 0;
	case VAMOS_MYSQL_SAVEPOINT:
	case VAMOS_MYSQL_ROLLBACK_TO_SAVEPOINT:
	case VAMOS_MYSQL_RELEASE_SAVEPOINT:
		*cls = OP_WRITE; /* on the context's write transaction */
		return 0;
	case VAMOS_MYSQL_CREATE:
	case VAMOS_MYSQL_DROP:
	case VAMOS_MYSQL_RENAME:
		*cls = OP_DDL;
		return 0;
	case VAMOS_MYSQL_ANALYZE:
	case VAMOS_MYSQL_CHECK:
		*cls = OP_MAINT; /* a whole table: never on a poller */
		*needs_table = true;
		return 0;
	default:
		return -ENOSYS;
	}
}

/* Reads are answered into this thread's scratch buffer first and copied
 * into the reply once their size is known (a read may be run again if
 * there was no room); everything else reserves SMALL_REPLY first, because
 * it has effects that must not happen twice. */
#define SMALL_REPLY 512u

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

struct scratch {
	uint32_t cap;
	unsigned char buf[];
};

static void scratch_make_key(void)
{
	pthread_key_create(&scratch_key, free);
}

static struct scratch *scratch_get(uint32_t cap)
{
	pthread_once(&scratch_once, scratch_make_key);
	struct scratch *s = pthread_getspecific(scratch_key);
	if (s && s->cap >= cap)
		return s;
	free(s);
	s = malloc(sizeof *s + cap);
	if (s)
		s->cap = cap;
	pthread_setspecific(scratch_key, s);
	return s;
}

/* ---- answering at once ---- */

/* The context's snapshot, fresh if the request asks for it. */
static int snapshot(struct mx_ctx *c, struct mh_store *store, bool fresh, struct mh_txn **out)
{
	int rc = 0;
	if (!c->snap) {
		rc = mh_txn_begin(store, false, &c->snap);
		c->snap_live = rc == 0;
	} else if (!c->snap_live || fresh) {
		if (c->snap_live)
			mh_txn_reset(c->snap);
		rc = mh_txn_renew(c->snap);
		c->snap_live = rc == 0;
	}
	*out = c->snap;
	return rc;
}

static void end_snapshot(struct mx_ctx *c)
{
	if (c->snap && c->snap_live) {
		mh_txn_reset(c->snap);
		c->snap_live = false;
	}
}

/* A request answered on the caller's thread. @c (busy) may be NULL. */
static int run_now(struct mx_vm *vm, const struct mx_call *call,
		   const struct vamos_mysql_req *h, uint16_t op, struct mx_ctx *c,
		   const struct mx_table_ref *ref, struct mx_in *in, struct mx_out *out)
{
	int rc;
	struct mh_txn *t = NULL;
	switch (op) {
	case VAMOS_MYSQL_ATTACH: {
		struct vamos_mysql_attach a;
		if (mx_take(in, &a, sizeof a) || in->left || a.reserved ||
		    (a.flags & ~(uint32_t)VAMOS_MYSQL_ATTACH_EXCLUSIVE))
			return mx_fail(out, -EINVAL, "ATTACH: malformed request");
		if (a.flags & VAMOS_MYSQL_ATTACH_EXCLUSIVE)
			mx_vm_reset(vm);
		struct vamos_mysql_welcome w = {
			.version = VAMOS_MYSQL_VERSION,
			.max_key = mh_store_max_key(vm->store),
			.max_reply = call->max_reply,
			.max_request = call->max_request,
			.max_indexes = VAMOS_MYSQL_MAX_INDEXES,
			.lock_wait_ms = vm->opt.lock_wait_ms,
		};
		/* A caller's reply limit is its own: the answer must fit it. */
		return mx_answer(out, &w, sizeof w);
	}
	case VAMOS_MYSQL_CTX_OPEN: {
		struct vamos_mysql_ctx x;
		if (in->left)
			return mx_fail(out, -EINVAL, "CTX_OPEN: malformed request");
		if (out->cap < sizeof x)
			return -EMSGSIZE; /* before the context exists */
		pthread_mutex_lock(&vm->lock);
		rc = mx_ctx_new(vm, &x.ctx);
		pthread_mutex_unlock(&vm->lock);
		if (rc == -EMFILE)
			return mx_fail(out, rc, "too many contexts (%u)", vm->opt.max_contexts);
		if (rc)
			return rc;
		return mx_answer(out, &x, sizeof x);
	}
	case VAMOS_MYSQL_OPEN: {
		struct mx_table_ref r;
		struct mh_table *tb;
		if (mx_take_name(in, in->left, r.name))
			return mx_fail(out, -EINVAL, "OPEN: bad table name");
		if (out->cap < sizeof(struct vamos_mysql_table))
			return -EMSGSIZE; /* before a handle exists */
		if ((rc = mh_txn_begin(vm->store, false, &t)))
			return mx_store_fail(vm->store, out, rc);
		rc = mh_table_open(t, r.name, &tb);
		if (rc == 0) {
			struct vamos_mysql_table info = {
				.nsec = mh_table_indexes(tb),
				.flags = mh_table_hidden_pk(tb) ? VAMOS_MYSQL_HIDDEN_PK : 0,
			};
			r.id = mh_table_id(tb);
			mh_table_close(tb);
			pthread_mutex_lock(&vm->lock);
			rc = table_new(vm, &r, &info.table);
			pthread_mutex_unlock(&vm->lock);
			if (rc == 0) {
				mx_answer(out, &info, sizeof info);
			} else {
				rc = mx_fail(out, rc, "too many open tables (%u)", vm->opt.max_tables);
			}
		} else if (rc != -ENOENT) {
			rc = mx_store_fail(vm->store, out, rc);
		}
		mh_txn_abort(t);
		return rc;
	}
	case VAMOS_MYSQL_CLOSE: {
		/* Trust: the optional body is copied once and holds numbers
		 * only; at worst a guest moves its own table's counter back
		 * to values it was handed. */
		struct vamos_mysql_close cl = { 0 };
		if (in->left && (mx_take(in, &cl, sizeof cl) || in->left))
			return mx_fail(out, -EINVAL, "CLOSE: malformed request");
		pthread_mutex_lock(&vm->lock);
		struct mx_table_slot *s = table_find(vm, h->table);
		uint32_t id = s ? s->ref.id : 0;
		if (s && --s->refs == 0)
			vm->table_count--;
		pthread_mutex_unlock(&vm->lock);
		if (s && cl.cached_next)
			mh_store_autoinc_give_back(vm->store, id, cl.cached_next, cl.cached_end);
		return s ? 0 : -EBADF;
	}
	case VAMOS_MYSQL_CTX_CLOSE:
		if (in->left)
			return mx_fail(out, -EINVAL, "CTX_CLOSE: malformed request");
		pthread_mutex_lock(&vm->lock);
		mx_ctx_unlink(vm, c); /* freed as the request ends */
		pthread_mutex_unlock(&vm->lock);
		return 0;
	case VAMOS_MYSQL_STMT_COMMIT:
	case VAMOS_MYSQL_STMT_ROLLBACK:
		/* No write transaction: a statement that only read has nothing to end. */
		return in->left ? mx_fail(out, -EINVAL, "malformed request") : 0;
	case VAMOS_MYSQL_COMMIT:
	case VAMOS_MYSQL_ROLLBACK:
		if (in->left)
			return mx_fail(out, -EINVAL, "malformed request");
		end_snapshot(c);
		return 0;
	case VAMOS_MYSQL_PREPARE: {
		/* No write transaction: nothing to prepare; COMMIT or
		 * ROLLBACK ends its snapshot as usual. */
		unsigned char xid[MX_XID_MAX];
		return mx_take_xid(in, xid) < 0 ? mx_fail(out, -EINVAL, "PREPARE: malformed XID") : 0;
	}
	case VAMOS_MYSQL_SNAPSHOT:
		if (in->left)
			return mx_fail(out, -EINVAL, "SNAPSHOT: malformed request");
		rc = snapshot(c, vm->store, true, &t);
		return rc ? mx_store_fail(vm->store, out, rc) : 0;
	}
	/* A read: in the context's snapshot, or a fresh one without a context. */
	if (c) {
		rc = snapshot(c, vm->store, h->flags & VAMOS_MYSQL_FRESH_SNAPSHOT, &t);
	} else {
		rc = mh_txn_begin(vm->store, false, &t);
	}
	if (rc)
		return mx_store_fail(vm->store, out, rc);
	rc = mx_run_read(t, op, ref, in, out);
	if (!c)
		mh_txn_abort(t);
	return rc;
}

/* ---- writes tried at once ---- */

/* Is the request one to try on the caller's thread before the pool: a
 * write of a context, a locking read, a read of a context with a write
 * transaction, or a statement end or rollback of one (they never wait)?
 * COMMIT comes here by its own way (mx_handle). Lock held. */
static bool try_first(uint16_t op, uint16_t flags, const struct mx_ctx *c)
{
	if (!c)
		return false;
	switch (op) {
	case VAMOS_MYSQL_GET:
	case VAMOS_MYSQL_READ:
		return c->writing || (flags & VAMOS_MYSQL_FOR_UPDATE);
	case VAMOS_MYSQL_INFO:
	case VAMOS_MYSQL_RECORDS_IN_RANGE:
		return c->writing;
	}
	if (flags & VAMOS_MYSQL_FOR_UPDATE)
		return false;
	switch (op) {
	case VAMOS_MYSQL_WRITE:
	case VAMOS_MYSQL_UPDATE:
	case VAMOS_MYSQL_DELETE:
	case VAMOS_MYSQL_AUTOINC:
	case VAMOS_MYSQL_TRUNCATE:
		return true;
	case VAMOS_MYSQL_STMT_COMMIT:
	case VAMOS_MYSQL_STMT_ROLLBACK:
		return c->writing;
	case VAMOS_MYSQL_ROLLBACK:
		/* A prepared transaction's rollback is written to the WAL:
		 * the pool's. */
		return c->writing && !c->prepared;
	}
	return false;
}

static bool is_read_op(uint16_t op)
{
	return op == VAMOS_MYSQL_GET || op == VAMOS_MYSQL_READ || op == VAMOS_MYSQL_INFO ||
	       op == VAMOS_MYSQL_RECORDS_IN_RANGE;
}

/* Read job @j tried at once: its answer in this thread's scratch buffer
 * first (cut to the room the reply has now, as any read), then copied
 * into the reply once its size is known. A read has no effects that may
 * not happen twice (locks it took are held already when it runs again),
 * so one that finds no room is run again later (-EAGAIN). */
static int attempt_read(struct mx_vm *vm, struct mx_call *call, struct mx_job *j,
			struct mx_out *out)
{
	struct scratch *sc = scratch_get(call->max_reply);
	if (!sc)
		return -ENOMEM;
	uint32_t room = call->room ? call->room(call) : call->max_reply;
	bool cut = room < call->max_reply;
	*out = (struct mx_out){ sc->buf, cut ? room : call->max_reply, 0 };
	int rc = mx_job_try(vm, j, out);
	if (cut && rc == -EMSGSIZE) {
		/* Its first row alone is larger than the room: whole, once the
		 * reply can be reserved (in pieces past a record). */
		*out = (struct mx_out){ sc->buf, call->max_reply, 0 };
		rc = mx_job_try(vm, j, out);
	}
	if (rc == MX_WOULD_WAIT)
		return rc;
	void *buf;
	int rr = call->reserve(call, out->len, &buf);
	if (rr) {
		out->len = 0; /* no room was given: no bytes */
		return rr; /* -EAGAIN: run again once there is room */
	}
	memcpy(buf, out->buf, out->len);
	return rc;
}

/* Run a request of busy context @c now with lock waits of 0; if it would
 * wait, nothing of it happened and it goes to the pool as before. */
static int attempt_now(struct mx_vm *vm, struct mx_call *call, const struct vamos_mysql_req *h,
		       struct mx_ctx *c, const struct mx_table_ref *ref, const struct mx_in *in)
{
	struct mx_out out = { 0 };
	void *buf;
	bool read = is_read_op(call->op);
	int rc = 0;
	struct mx_job *j = NULL;
	/* Room first: an answer that finds none must not have run (a read
	 * finds its room after it ran: it may run again). */
	if (!read) {
		out.cap = SMALL_REPLY < call->max_reply ? SMALL_REPLY : call->max_reply;
		rc = call->reserve(call, out.cap, &buf);
	}
	if (!rc && !(j = mx_job_make(call, h, MX_JOB_CTX, c, ref, in))) {
		if (!read)
			call->unreserve(call);
		rc = -EAGAIN; /* memory is short: handed over again later */
	}
	if (rc) {
		mx_ctx_release(vm, c);
		return rc;
	}
	if (read) {
		rc = attempt_read(vm, call, j, &out);
	} else {
		out.buf = buf;
		rc = mx_job_try(vm, j, &out);
	}
	if (rc == -EAGAIN && read) {
		free(j);
		mx_ctx_release(vm, c);
		return rc;
	}
	if (rc != MX_WOULD_WAIT) {
		bool write = !read && j->op != VAMOS_MYSQL_STMT_COMMIT &&
			     j->op != VAMOS_MYSQL_STMT_ROLLBACK && j->op != VAMOS_MYSQL_ROLLBACK &&
			     j->op != VAMOS_MYSQL_COMMIT;
		free(j);
		pthread_mutex_lock(&vm->lock);
		vm->stats.inline_requests++;
		if (write)
			vm->stats.inline_writes++;
		pthread_mutex_unlock(&vm->lock);
		call->reply_len = out.len;
		mx_ctx_release(vm, c);
		return rc;
	}
	/* A row lock held by another transaction: its wait belongs on a
	 * pool thread. The context stays busy across the hand-over. */
	if (!read)
		call->unreserve(call);
	if (!(j->token = call->defer(call))) {
		free(j);
		mx_ctx_release(vm, c);
		return -EAGAIN; /* nothing happened: handed over again later */
	}
	pthread_mutex_lock(&vm->lock);
	vm->stats.deferred_writes++;
	int queued = mx_pool_queue(vm, j);
	pthread_mutex_unlock(&vm->lock);
	if (queued)
		mx_job_refuse(vm, j, queued); /* answered through the token */
	return MX_DEFERRED;
}

/* COMMIT of writing context @c when the store syncs: made now without
 * its fsync, and answered once the WAL sync that the pool makes for every
 * commit waiting then has returned (exec_sync.c). The token comes first:
 * a commit made must be answered. If it cannot be made now (a count of a
 * table holds commits off), the pool makes it, durable, as before. */
static int commit_then_sync(struct mx_vm *vm, struct mx_call *call,
			    const struct vamos_mysql_req *h, struct mx_ctx *c,
			    const struct mx_in *in)
{
	static const struct mx_table_ref none;
	struct scratch *sc = scratch_get(SMALL_REPLY);
	struct mx_job *j = sc ? mx_job_make(call, h, MX_JOB_CTX, c, &none, in) : NULL;
	if (j && !(j->token = call->defer(call))) {
		free(j);
		j = NULL;
	}
	if (!j) {
		mx_ctx_release(vm, c);
		return -EAGAIN; /* nothing happened: handed over again later */
	}
	struct mx_out out = { sc->buf, SMALL_REPLY < call->max_reply ? SMALL_REPLY : call->max_reply,
			      0 };
	int rc = mx_job_try(vm, j, &out);
	if (rc == MX_WOULD_WAIT) {
		/* The context stays busy across the hand-over. */
		pthread_mutex_lock(&vm->lock);
		int queued = mx_pool_queue(vm, j);
		pthread_mutex_unlock(&vm->lock);
		if (queued)
			mx_job_refuse(vm, j, queued); /* answered through the token */
		return MX_DEFERRED;
	}
	pthread_mutex_lock(&vm->lock);
	vm->stats.inline_requests++;
	pthread_mutex_unlock(&vm->lock);
	mx_ctx_release(vm, c);
	if (rc) {
		vm->done(j->token, rc, out.buf, out.len); /* not made: nothing to sync */
		free(j);
	} else {
		mx_sync_wait(vm, j);
	}
	return MX_DEFERRED;
}

/* A READ written in place needs at least this much room in the ring (a
 * few rows); with less, it waits for room like any other reply. */
#define READ_IN_PLACE_MIN 4096u

/* ---- the entry point ---- */

int mx_handle(struct mx_vm *vm, struct mx_call *call)
{
	struct vamos_mysql_req h;
	struct mx_in in = { call->data, call->len };
	enum op_class cls;
	bool needs_table;
	/* Trust: the header is copied once; the body is read through mx_in,
	 * which bounds every take. Inline ops read the caller's bytes; a
	 * deferred op gets a private copy first. */
	if (mx_take(&in, &h, sizeof h))
		return -EINVAL;
	if (h.version != VAMOS_MYSQL_VERSION)
		return -EPROTONOSUPPORT;
	if (h.flags & ~(uint16_t)(VAMOS_MYSQL_FRESH_SNAPSHOT | VAMOS_MYSQL_FOR_UPDATE |
				  VAMOS_MYSQL_STMT_ENDED))
		return -EINVAL;
	/* Trust: a statement's end needs a context to end it in. */
	if ((h.flags & VAMOS_MYSQL_STMT_ENDED) && !h.ctx)
		return -EINVAL;
	int rc = classify(call->op, &cls, &needs_table);
	if (rc)
		return rc;
	if (h.flags & VAMOS_MYSQL_FOR_UPDATE) {
		/* A read for a write is routed like a write. */
		if (call->op != VAMOS_MYSQL_READ && call->op != VAMOS_MYSQL_GET)
			return -EINVAL;
		cls = OP_WRITE;
	}
	bool needs_ctx = cls == OP_TXN || cls == OP_WRITE;
	if ((needs_ctx && !h.ctx) || (cls == OP_SESSION && h.ctx) ||
	    ((cls == OP_DDL || cls == OP_MAINT || cls == OP_XA) && h.ctx) ||
	    (needs_table != (h.table != 0)))
		return -EINVAL;

	struct mx_ctx *c = NULL;
	struct mx_table_ref ref = { 0 };
	bool deferred = false;
	void *token = NULL;
	pthread_mutex_lock(&vm->lock);
	if (h.ctx) {
		c = mx_ctx_find(vm, h.ctx);
		rc = !c ? -EBADF : c->busy ? -EBUSY : 0;
		if (rc == 0)
			c->busy = true; /* one request per context at a time */
	}
	if (rc == 0 && needs_table && call->op != VAMOS_MYSQL_CLOSE) {
		struct mx_table_slot *s = table_find(vm, h.table);
		if (s)
			ref = s->ref;
		else
			rc = -EBADF;
	}
	/* A writing context's COMMIT is made at once (not a prepared one:
	 * its commit writes the WAL on the pool). */
	bool commit_now = rc == 0 && call->unreserve && call->op == VAMOS_MYSQL_COMMIT &&
			  c->writing && !c->prepared;
	/* Writes, statement ends and rollbacks are tried here first. */
	bool attempt = rc == 0 && call->unreserve && (commit_now || try_first(call->op, h.flags, c));
	if (rc == 0 && !attempt)
		deferred = cls == OP_WRITE || cls == OP_DDL || cls == OP_MAINT || cls == OP_XA ||
			   (c && c->writing && (cls == OP_READ || cls == OP_TXN));
	if (rc == 0 && deferred) {
		token = call->defer(call);
		if (!token)
			rc = -EAGAIN;
		else
			rc = mx_pool_submit(vm, call, &h,
					    cls == OP_DDL || cls == OP_MAINT || cls == OP_XA ? MX_JOB_DDL
											     : MX_JOB_CTX,
					    c, &ref, &in, token);
	}
	if (rc && c)
		c->busy = false;
	if (rc == 0 && !deferred && !attempt)
		vm->stats.inline_requests++; /* an attempt counts where it ends */
	pthread_mutex_unlock(&vm->lock);
	if (rc)
		return rc;
	if (deferred)
		return MX_DEFERRED;
	if (commit_now && mh_store_syncs(vm->store))
		return commit_then_sync(vm, call, &h, c, &in);
	if (attempt)
		return attempt_now(vm, call, &h, c, &ref, &in);

	struct mx_out out = { 0 };
	void *buf;
	if (cls == OP_READ && call->reserve_in_place && call->room && call->unreserve) {
		/* Straight into the reply ring, cut to what fits there now. A
		 * first row larger than that goes the way below; reads have no
		 * effects, so running one again is safe. The ring is the
		 * guest's to read (and could be written by it): the read only
		 * moves its own bytes there, it decides nothing on them. */
		uint32_t room = call->room(call);
		struct mx_in again = in;
		if (room >= READ_IN_PLACE_MIN && call->reserve(call, room, &buf) == 0) {
			out.buf = buf;
			out.cap = room;
			rc = run_now(vm, call, &h, call->op, c, &ref, &in, &out);
			if (rc == -EAGAIN)
				call->unreserve(call); /* run again later, as a full ring would */
			if (rc != -EMSGSIZE)
				goto done;
			call->unreserve(call);
			out = (struct mx_out){ 0 };
			in = again;
		}
	}
	if (cls == OP_READ) {
		struct scratch *sc = scratch_get(call->max_reply);
		if (!sc) {
			rc = -ENOMEM;
		} else {
			/* Cut to what fits now: a READ then returns fewer rows
			 * rather than waiting for room for all of them. */
			uint32_t room = call->room ? call->room(call) : call->max_reply;
			bool cut = room < call->max_reply;
			struct mx_in again = in;
			out.buf = sc->buf;
			out.cap = cut ? room : call->max_reply;
			rc = run_now(vm, call, &h, call->op, c, &ref, &in, &out);
			if (cut && rc == -EMSGSIZE) {
				/* Its first row alone is larger than the room: it
				 * goes whole (in pieces past a record) once the
				 * reply can be reserved. Reads have no effects, so
				 * running it again is safe. */
				out.cap = call->max_reply;
				out.len = 0;
				rc = run_now(vm, call, &h, call->op, c, &ref, &again, &out);
			}
			int rr = call->reserve(call, out.len, &buf);
			if (rr)
				rc = rr; /* -EAGAIN: run again once there is room */
			else
				memcpy(buf, out.buf, out.len);
		}
	} else {
		out.cap = SMALL_REPLY < call->max_reply ? SMALL_REPLY : call->max_reply;
		if ((rc = call->reserve(call, out.cap, &buf)))
			goto done;
		out.buf = buf;
		rc = run_now(vm, call, &h, call->op, c, &ref, &in, &out);
	}
done:
	call->reply_len = out.len;
	if (c)
		mx_ctx_release(vm, c);
	return rc;
}

/* ---- the VM ---- */

int mx_vm_open(const char *dir, const char *name, const struct mx_options *opt,
	       mx_done_fn done, struct mx_vm **out, const char **why)
{
	struct mx_vm *vm = calloc(1, sizeof *vm);
	if (!vm)
		return -ENOMEM;
	if (opt)
		vm->opt = *opt;
	if (!vm->opt.lock_wait_ms)
		vm->opt.lock_wait_ms = 50000;
	if (!vm->opt.max_contexts)
		vm->opt.max_contexts = 4096;
	if (!vm->opt.max_tables)
		vm->opt.max_tables = 4096;
	if (!vm->opt.max_workers)
		vm->opt.max_workers = 64;
	if (!vm->opt.worker_idle_ms)
		vm->opt.worker_idle_ms = 5000;
	if (vm->opt.max_tables > 0xffff)
		vm->opt.max_tables = 0xffff;
	snprintf(vm->name, sizeof vm->name, "%s", name);
	vm->done = done;
	/* Context ids carry a generation (exec_ctx.c); starting it anywhere
	 * in its 32 bits makes an id of a previous vamosd (the guest's, sent
	 * before it saw the restart) name no context here, not another
	 * connection's. */
	uint32_t start = 0;
	if (getrandom(&start, sizeof start, GRND_NONBLOCK) != sizeof start)
		start = (uint32_t)vamos_now_ns() ^ ((uint32_t)getpid() << 16);
	vm->ctx_generation = start;
	vm->ctx = calloc(vm->opt.max_contexts, sizeof *vm->ctx);
	vm->tables = calloc(vm->opt.max_tables, sizeof *vm->tables);
	vm->sync_job = calloc(1, sizeof *vm->sync_job);
	if (!vm->ctx || !vm->tables || !vm->sync_job) {
		free(vm->ctx);
		free(vm->tables);
		free(vm->sync_job);
		free(vm);
		return -ENOMEM;
	}
	vm->sync_job->task = mx_sync_run;
	/* Table handles carry a 16-bit generation per slot, counted from a
	 * random base as context ids are: a previous vamosd's handle is then
	 * unlikely to name another table here (its context is refused first). */
	vm->table_gen_base = start >> 16;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->prepared_lock, NULL);
	pthread_mutex_init(&vm->sync_lock, NULL);
	vm->sync_tail = &vm->sync_waiting;
	struct mh_store_options so = { .sync = (enum mh_sync)vm->opt.sync,
				       .lock_wait_ms = vm->opt.lock_wait_ms,
				       .write_buffer = vm->opt.write_buffer,
				       .shared = vm->opt.shared };
	int rc = mh_store_open(dir, &so, &vm->store, why);
	if (rc == 0 && (rc = mx_prepared_load(vm)))
		*why = "cannot load the prepared transactions";
	if (rc == 0 && (rc = mx_pool_start(vm)))
		*why = "cannot start the worker pool";
	if (rc) {
		mx_prepared_forget_all(vm);
		mh_store_close(vm->store);
		pthread_mutex_destroy(&vm->sync_lock);
		pthread_mutex_destroy(&vm->prepared_lock);
		pthread_mutex_destroy(&vm->lock);
		free(vm->ctx);
		free(vm->tables);
		free(vm->sync_job);
		free(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

void mx_vm_reset(struct mx_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->opt.max_contexts; i++) {
		struct mx_ctx *c = vm->ctx[i];
		if (!c)
			continue;
		mx_ctx_unlink(vm, c);
		/* Busy ones are freed (and rolled back) as their request
		 * ends; a queued request of one gets -ECONNRESET. */
		if (!c->busy)
			mx_ctx_free(vm, c);
	}
	mx_tables_clear(vm);
	pthread_mutex_unlock(&vm->lock);
}

struct mx_stats mx_vm_stats(struct mx_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	struct mx_stats s = vm->stats;
	s.contexts = vm->ctx_count;
	s.tables = vm->table_count;
	s.workers = vm->alive;
	pthread_mutex_unlock(&vm->lock);
	s.snapshots = mh_store_snapshots(vm->store);
	return s;
}

void mx_vm_close(struct mx_vm *vm)
{
	if (!vm)
		return;
	mx_pool_stop(vm);
	mx_sync_run(vm); /* commits still waiting for their sync (none, normally) */
	for (uint32_t i = 0; i < vm->opt.max_contexts; i++)
		if (vm->ctx[i])
			mx_ctx_free(vm, vm->ctx[i]);
	mx_prepared_forget_all(vm); /* prepared in the store, recovered at the next open */
	mh_store_close(vm->store);
	pthread_mutex_destroy(&vm->sync_lock);
	pthread_mutex_destroy(&vm->prepared_lock);
	pthread_mutex_destroy(&vm->lock);
	free(vm->ctx);
	free(vm->tables);
	free(vm->sync_job);
	free(vm);
}
