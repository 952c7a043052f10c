/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mx_harness.h"

void mxh_begin(struct mxh_req *r, uint64_t ctx, uint32_t table, uint16_t flags)
{
	struct vamos_mysql_req h = { .version = VAMOS_MYSQL_VERSION, .flags = flags,
				     .table = table, .ctx = ctx };
	memcpy(r->buf, &h, sizeof h);
	r->len = sizeof h;
}

void mxh_put(struct mxh_req *r, const void *p, uint32_t n)
{
	if (n)
		memcpy(r->buf + r->len, p, n);
	r->len += n;
}

void mxh_pad(struct mxh_req *r)
{
	while ((r->len - sizeof(struct vamos_mysql_req)) % 8)
		r->buf[r->len++] = 0;
}

void mxh_done(void *token, int status, const void *data, uint32_t len)
{
	struct mxh_pending *p = token;
	pthread_mutex_lock(&p->lock);
	p->reply->status = status;
	p->reply->len = len;
	p->reply->deferred = true;
	if (len)
		memcpy(p->reply->data, data, len);
	p->done = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

struct call {
	struct mx_call c;
	struct mxh_reply *out;
	struct mxh_pending *p;
};

uint32_t mxh_max_reply = MXH_MAX_REPLY;
uint32_t mxh_room = UINT32_MAX;
uint32_t mxh_record = UINT32_MAX;

static int reserve(struct mx_call *c, uint32_t len, void **buf)
{
	struct call *k = (struct call *)c;
	if (len > c->max_reply)
		return -EMSGSIZE;
	/* As vamosd's reply ring: a reply up to a record needs that much
	 * room now; a larger one goes in pieces and needs a whole record. */
	if (c->room && (len > mxh_record ? mxh_room < mxh_record : len > mxh_room))
		return -EAGAIN;
	*buf = k->out->data;
	return 0;
}

/* The reply space is the caller's own buffer: nothing to give back. */
static void unreserve(struct mx_call *c)
{
	(void)c;
}

static uint32_t room(struct mx_call *c)
{
	(void)c;
	return mxh_room;
}

static void *defer(struct mx_call *c)
{
	struct call *k = (struct call *)c;
	return k->p;
}

int mxh_send(struct mx_vm *vm, uint16_t op, const struct mxh_req *r, struct mxh_reply *out,
	     struct mxh_pending *p)
{
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->done = false;
	p->reply = out;
	out->deferred = false;
	out->len = 0;
	struct call k = {
		.c = { .op = op, .data = r->buf, .len = r->len, .max_reply = mxh_max_reply,
		       .max_request = MXH_MAX_REPLY, .reserve = reserve, .unreserve = unreserve,
		       .room = mxh_room == UINT32_MAX ? NULL : room, .defer = defer },
		.out = out,
		.p = p,
	};
	int rc = mx_handle(vm, &k.c);
	if (rc == MX_DEFERRED)
		return 1;
	out->status = rc;
	out->len = k.c.reply_len;
	p->done = true; /* answered at once: mxh_wait gives its status */
	return rc;
}

int mxh_wait(struct mxh_pending *p, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->lock);
	while (!p->done)
		if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT)
			break;
	bool done = p->done;
	pthread_mutex_unlock(&p->lock);
	return done ? p->reply->status : -ETIME;
}

int mxh_call(struct mx_vm *vm, uint16_t op, const struct mxh_req *r, struct mxh_reply *out)
{
	struct mxh_pending p;
	int rc = mxh_send(vm, op, r, out, &p);
	if (rc == 1)
		rc = mxh_wait(&p, 60000);
	return rc;
}

int mxh_simple(struct mx_vm *vm, uint16_t op, uint64_t ctx, uint32_t table, uint16_t flags,
	       const void *body, uint32_t len, struct mxh_reply *out)
{
	static __thread struct mxh_req r;
	mxh_begin(&r, ctx, table, flags);
	mxh_put(&r, body, len);
	return mxh_call(vm, op, &r, out);
}

uint64_t mxh_ctx_open(struct mx_vm *vm)
{
	static __thread struct mxh_reply out;
	struct vamos_mysql_ctx c = { 0 };
	if (mxh_simple(vm, VAMOS_MYSQL_CTX_OPEN, 0, 0, 0, NULL, 0, &out) == 0 &&
	    out.len == sizeof c)
		memcpy(&c, out.data, sizeof c);
	return c.ctx;
}

int mxh_create(struct mx_vm *vm, const char *name, bool hidden, unsigned nsec,
	       const uint8_t *unique, uint64_t autoinc)
{
	static __thread struct mxh_req r;
	static __thread struct mxh_reply out;
	struct vamos_mysql_create c = { .flags = hidden ? VAMOS_MYSQL_HIDDEN_PK : 0,
					.nsec = nsec, .auto_increment = autoinc };
	mxh_begin(&r, 0, 0, 0);
	mxh_put(&r, &c, sizeof c);
	mxh_put(&r, unique, nsec);
	mxh_put(&r, name, (uint32_t)strlen(name));
	return mxh_call(vm, VAMOS_MYSQL_CREATE, &r, &out);
}

__thread struct vamos_mysql_table mxh_last_table;

int64_t mxh_open(struct mx_vm *vm, const char *name)
{
	static __thread struct mxh_reply out;
	int rc = mxh_simple(vm, VAMOS_MYSQL_OPEN, 0, 0, 0, name, (uint32_t)strlen(name), &out);
	if (rc)
		return rc;
	struct vamos_mysql_table t;
	memcpy(&t, out.data, sizeof t);
	mxh_last_table = t;
	return t.table;
}

int mxh_write1(struct mx_vm *vm, uint64_t ctx, uint32_t table, const char *pk,
	       const char *row, unsigned nsec, const char *const *keys, uint64_t autoinc,
	       struct mxh_reply *out)
{
	static __thread struct mxh_req r;
	struct vamos_mysql_write w = { .count = 1 };
	struct vamos_mysql_write_row wr = { .row_len = (uint32_t)strlen(row),
					    .pk_len = (uint16_t)(pk ? strlen(pk) : 0),
					    .nsec = (uint16_t)nsec, .autoinc = autoinc };
	mxh_begin(&r, ctx, table, 0);
	mxh_put(&r, &w, sizeof w);
	uint32_t start = r.len;
	mxh_put(&r, &wr, sizeof wr);
	for (unsigned i = 0; i < nsec; i++) {
		uint16_t n = (uint16_t)strlen(keys[i]);
		mxh_put(&r, &n, 2);
	}
	if (pk)
		mxh_put(&r, pk, wr.pk_len);
	for (unsigned i = 0; i < nsec; i++)
		mxh_put(&r, keys[i], (uint32_t)strlen(keys[i]));
	mxh_put(&r, row, wr.row_len);
	while ((r.len - start) % 8)
		r.buf[r.len++] = 0;
	return mxh_call(vm, VAMOS_MYSQL_WRITE, &r, out);
}

int mxh_read(struct mx_vm *vm, uint64_t ctx, uint32_t table, const struct mxh_read *rd,
	     struct mxh_reply *out)
{
	static __thread struct mxh_req r;
	struct vamos_mysql_read q = {
		.index = rd->index, .start = rd->start, .find = rd->find,
		.backward = rd->backward, .stop = rd->stop,
		.max_rows = rd->max_rows ? rd->max_rows : 1000, .max_bytes = rd->max_bytes,
		.key_len = (uint16_t)(rd->key ? strlen(rd->key) : 0),
		.stop_len = (uint16_t)(rd->stop_key ? strlen(rd->stop_key) : 0),
		.flags = rd->read_flags,
	};
	mxh_begin(&r, ctx, table, rd->flags);
	mxh_put(&r, &q, sizeof q);
	mxh_put(&r, rd->key, q.key_len);
	mxh_put(&r, rd->stop_key, q.stop_len);
	return mxh_call(vm, VAMOS_MYSQL_READ, &r, out);
}

int mxh_rows_text(const struct mxh_reply *r, char *text, size_t cap, char *resume,
		  size_t resume_cap, uint32_t *flags)
{
	struct vamos_mysql_rows h;
	size_t used = 0;
	text[0] = 0;
	if (r->len < sizeof h)
		return -1;
	memcpy(&h, r->data, sizeof h);
	uint32_t off = sizeof h;
	for (uint32_t i = 0; i < h.count; i++) {
		struct vamos_mysql_row_entry e;
		memcpy(&e, r->data + off, sizeof e);
		const char *pk = (const char *)r->data + off + sizeof e;
		used += (size_t)snprintf(text + used, cap - used, "%.*s=%.*s;", (int)e.pk_len, pk,
					 (int)e.row_len, pk + e.pk_len);
		off += (uint32_t)((sizeof e + e.pk_len + e.row_len + 7) & ~7u);
	}
	if (resume)
		snprintf(resume, resume_cap, "%.*s", (int)h.resume_len, (const char *)r->data + off);
	if (flags)
		*flags = h.flags;
	return (int)h.count;
}
