/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <vamos/protocol.h>

#include "blocking.h"
#include "log.h"
#include "reply.h"
#include "serve.h"
#include "service.h"

/* End the session: @gone says the peer simply left (logged quietly),
 * otherwise it broke the protocol (a warning). */
static int end(struct session *s, const char *why, bool gone)
{
	if (!s->failure) {
		/* Atomic: the main thread reads it to sweep ended sessions. */
		__atomic_store_n(&s->failure, why, __ATOMIC_RELEASE);
		log_msg(gone ? LOG_DEBUG : LOG_WARN, "%s channel %u: session ended: %s", s->label,
			s->index, why);
	}
	return -1;
}

static int fail(struct session *s, const char *why)
{
	return end(s, why, false);
}

/* ---------------------------------------------------------------- records */

/* What stays the same over one session_serve() call: the channel's reply
 * size, and the service the last request named (a batch mostly names one;
 * the table is RCU-protected and the poller holds no pointer from it
 * beyond this call, so a lookup is good until then). */
struct batch {
	uint64_t boot_id;
	uint32_t max_reply; /* 0: not asked yet */
	bool looked_up;
	uint16_t service;
	const struct service *svc;
	/* Requests answered at once, added to the session's counters once
	 * per call rather than per request. */
	uint64_t answered;
	/* Shared memory: publish the replies written so far once answered
	 * reaches this (UINT64_MAX: at the end of the call only). */
	uint64_t publish_at;
};

static const struct service *lookup(struct batch *b, uint16_t id)
{
	if (!b->looked_up || b->service != id) {
		b->svc = services_lookup(id);
		b->service = id;
		b->looked_up = true;
	}
	return b->svc;
}

static int welcome(struct session *s, const struct vamos_record *rec, uint64_t boot_id)
{
	struct vamos_hello h;
	/* Trust check: exactly a HELLO's size, copied once, then judged. */
	if (rec->len != sizeof h)
		return fail(s, "HELLO has the wrong size");
	memcpy(&h, rec->data, sizeof h);
	if (h.version != VAMOS_PROTOCOL_VERSION || h.flags)
		return fail(s, "HELLO of another protocol version");
	struct vamos_welcome w = {
		.version = VAMOS_PROTOCOL_VERSION,
		.channel = s->index,
		.nonce = h.nonce,
		.boot_id = boot_id,
		.max_request = vamos_chan_max_payload(s->ch) -
			       (uint32_t)sizeof(struct vamos_request_header),
	};
	int rc = vamos_chan_send(s->ch, VAMOS_MSG_WELCOME, &w, sizeof w);
	if (rc)
		return rc == -EAGAIN ? -EAGAIN : fail(s, "cannot send WELCOME");
	s->welcomed = true;
	s->unflushed = true;
	log_debug("%s channel %u: session started", s->label, s->index);
	return 0;
}

static int request(struct session *s, const struct vamos_record *rec, struct batch *b)
{
	struct vamos_request_header h;
	/* Trust checks: the header is copied once and only the copy is used;
	 * the payload's bounds come from the ring, which checked them. */
	if (!s->welcomed)
		return fail(s, "REQUEST before HELLO");
	if (rec->len < sizeof h)
		return fail(s, "REQUEST shorter than its header");
	memcpy(&h, rec->data, sizeof h);
	if (h.reserved)
		return fail(s, "REQUEST header has reserved bits set");

	struct service_request req = {
		.id = h.id,
		.service = h.service,
		.op = h.op,
		.data = (const unsigned char *)rec->data + sizeof h,
		.len = rec->len - (uint32_t)sizeof h,
		.vm = s->vm,
		.channel = s->index,
	};
	if (!b->max_reply)
		b->max_reply = vamos_chan_max_payload(s->ch) -
			       (uint32_t)sizeof(struct vamos_reply_header);
	struct reply rep = {
		.to_ring = true,
		.session = s,
		.ch = s->ch,
		.id = h.id,
		.max_payload = b->max_reply,
	};
	const struct service *svc = lookup(b, h.service);
	int rc;
	if (svc && svc->may_block) {
		/* Back-pressure, not memory: a guest that floods a slow service
		 * waits in its own ring once this many are out. */
		if (atomic_load_explicit(&s->counters.in_flight, memory_order_relaxed) >=
		    SESSION_MAX_BLOCKING)
			return -EAGAIN;
		rc = blocking_submit(s, svc, &req);
		if (rc == 0) {
			atomic_fetch_add_explicit(&s->counters.requests, 1, memory_order_relaxed);
			return 0;
		}
		if (rc == -EAGAIN)
			return -EAGAIN; /* its VM's queue is full: wait in the ring */
		/* Could not queue it (out of memory): say so to the client. */
		rc = reply_finish(&rep, rc);
	} else if (svc) {
		rc = svc->handle(svc->ctx, &req, &rep);
		if (rep.deferred) {
			/* Answered later through a completion, like the pool's. */
			atomic_fetch_add_explicit(&s->counters.requests, 1, memory_order_relaxed);
			return 0;
		}
		if (rc == -EAGAIN && !rep.committed) {
			if (rep.at)
				vamos_chan_abort(s->ch);
			return -EAGAIN;
		}
		rc = rep.committed ? 0 : reply_finish(&rep, rc);
	} else {
		rc = reply_finish(&rep, -ENOENT);
	}
	if (rc)
		return rc; /* -EAGAIN: no room for the reply; retried later */
	b->answered++;
	if (rep.status < 0)
		atomic_fetch_add_explicit(&s->counters.errors, 1, memory_order_relaxed);
	s->unflushed = true;
	return 0;
}

static int handle(struct session *s, const struct vamos_record *rec, struct batch *b)
{
	switch (rec->type) {
	case VAMOS_MSG_HELLO:
		return welcome(s, rec, b->boot_id);
	case VAMOS_MSG_REQUEST:
		return request(s, rec, b);
	default:
		return fail(s, "record of an unknown type");
	}
}

/* Publish the replies written so far (one flush). 0, or -1 once the
 * session has failed. */
static int flush_replies(struct session *s)
{
	s->unflushed = false;
	s->counters_stale = true;
	int rc = vamos_chan_flush(s->ch);
	if (rc < 0) {
		const char *why = vamos_chan_error(s->ch);
		return end(s, why ? why : "flush failed", rc == -ECONNRESET);
	}
	return 0;
}

/* In a long batch on shared memory, replies are published every
 * SESSION_PUBLISH_EVERY: the guest starts on the first ones while we write
 * the rest, instead of waiting for the whole batch. A flush there is one
 * store; on a stream it would be a write call per part, so streams wait
 * for the end. Returns the count of answered requests at which the first
 * part goes out (batch.publish_at). */
static uint64_t first_part(const struct session *s)
{
	bool long_batch = s->held_count - s->held_next > SESSION_PUBLISH_EVERY;
	return long_batch && vamos_chan_mode(s->ch) != VAMOS_NOTIFY_STREAM
		       ? SESSION_PUBLISH_EVERY
		       : UINT64_MAX;
}

static int publish_part(struct session *s, struct batch *b)
{
	if (b->answered < b->publish_at)
		return 0;
	b->publish_at = b->answered + SESSION_PUBLISH_EVERY;
	return flush_replies(s);
}

int session_serve(struct session *s, uint64_t boot_id, bool take_new)
{
	if (s->failure)
		return -1;
	int work = 0;
	if (s->held_next == s->held_count && take_new) {
		int n = vamos_chan_poll(s->ch, s->held, SESSION_BATCH);
		if (n < 0) {
			const char *why = vamos_chan_error(s->ch);
			if (n == -EPROTO)
				atomic_fetch_add_explicit(&s->counters.protocol_errors, 1,
							  memory_order_relaxed);
			return end(s, why ? why : "channel failed", n == -ECONNRESET);
		}
		s->held_count = (unsigned)n;
		s->held_next = 0;
		/* Nothing but the padding at the ring's end, maybe: its room
		 * goes back now, or the record the client could not fit
		 * before it never comes. */
		if (n == 0)
			vamos_chan_release(s->ch);
	}
	struct batch b = { .boot_id = boot_id, .publish_at = first_part(s) };
	uint64_t bytes = 0;
	while (s->held_next < s->held_count && bytes < SESSION_BUDGET_BYTES) {
		uint32_t len = s->held[s->held_next].len;
		int rc = handle(s, &s->held[s->held_next], &b);
		if (rc == -EAGAIN) {
			/* Reply ring full: flush, and come back. The flush also
			 * publishes padding the reservation may have written,
			 * which the guest must consume before a record that
			 * needs the whole ring fits. */
			s->unflushed = true;
			break;
		}
		if (rc < 0) {
			atomic_fetch_add_explicit(&s->counters.protocol_errors, 1,
						  memory_order_relaxed);
			break;
		}
		s->held_next++;
		work++;
		bytes += len;
		if (publish_part(s, &b) < 0)
			break;
	}
	if (b.answered) {
		atomic_fetch_add_explicit(&s->counters.requests, b.answered, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->counters.replies, b.answered, memory_order_relaxed);
	}
	if (s->held_count && s->held_next == s->held_count) {
		vamos_chan_release(s->ch);
		s->held_count = s->held_next = 0;
	}
	if (s->unflushed && flush_replies(s) < 0)
		return -1;
	return s->failure ? -1 : work;
}

