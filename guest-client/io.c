/* SPDX-License-Identifier: MIT */
/*
 * The data path of a session: submit, flush, taking replies off the
 * channel (each checked before use, then routed to the thread that sent
 * the request), complete, and the death of a session.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "vamos_copy.h"
#include "vamos_clock.h"

/* Token of no thread: session_die routes every last reply to a list. */
#define NOBODY 0xffffu

void session_user_reset(struct vamos_session *s, uint16_t token)
{
	if (token < s->user_cap)
		stash_release_list(&s->stash, &s->users[token].handed);
}

void session_deliver(struct vamos_session *s, uint16_t owner, int32_t e)
{
	if (owner >= s->user_cap) {
		stash_release(&s->stash, e);
		s->dropped++;
		return;
	}
	struct session_user *u = &s->users[owner];
	if (u->calling && u->call_id == s->stash.e[e].id && u->call_entry == STASH_NONE)
		u->call_entry = e;
	else
		stash_push(&s->stash, &u->ready, e);
	followers_wake_owner(s, owner); /* if it sleeps, the reply is what it waits for */
}

/* Keep a completion for @owner, with a copy of @len bytes at @data. */
static void keep(struct vamos_session *s, uint16_t owner, uint64_t id, int status,
		 int death, const void *data, uint32_t len)
{
	int32_t e = stash_alloc(&s->stash, len);
	if (e < 0) {
		/* No memory for the bytes: the completion still goes out,
		 * with -ENOMEM and no data, rather than never. */
		e = stash_alloc(&s->stash, 0);
		if (e < 0) {
			s->dropped++;
			return;
		}
		status = -ENOMEM;
		len = 0;
	}
	struct stash_entry *en = &s->stash.e[e];
	en->id = id;
	en->status = status;
	en->death = death;
	en->len = len;
	if (len)
		memcpy(en->buf, data, len);
	session_deliver(s, owner, e);
}

/*
 * Check one record and route it. Returns 1 if it went to @t, 0 if
 * elsewhere (another thread, a list, or dropped), -EPROTO with @why.
 */
static int route(struct vamos_session *s, struct pump_target *t,
		 const struct vamos_record *rec, const char **why)
{
	static __thread char msg[96];
	struct vamos_reply_header h;

	/* Once a session is open the host sends replies and nothing else. */
	if (rec->type != VAMOS_MSG_REPLY) {
		snprintf(msg, sizeof msg, "record of type 0x%x where a REPLY belongs", rec->type);
		*why = msg;
		return -EPROTO;
	}
	/* The whole header is there before we read it. */
	if (rec->len < sizeof h) {
		snprintf(msg, sizeof msg, "REPLY of %u bytes, shorter than its header", rec->len);
		*why = msg;
		return -EPROTO;
	}
	/* One copy of the header, checked on the copy: the host cannot change
	 * a field after we checked it. */
	memcpy(&h, rec->data, sizeof h);
	/* Reserved is zero in protocol version 1: anything else is a host we
	 * do not understand. */
	if (h.reserved) {
		*why = "REPLY with nonzero reserved bits";
		return -EPROTO;
	}
	int32_t status = (int32_t)le32toh((uint32_t)h.status);
	/* A status is 0 or a negative errno: a positive one would read as a
	 * count to the caller. */
	if (status > 0) {
		snprintf(msg, sizeof msg, "REPLY with positive status %" PRId32, status);
		*why = msg;
		return -EPROTO;
	}
	uint64_t id = le64toh(h.id);
	uint16_t owner;
	/* Only ids in flight here: a timed-out call's reply, or a repeated
	 * one, is dropped and counted. */
	if (!inflight_take(&s->inflight, id, &owner)) {
		s->dropped++;
		return 0;
	}
	const unsigned char *data = (const unsigned char *)rec->data + sizeof h;
	uint32_t len = rec->len - (uint32_t)sizeof h;

	if (owner == t->token && t->calling && id == t->call_id) {
		/* Bytes beyond the caller's room are dropped (-EMSGSIZE); the
		 * rest go straight where the caller wants them: one copy. */
		t->got_nomem = false;
		if (len && len <= t->reply_cap) {
			void *dst = t->room(t->room_arg, len);
			if (dst)
				memcpy(dst, data, len);
			else
				t->got_nomem = true;
		}
		t->got = true;
		t->got_status = status;
		t->got_len = len;
		return 1;
	}
	if (owner == t->token && t->out && t->n < t->max) {
		struct session_user *u = &s->users[owner];
		if (t->arena_used + len <= u->arena_cap) {
			unsigned char *p = u->arena + t->arena_used;
			vamos_copy_short(p, data, len);
			t->arena_used += (len + 7u) & ~(size_t)7u;
			t->out[t->n++] = (struct vamos_completion){
				.id = id, .status = status, .data = len ? p : NULL, .len = len,
			};
			u->pending--;
			return 1;
		}
	}
	keep(s, owner, id, status, 0, data, len);
	return 0;
}

/* Make @t's arena hold @need more bytes before anything in it is handed
 * out in this call (growing moves it). */
static void arena_reserve(struct vamos_session *s, struct pump_target *t, size_t need)
{
	struct session_user *u = &s->users[t->token];
	if (t->n || t->arena_used + need <= u->arena_cap)
		return;
	size_t cap = u->arena_cap ? u->arena_cap : 4096;
	while (cap < t->arena_used + need)
		cap *= 2;
	unsigned char *a = realloc(u->arena, cap);
	if (a) {
		u->arena = a;
		u->arena_cap = cap;
	}
	/* On failure the replies wait in the thread's list instead. */
}

unsigned session_pump(struct vamos_session *s, struct pump_target *t)
{
	struct vamos_record recs[64];
	unsigned want = 64, mine = 0;

	t->polled = 0;
	if (!s->ch)
		return 0;
	if (t->out && t->max - t->n < want)
		want = t->max - t->n ? t->max - t->n : 1;
	int n = vamos_chan_poll(s->ch, recs, want);
	if (n < 0) {
		session_die(s, n == -EPROTO ? n : -ECONNRESET, vamos_chan_error(s->ch));
		return 0;
	}
	t->polled = (unsigned)n;
	if (t->out && t->token < s->user_cap && n) {
		size_t need = 0;
		for (int i = 0; i < n; i++)
			need += ((size_t)recs[i].len + 7u) & ~(size_t)7u;
		arena_reserve(s, t, need);
	}
	for (int i = 0; i < n; i++) {
		const char *why;
		int rc = route(s, t, &recs[i], &why);
		if (rc < 0) {
			char copy[128];
			snprintf(copy, sizeof copy, "%s", why);
			vamos_chan_release(s->ch);
			session_die(s, -EPROTO, copy);
			return mine;
		}
		mine += (unsigned)rc;
	}
	vamos_chan_release(s->ch);
	return mine;
}

struct death {
	struct vamos_session *s;
	int err;
};

static void fail_one(void *arg, uint64_t id, uint16_t owner)
{
	struct death *d = arg;
	keep(d->s, owner, id, -ECONNRESET, d->err, NULL, 0);
}

void session_die(struct vamos_session *s, int err, const char *why)
{
	char reason[160];
	if (!s->ch)
		return;
	snprintf(reason, sizeof reason, "%s", why ? why : "the channel failed");
	if (s->receiving) {
		/* Another thread waits on the channel (we hold the lock, so
		 * the session is shared): it cannot close under that wait.
		 * The receiver comes back within a slice, seeing the failure
		 * itself most often; the channel it leaves may be another by
		 * then (it died and a submit opened a new one). */
		uint64_t opens = s->opens;
		s->closers++;
		while (s->receiving)
			pthread_cond_wait(&s->turn, &s->lock);
		s->closers--;
		if (!s->ch || s->opens != opens) {
			/* Another closer's channel is gone, or a new one open:
			 * every sleeper looks again. */
			pthread_cond_broadcast(&s->turn);
			followers_wake_all(s);
			return;
		}
	}
	if (err == -ECONNRESET && !s->dying) {
		/* Replies the host sent before it went are good: route them
		 * first (a failure on the way ends the session in there). */
		struct pump_target nobody = { .token = NOBODY };
		s->dying = true;
		do
			session_pump(s, &nobody);
		while (s->ch && nobody.polled);
		s->dying = false;
		if (!s->ch)
			return;
	}
	session_close_channel(s);
	s->queued = 0;
	if (s->be) {
		if (err == -ECONNRESET)
			atomic_store_explicit(&s->be->dead, true, memory_order_release);
		backend_put(s->be);
		s->be = NULL;
	}
	struct death d = { s, err };
	inflight_drain(&s->inflight, fail_one, &d);
	session_set_error(s, "%s: %s", err == -EPROTO ? "channel broken" : "connection lost",
			  reason);
	/* Followers find their -ECONNRESET in their lists (a lone session
	 * has none). */
	followers_wake_all(s);
}

/* Nothing came: has the host's heartbeat stood still too long? */
static int host_stale(struct vamos_session *s, struct pump_target *t)
{
	if (!s->be)
		return 0; /* a stream: no region, the timeout applies */
	const struct vamos_region *r = s->be->peer ? vamos_ivshmem_peer_region(s->be->peer)
				       : s->be->guest ? vamos_guest_region(s->be->guest)
						      : NULL;
	int64_t still = host_watch_region(&t->watch, r, s->client->cfg.stale_ms);
	if (!still)
		return 0;
	session_set_error(s, "vamosd on the host has not answered for %lld s (its heartbeat "
			     "stood still: stopped or stuck)", (long long)((still + 500) / 1000));
	return -EHOSTDOWN;
}

/* A follower's round (shared session, another thread receives): sleep
 * until the receiver routed a reply for us or gave the role up (or, for a
 * thread waiting for room to submit, routed any), one slice at most.
 * Returns 0 (look at your lists), -ETIMEDOUT at @deadline, -EHOSTDOWN
 * when the heartbeat stood still. */
static int follow(struct vamos_session *s, int64_t deadline, struct pump_target *t)
{
	int left = client_left_ms(deadline);
	if (left == 0)
		return -ETIMEDOUT;
	struct timespec at = vamos_monotonic_in(left < CLIENT_SLICE_MS ? left : CLIENT_SLICE_MS);
	int rc = followers_sleep(s, t->token, !t->calling && !t->out, &at);
	if (rc == -ENOMEM) /* no condition variable: sleep the slice out */
		rc = pthread_cond_timedwait(&s->turn, &s->lock, &at) == ETIMEDOUT ? -ETIMEDOUT : 0;
	if (rc == -ETIMEDOUT)
		/* A slice and no word: the receiver may be stuck on a host
		 * that stopped; each waiter watches the heartbeat itself. */
		return host_stale(s, t);
	return 0;
}

/* Whether another thread has the channel's receive side, or is about to
 * close the channel: then a thread of a shared session follows. */
static bool channel_taken(const struct vamos_session *s)
{
	return s->receiving || s->closers;
}

int session_step(struct vamos_session *s, bool *locked, int64_t deadline,
		 struct pump_target *t)
{
	if (*locked && channel_taken(s))
		return follow(s, deadline, t);
	unsigned got = session_pump(s, t);
	if (*locked && t->polled)
		followers_wake_any(s); /* room, maybe, for those waiting to submit */
	if (got || !s->ch)
		return (int)got;
	int left = client_left_ms(deadline);
	if (left == 0)
		return -ETIMEDOUT;
	*locked = session_upgrade(s, *locked);
	if (*locked && channel_taken(s))
		return follow(s, deadline, t);
	/* Shared memory: poll the reply ring for the session's budget before
	 * the channel announces sleep (it then looks at the ring once more,
	 * so a reply published meanwhile is never missed). */
	struct vamos_chan *ch = s->ch;
	bool shm = s->be != NULL;
	uint64_t sleeps = 0;
	if (shm) {
		vamos_chan_set_spin(ch, s->spin.budget_ns);
		sleeps = vamos_chan_stats(ch).sleeps;
	}
	if (*locked) {
		/* Receiver: the channel's receive side is ours and nobody
		 * closes the channel until we give the role back (session_die
		 * waits for that); the others may submit and flush meanwhile. */
		s->receiving = true;
		pthread_mutex_unlock(&s->lock);
	}
	int rc = vamos_chan_wait(ch, CLIENT_SLICE_MS < left ? CLIENT_SLICE_MS : left);
	if (rc == -EIO || rc == -ENOMEM) {
		/* Not sticky, and nothing to read: do not spin on it. */
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	if (*locked) {
		pthread_mutex_lock(&s->lock);
		s->receiving = false;
	}
	/* How long the replies took is counted from the send: a reply can
	 * never seem quicker than the host was, however late we wait. */
	if (shm)
		reply_spin_learn(&s->spin, s->client->cfg.poll_max_ns,
				 client_now_ns() - s->flushed_ns,
				 vamos_chan_stats(ch).sleeps != sleeps);
	if (rc == -ETIMEDOUT) {
		/* Nothing came: a local host may have died without a word. */
		backend_check(s->be);
	} else if (rc != -EIO && rc != -ENOMEM) {
		/* Records, or a failure that poll reports after them. */
		got = session_pump(s, t);
	}
	if (*locked) {
		/* The role is free: a closer may go on. The followers whose
		 * replies came were woken as they were routed; one that still
		 * waits takes the role when this thread leaves the session
		 * (session_leave), unless it comes back for more first. */
		if (s->closers)
			pthread_cond_broadcast(&s->turn);
		if (t->polled)
			followers_wake_any(s);
	}
	if (!got && (rc = host_stale(s, t)) < 0)
		return rc;
	return (int)got;
}

/* Before a request: a channel the host lost while the session was idle
 * dies here (its requests fail), so session_ensure_open() opens a new one
 * and the request goes to a live host. */
static void drop_lost_channel(struct vamos_session *s)
{
	struct vamos_client *c = s->client;
	/* A channel of a dead backend, or of an older generation than the
	 * client's (another session reconnected it), is lost. */
	if (s->ch && s->be &&
	    (atomic_load_explicit(&s->be->dead, memory_order_acquire) ||
	     s->be->generation != atomic_load_explicit(&c->generation, memory_order_acquire)))
		session_die(s, -ECONNRESET, "the host went away");
	if (s->ch && !s->queued && !s->receiving) {
		/* First request of a batch: one look (no wait, nothing taken)
		 * whether the host went away while the session was idle, so
		 * the batch goes to a live one. (A receiver, if there is one,
		 * is looking already: the receive side is its own.) */
		int rc = vamos_chan_wait(s->ch, 0);
		if (rc == -ECONNRESET || rc == -EPROTO)
			session_die(s, rc, vamos_chan_error(s->ch));
	}
}

/*
 * Queue one request with id @rid on the open channel: its in-flight entry,
 * then the record. The caller counts it (next_id, queued, pending) and, on
 * the channel's failure, lets the session die. 0; -EAGAIN (full),
 * -EMSGSIZE, -ENOMEM, a commit's error, or the channel's failure
 * (-ECONNRESET, -EPROTO), with nothing queued.
 */
static int queue_one(struct vamos_session *s, uint16_t token, uint16_t service, uint16_t op,
		     const void *data, uint32_t len, uint64_t rid)
{
	const uint32_t hdr_len = sizeof(struct vamos_request_header);
	int rc;

	if (len > s->max_request)
		return -EMSGSIZE;
	if ((rc = inflight_add(&s->inflight, rid, token)))
		return rc;
	void *p;
	rc = vamos_chan_reserve(s->ch, hdr_len + len, &p);
	if (rc == -EAGAIN && vamos_chan_mode(s->ch) == VAMOS_NOTIFY_STREAM) {
		/* The stream's frame is full: send it, start the next. */
		rc = vamos_chan_flush(s->ch);
		if (rc == 0)
			rc = vamos_chan_reserve(s->ch, hdr_len + len, &p);
	}
	if (rc) {
		inflight_take(&s->inflight, rid, NULL);
		return rc;
	}
	struct vamos_request_header h = {
		.id = htole64(rid),
		.service = htole16(service),
		.op = htole16(op),
		.reserved = 0,
	};
	memcpy(p, &h, sizeof h);
	vamos_copy_short((unsigned char *)p + hdr_len, data, len);
	rc = vamos_chan_commit(s->ch, VAMOS_MSG_REQUEST, hdr_len + len);
	if (rc) {
		vamos_chan_abort(s->ch);
		inflight_take(&s->inflight, rid, NULL);
	}
	return rc;
}

/* @n more requests of @token went on the channel. */
static void count_queued(struct vamos_session *s, uint16_t token, unsigned n)
{
	s->next_id += n;
	s->queued += n;
	if (token < s->user_cap)
		s->users[token].pending += n;
}

/* A request could not go: the channel's failure ends the session. */
static int not_queued(struct vamos_session *s, int rc)
{
	if (rc == -ECONNRESET || rc == -EPROTO)
		session_die(s, rc, vamos_chan_error(s->ch));
	return rc;
}

int session_submit_locked(struct vamos_session *s, uint16_t token, uint16_t service,
			  uint16_t op, const void *data, uint32_t len, uint64_t *id)
{
	int rc = -ECONNRESET;

	/* A session that dies under the reservation is reopened once: this
	 * request was not sent, so sending it on the new one is no resend. */
	for (int attempt = 0; attempt < 2 && (rc == -ECONNRESET || rc == -EPROTO); attempt++) {
		drop_lost_channel(s);
		if ((rc = session_ensure_open(s)))
			return rc;
		uint64_t rid = s->next_id;
		rc = queue_one(s, token, service, op, data, len, rid);
		if (rc == 0) {
			count_queued(s, token, 1);
			*id = rid;
		} else {
			not_queued(s, rc);
		}
	}
	return rc;
}

int session_flush_locked(struct vamos_session *s)
{
	if (!s->ch)
		return 0;
	int rc = vamos_chan_flush(s->ch);
	if (rc == 0) {
		s->queued = 0;
		if (s->be)
			s->flushed_ns = client_now_ns();
	} else if (rc == -ECONNRESET || rc == -EPROTO)
		session_die(s, rc, vamos_chan_error(s->ch));
	return rc;
}

int vamos_session_submit(struct vamos_session *s, uint16_t service, uint16_t op,
			 const void *data, uint32_t len, uint64_t *id)
{
	uint64_t dummy;
	if (!s || (len && !data))
		return -EINVAL;
	bool locked = session_enter(s);
	int rc = session_submit_locked(s, session_token(s), service, op, data, len,
				       id ? id : &dummy);
	session_leave(s, locked);
	return rc;
}

int vamos_session_submit_many(struct vamos_session *s, const struct vamos_request *reqs,
			      unsigned n, uint64_t *first_id)
{
	if (!s || !reqs || !n || n > INT_MAX || (reqs[0].len && !reqs[0].data))
		return -EINVAL;
	bool locked = session_enter(s);
	uint16_t token = session_token(s);
	uint64_t id;
	/* The first as vamos_session_submit: the host's liveness looked at,
	 * the session reopened if it died. */
	int rc = session_submit_locked(s, token, reqs[0].service, reqs[0].op, reqs[0].data,
				       reqs[0].len, &id);
	unsigned done = 0;
	if (rc == 0) {
		if (first_id)
			*first_id = id;
		/* The rest on the same channel, so their ids follow on, counted
		 * once at the end; a request that cannot go stops the batch
		 * (what was queued stays queued, and a channel that failed
		 * then fails it with -ECONNRESET completions) and the next
		 * call reports it. */
		int stop = 0;
		for (done = 1; done < n; done++) {
			const struct vamos_request *r = &reqs[done];
			if (r->len && !r->data)
				break; /* the next call says -EINVAL */
			if ((stop = queue_one(s, token, r->service, r->op, r->data, r->len,
					      id + done)))
				break;
		}
		count_queued(s, token, done - 1);
		not_queued(s, stop);
	}
	session_leave(s, locked);
	return done ? (int)done : rc;
}

int vamos_session_flush(struct vamos_session *s)
{
	if (!s)
		return -EINVAL;
	bool locked = session_enter(s);
	int rc = session_flush_locked(s);
	session_leave(s, locked);
	return rc;
}

/* Hand @t's thread what waits in its list, up to @t->max. */
static void hand_out_ready(struct vamos_session *s, struct pump_target *t)
{
	struct session_user *u = &s->users[t->token];
	while (t->n < t->max) {
		int32_t i = stash_pop(&s->stash, &u->ready);
		if (i == STASH_NONE)
			break;
		struct stash_entry *e = &s->stash.e[i];
		t->out[t->n++] = (struct vamos_completion){
			.id = e->id, .status = e->status,
			.data = e->len ? e->buf : NULL, .len = e->len,
		};
		if (u->pending)
			u->pending--;
		/* Its bytes stay valid until the thread's next complete/call. */
		stash_push(&s->stash, &u->handed, i);
	}
}

int vamos_session_complete(struct vamos_session *s, struct vamos_completion *out,
			   unsigned max, int timeout_ms)
{
	if (!s || !out || !max)
		return -EINVAL;
	bool locked = session_enter(s);
	uint16_t me = session_token(s);
	int64_t deadline = client_deadline(timeout_ms);
	struct pump_target t = { .token = me, .out = out, .max = max };
	int rc;

	if (me >= s->user_cap) {
		session_leave(s, locked);
		return 0;
	}
	session_user_reset(s, me);
	for (;;) {
		hand_out_ready(s, &t);
		if (t.n) {
			rc = (int)t.n;
			break;
		}
		struct session_user *u = &s->users[me];
		if (!u->pending) {
			rc = 0;
			break;
		}
		if (!s->ch) {
			/* Dead and nothing in the list: what was pending was lost
			 * for want of memory. Nothing left to wait for. */
			u->pending = 0;
			rc = 0;
			break;
		}
		rc = session_step(s, &locked, deadline, &t);
		if (rc > 0) {
			rc = (int)t.n;
			break;
		}
		if (rc == -ETIMEDOUT || rc == -EHOSTDOWN) {
			int err = rc;
			hand_out_ready(s, &t);
			rc = t.n ? (int)t.n : err;
			break;
		}
	}
	session_leave(s, locked);
	return rc;
}
