/* SPDX-License-Identifier: MIT */
/*
 * vamos_call: submit, flush, and take replies until ours comes. Replies to
 * the thread's other requests found on the way wait in its list for its
 * next vamos_session_complete(); a reply another thread of a shared
 * session took off the channel is left for us in call_entry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "internal.h"

/* The status to give for a reply of @len bytes: the service's, or
 * -EMSGSIZE when they do not fit @cap, or -ENOMEM when the room function
 * found no room. @data: bytes still to copy (a kept completion); NULL when
 * the pump already put them in place. */
static int give(const struct pump_target *t, uint32_t *reply_len, int status,
		const void *data, uint32_t len, bool nomem)
{
	if (reply_len)
		*reply_len = len;
	if (len > t->reply_cap)
		return -EMSGSIZE;
	if (data && len) {
		void *dst = t->room(t->room_arg, len);
		if (!dst)
			return -ENOMEM;
		memcpy(dst, data, len);
	}
	return nomem ? -ENOMEM : status;
}

/* vamos_call's room: the caller's fixed buffer. */
static void *fixed_room(void *arg, uint32_t len)
{
	(void)len;
	return arg;
}

/* Submit, making room when the channel is full: flush what is queued and
 * take replies (ours go to our list) until there is room or @deadline. */
static int submit_room(struct vamos_session *s, bool *locked, uint16_t me, uint16_t service,
		       uint16_t op, const void *req, uint32_t req_len, int64_t deadline,
		       uint64_t *id)
{
	struct pump_target t = { .token = me };
	for (;;) {
		int rc = session_submit_locked(s, me, service, op, req, req_len, id);
		if (rc != -EAGAIN)
			return rc;
		session_flush_locked(s); /* if it dies, the next submit reconnects */
		int st = session_step(s, locked, deadline, &t);
		if (st == -ETIMEDOUT || st == -EHOSTDOWN)
			return st;
	}
}

int vamos_call(struct vamos_client *c, uint16_t service, uint16_t op,
	       const void *req, uint32_t req_len, void *reply, uint32_t reply_cap,
	       uint32_t *reply_len, int timeout_ms)
{
	if (reply_len)
		*reply_len = 0;
	if (reply_cap && !reply)
		return -EINVAL;
	return vamos_call_room(c, service, op, req, req_len, fixed_room, reply, reply_cap,
			       reply_len, timeout_ms);
}

int vamos_call_room(struct vamos_client *c, uint16_t service, uint16_t op,
		    const void *req, uint32_t req_len, vamos_reply_room_fn room, void *room_arg,
		    uint32_t reply_cap, uint32_t *reply_len, int timeout_ms)
{
	if (reply_len)
		*reply_len = 0;
	if (!c || (req_len && !req) || !room)
		return -EINVAL;
	struct vamos_session *s = vamos_session_get(c);
	if (!s)
		return -ENOMEM;
	if (timeout_ms < 0)
		timeout_ms = c->cfg.timeout_ms;
	int64_t deadline = client_deadline(timeout_ms);
	bool locked = session_enter(s);
	uint16_t me = session_token(s);
	uint64_t id;
	int rc;

	session_user_reset(s, me);
	rc = submit_room(s, &locked, me, service, op, req, req_len, deadline, &id);
	if (rc)
		goto out;
	struct session_user *u = &s->users[me];
	u->calling = true;
	u->call_id = id;
	u->call_entry = STASH_NONE;
	struct pump_target t = {
		.token = me, .calling = true, .call_id = id,
		.room = room, .room_arg = room_arg, .reply_cap = reply_cap,
	};
	/* A failure here fails our request too: it shows up below. */
	session_flush_locked(s);
	for (;;) {
		u = &s->users[me]; /* the array moves when threads join */
		if (t.got) {
			rc = give(&t, reply_len, t.got_status, NULL, t.got_len, t.got_nomem);
			break;
		}
		if (u->call_entry != STASH_NONE) {
			struct stash_entry *e = &s->stash.e[u->call_entry];
			rc = e->death ? e->death
				      : give(&t, reply_len, e->status, e->buf, e->len, false);
			stash_release(&s->stash, u->call_entry);
			u->call_entry = STASH_NONE;
			break;
		}
		if (!s->ch) {
			/* The session died and our completion was lost with
			 * the memory to keep it: fail it all the same. */
			inflight_take(&s->inflight, id, NULL);
			rc = -ECONNRESET;
			break;
		}
		int st = session_step(s, &locked, deadline, &t);
		if ((st == -ETIMEDOUT || st == -EHOSTDOWN) && !t.got &&
		    s->users[me].call_entry == STASH_NONE) {
			/* Forget it: a late reply is dropped as unknown. */
			inflight_take(&s->inflight, id, NULL);
			rc = st;
			break;
		}
	}
	u = &s->users[me];
	u->calling = false;
	if (u->pending)
		u->pending--;
out:
	session_leave(s, locked);
	return rc;
}
