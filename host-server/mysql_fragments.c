/* SPDX-License-Identifier: MIT */
/* Reassembly of FRAGMENT requests and REPLY_NEXT replies, per context. */
#include "mysql_fragments.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <vamos/mysql_protocol.h>

struct entry {
	bool used;
	uint64_t ctx;
	/* the request being reassembled (in == NULL: none) */
	unsigned char *in;
	uint64_t in_total, in_got;
	uint32_t in_seq; /* the next piece's */
	uint16_t in_op;
	bool in_busy;    /* handed out by MFRAG_COMPLETE */
	bool in_doomed;  /* dropped while busy: freed at release */
	/* the reply being fetched (out == NULL: none) */
	unsigned char *out;
	uint64_t out_len, out_sent;
};

struct mfrag {
	pthread_mutex_t lock;
	atomic_uint used; /* entries in use: requests skip the lock when 0 */
	struct mfrag_limits lim;
	uint64_t held;
	struct entry *e;
};

int mfrag_new(const struct mfrag_limits *lim, struct mfrag **out)
{
	struct mfrag *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->lim = *lim;
	f->e = calloc(lim->max_entries ? lim->max_entries : 1, sizeof *f->e);
	if (!f->e) {
		free(f);
		return -ENOMEM;
	}
	pthread_mutex_init(&f->lock, NULL);
	atomic_init(&f->used, 0);
	*out = f;
	return 0;
}

static void drop_in(struct mfrag *f, struct entry *e)
{
	if (e->in_busy) {
		e->in_doomed = true;
		return;
	}
	if (e->in) {
		f->held -= e->in_total;
		free(e->in);
		e->in = NULL;
	}
}

static void drop_out(struct mfrag *f, struct entry *e)
{
	if (e->out) {
		f->held -= e->out_len;
		free(e->out);
		e->out = NULL;
	}
}

/* The slot is free again once it holds nothing. */
static void tidy(struct mfrag *f, struct entry *e)
{
	if (e->used && !e->in && !e->out && !e->in_busy) {
		memset(e, 0, sizeof *e);
		atomic_fetch_sub_explicit(&f->used, 1, memory_order_relaxed);
	}
}

void mfrag_free(struct mfrag *f)
{
	if (!f)
		return;
	mfrag_reset(f);
	pthread_mutex_destroy(&f->lock);
	free(f->e);
	free(f);
}

static struct entry *find(struct mfrag *f, uint64_t ctx, bool make)
{
	struct entry *free_slot = NULL;
	for (unsigned i = 0; i < f->lim.max_entries; i++) {
		struct entry *e = &f->e[i];
		if (e->used && e->ctx == ctx)
			return e;
		if (!e->used && !free_slot)
			free_slot = e;
	}
	if (make && free_slot) {
		free_slot->used = true;
		free_slot->ctx = ctx;
		atomic_fetch_add_explicit(&f->used, 1, memory_order_relaxed);
	}
	return make ? free_slot : NULL;
}

/* Fail a piece: drop the context's reassembly. */
static int refuse(struct mfrag *f, struct entry *e, int rc, const char *msg, const char **why)
{
	if (e) {
		drop_in(f, e);
		tidy(f, e);
	}
	*why = msg;
	return rc;
}

static int put_locked(struct mfrag *f, uint64_t ctx, const struct vamos_mysql_fragment *hp,
		      const unsigned char *piece, uint32_t n, struct mfrag_whole *out,
		      const char **why)
{
	const struct vamos_mysql_fragment h = *hp;
	struct entry *e = find(f, ctx, false);
	if (e && e->in_busy)
		return -EBUSY; /* its request is being run: leave it alone */
	/* Trust: a piece holds at least one byte (no endless empty pieces). */
	if (n == 0)
		return refuse(f, e, -EINVAL, "FRAGMENT: empty piece", why);
	/* Trust: reserved bits must be zero, as everywhere in the protocol. */
	if (h.reserved)
		return refuse(f, e, -EINVAL, "FRAGMENT: reserved field not zero", why);
	/* Trust: the op inside must be a real op, never fragment framing itself. */
	if (h.op == 0 || h.op == VAMOS_MYSQL_FRAGMENT || h.op == VAMOS_MYSQL_REPLY_NEXT ||
	    h.op > VAMOS_MYSQL_REPLY_NEXT)
		return refuse(f, e, -EINVAL, "FRAGMENT: bad op inside", why);
	if (!e || !e->in) {
		/* Trust: a reassembly starts with piece 0 at offset 0, nothing else. */
		if (h.seq != 0 || h.offset != 0)
			return refuse(f, e, -EINVAL, "FRAGMENT: piece without its first piece", why);
		/* Trust: the announced total is capped before anything is allocated. */
		if (h.total > f->lim.max_message)
			return refuse(f, e, -EMSGSIZE, "FRAGMENT: request larger than mysql_max_request_mb",
				      why);
		/* Trust: the whole request must hold at least a request header and this piece. */
		if (h.total < sizeof(struct vamos_mysql_req) || n > h.total)
			return refuse(f, e, -EINVAL, "FRAGMENT: piece longer than the announced total",
				      why);
		/* Trust: the VM's held bytes stay bounded whatever the guest announces. */
		if (h.total > f->lim.max_held - f->held)
			return refuse(f, e, -ENOMEM, "FRAGMENT: too many bytes held in unfinished messages",
				      why);
		if (!e && !(e = find(f, ctx, true)))
			return refuse(f, NULL, -ENOMEM, "FRAGMENT: too many unfinished messages", why);
		drop_out(f, e); /* a new request: the rest of an earlier reply is not wanted */
		e->in = malloc(h.total);
		if (!e->in) {
			tidy(f, e);
			*why = "FRAGMENT: out of memory";
			return -ENOMEM;
		}
		f->held += h.total;
		e->in_total = h.total;
		e->in_got = 0;
		e->in_seq = 0;
		e->in_op = h.op;
	} else {
		/* Trust: a new first piece while one is under way is an interleaving. */
		if (h.seq == 0 && e->in_seq != 0)
			return refuse(f, e, -EINVAL, "FRAGMENT: new request before the last one's end",
				      why);
		/* Trust: every piece is the next one, with the first piece's op and total. */
		if (h.seq != e->in_seq)
			return refuse(f, e, -EINVAL, "FRAGMENT: piece out of sequence", why);
		if (h.op != e->in_op || h.total != e->in_total)
			return refuse(f, e, -EINVAL, "FRAGMENT: op or total differs from the first piece",
				      why);
	}
	/* Trust: a piece starts exactly where the last one ended (no gap, no overlap). */
	if (h.offset != e->in_got)
		return refuse(f, e, -EINVAL, "FRAGMENT: piece leaves a gap or overlaps", why);
	/* Trust: a piece never reaches past the announced total. */
	if (n > e->in_total - e->in_got)
		return refuse(f, e, -EINVAL, "FRAGMENT: piece longer than the announced total", why);
	memcpy(e->in + e->in_got, piece, n);
	if (e->in_got + n < e->in_total) {
		e->in_got += n;
		e->in_seq++;
		return 0;
	}
	struct vamos_mysql_req inner;
	memcpy(&inner, e->in, sizeof inner);
	/* Trust: the whole request belongs to the context its pieces came in. */
	if (inner.ctx != ctx)
		return refuse(f, e, -EINVAL, "FRAGMENT: request for another context", why);
	/* Position stays before the last piece until mfrag_release consumes it. */
	e->in_busy = true;
	out->op = e->in_op;
	out->data = e->in;
	out->len = (uint32_t)e->in_total;
	return MFRAG_COMPLETE;
}

int mfrag_put(struct mfrag *f, uint64_t ctx, const struct vamos_mysql_fragment *h,
	      const unsigned char *piece, uint32_t n, struct mfrag_whole *out, const char **why)
{
	pthread_mutex_lock(&f->lock);
	int rc = put_locked(f, ctx, h, piece, n, out, why);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void mfrag_release(struct mfrag *f, uint64_t ctx, bool consumed)
{
	pthread_mutex_lock(&f->lock);
	struct entry *e = find(f, ctx, false);
	if (e && e->in_busy) {
		e->in_busy = false;
		if (consumed || e->in_doomed) {
			e->in_doomed = false;
			drop_in(f, e);
		}
		tidy(f, e);
	}
	pthread_mutex_unlock(&f->lock);
}

int mfrag_other_request(struct mfrag *f, uint64_t ctx, const char **why)
{
	int rc = 0;
	/* Nothing held anywhere (the usual case): no lock on the request path.
	 * A context's own earlier request completed before this one was sent,
	 * so what it left is counted already. */
	if (atomic_load_explicit(&f->used, memory_order_acquire) == 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	struct entry *e = find(f, ctx, false);
	if (e) {
		drop_out(f, e);
		if (e->in_busy) {
			rc = -EBUSY;
		} else if (e->in) {
			drop_in(f, e);
			*why = "request while a fragmented request of its context was unfinished";
			rc = -EINVAL;
		}
		tidy(f, e);
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int mfrag_keep_reply(struct mfrag *f, uint64_t ctx, unsigned char *buf, uint64_t len,
		     uint64_t sent)
{
	int rc = -ENOMEM;
	pthread_mutex_lock(&f->lock);
	struct entry *e = find(f, ctx, false);
	if (e)
		drop_out(f, e);
	if (len <= f->lim.max_held - f->held && (e || (e = find(f, ctx, true)))) {
		e->out = buf;
		e->out_len = len;
		e->out_sent = sent;
		f->held += len;
		buf = NULL;
		rc = 0;
	} else if (e) {
		tidy(f, e);
	}
	pthread_mutex_unlock(&f->lock);
	free(buf);
	return rc;
}

int64_t mfrag_next(struct mfrag *f, uint64_t ctx, const unsigned char *body, uint32_t len,
		   void *dst, uint32_t cap, const char **why)
{
	struct vamos_mysql_next h;
	int64_t rc;
	pthread_mutex_lock(&f->lock);
	struct entry *e = find(f, ctx, false);
	/* Trust: the body is exactly one vamos_mysql_next, copied once. */
	if (len != sizeof h) {
		*why = "REPLY_NEXT: malformed request";
		rc = -EINVAL;
	} else if (!e || !e->out) {
		*why = "REPLY_NEXT: no reply in pieces for this context";
		rc = -EINVAL;
	} else {
		memcpy(&h, body, sizeof h);
		/* Trust: the guest asks for exactly the bytes after those it was sent. */
		if (h.offset != e->out_sent) {
			*why = "REPLY_NEXT: offset is not the bytes sent so far";
			rc = -EINVAL;
			drop_out(f, e);
		} else {
			uint64_t n = e->out_len - e->out_sent;
			if (n > cap)
				n = cap;
			memcpy(dst, e->out + e->out_sent, n);
			e->out_sent += n;
			if (e->out_sent == e->out_len)
				drop_out(f, e);
			rc = (int64_t)n;
		}
	}
	if (e)
		tidy(f, e);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void mfrag_drop(struct mfrag *f, uint64_t ctx)
{
	pthread_mutex_lock(&f->lock);
	struct entry *e = find(f, ctx, false);
	if (e) {
		drop_in(f, e);
		drop_out(f, e);
		tidy(f, e);
	}
	pthread_mutex_unlock(&f->lock);
}

void mfrag_reset(struct mfrag *f)
{
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->lim.max_entries; i++) {
		struct entry *e = &f->e[i];
		drop_in(f, e);
		drop_out(f, e);
		tidy(f, e);
	}
	pthread_mutex_unlock(&f->lock);
}

uint64_t mfrag_held(struct mfrag *f)
{
	pthread_mutex_lock(&f->lock);
	uint64_t h = f->held;
	pthread_mutex_unlock(&f->lock);
	return h;
}
