/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vamos/protocol.h>

#include "blocking.h"
#include "log.h"
#include "poller.h"
#include "reply.h"
#include "service.h"
#include "session.h"

struct session *session_new(struct vamos_chan *ch, vm_id vm, const char *label,
			    uint32_t index)
{
	struct session *s = calloc(1, sizeof *s);
	if (!s) {
		vamos_chan_close(ch);
		return NULL;
	}
	s->ch = ch;
	s->vm = vm;
	s->label = label;
	s->index = index;
	atomic_init(&s->refs, 1);
	return s;
}

void session_ref(struct session *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void session_unref(struct session *s)
{
	/* Acq-rel: the last owner sees every other owner's writes. */
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
		vamos_chan_close(s->ch);
		free(s);
	}
}

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

/* ---------------------------------------------------------------- replies */

int reply_reserve(struct reply *rep, uint32_t len, void **payload)
{
	if (rep->at || rep->committed)
		return -EBUSY;
	if (len > rep->max_payload)
		return -EMSGSIZE;
	uint32_t total = (uint32_t)sizeof(struct vamos_reply_header) + len;
	if (rep->to_ring) {
		void *p;
		int rc = vamos_chan_reserve(rep->ch, total, &p);
		if (rc)
			return rc;
		rep->at = p;
	} else {
		rep->buf = malloc(total);
		if (!rep->buf)
			return -ENOMEM;
		rep->at = rep->buf;
	}
	rep->reserved = len;
	*payload = rep->at + sizeof(struct vamos_reply_header);
	return 0;
}

uint32_t reply_room(const struct reply *rep)
{
	if (!rep->to_ring)
		return rep->max_payload; /* a private buffer: any size fits */
	uint32_t room = vamos_chan_room(rep->ch);
	uint32_t head = (uint32_t)sizeof(struct vamos_reply_header);
	room = room > head ? room - head : 0;
	return room < rep->max_payload ? room : rep->max_payload;
}

void reply_commit(struct reply *rep, int status, uint32_t len)
{
	if (!rep->at || rep->committed || len > rep->reserved)
		return;
	struct vamos_reply_header h = { .id = rep->id, .status = status };
	memcpy(rep->at, &h, sizeof h);
	uint32_t total = (uint32_t)sizeof h + len;
	if (rep->to_ring)
		vamos_chan_commit(rep->ch, VAMOS_MSG_REPLY, total);
	else
		rep->buf_len = total;
	rep->committed = true;
	rep->status = status;
}

void reply_unreserve(struct reply *rep)
{
	if (rep->committed)
		return;
	if (rep->at && rep->to_ring) {
		vamos_chan_abort(rep->ch);
		rep->at = NULL;
	} else if (rep->at) {
		free(rep->buf);
		rep->buf = NULL;
		rep->at = NULL;
	}
	rep->reserved = 0;
}

/* Finish a reply the handler left open or never started: status @rc and
 * no bytes. Returns 0 or -EAGAIN (no room for even an empty reply). */
int reply_finish(struct reply *rep, int rc)
{
	if (rep->committed)
		return 0;
	reply_unreserve(rep);
	void *p;
	int r = reply_reserve(rep, 0, &p);
	if (r)
		return r;
	reply_commit(rep, rc, 0);
	return 0;
}

void session_assume_welcomed(struct session *s)
{
	s->welcomed = true;
}

/* ---------------------------------------------------------------- records */

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

static int request(struct session *s, const struct vamos_record *rec)
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
	struct reply rep = {
		.to_ring = true,
		.session = s,
		.ch = s->ch,
		.id = h.id,
		.max_payload = vamos_chan_max_payload(s->ch) -
			       (uint32_t)sizeof(struct vamos_reply_header),
	};
	const struct service *svc = services_lookup(h.service);
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
		rc = reply_finish(&rep, rc);
	} else {
		rc = reply_finish(&rep, -ENOENT);
	}
	if (rc)
		return rc; /* -EAGAIN: no room for the reply; retried later */
	atomic_fetch_add_explicit(&s->counters.requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->counters.replies, 1, memory_order_relaxed);
	if (rep.status < 0)
		atomic_fetch_add_explicit(&s->counters.errors, 1, memory_order_relaxed);
	s->unflushed = true;
	return 0;
}

static int handle(struct session *s, const struct vamos_record *rec, uint64_t boot_id)
{
	switch (rec->type) {
	case VAMOS_MSG_HELLO:
		return welcome(s, rec, boot_id);
	case VAMOS_MSG_REQUEST:
		return request(s, rec);
	default:
		return fail(s, "record of an unknown type");
	}
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
	while (s->held_next < s->held_count) {
		int rc = handle(s, &s->held[s->held_next], boot_id);
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
	}
	if (s->held_count && s->held_next == s->held_count) {
		vamos_chan_release(s->ch);
		s->held_count = s->held_next = 0;
	}
	if (s->unflushed) {
		s->unflushed = false;
		int rc = vamos_chan_flush(s->ch);
		if (rc < 0) {
			const char *why = vamos_chan_error(s->ch);
			return end(s, why ? why : "flush failed", rc == -ECONNRESET);
		}
	}
	return s->failure ? -1 : work;
}

int session_post_reply(struct session *s, const void *buf, uint32_t len)
{
	if (s->failure)
		return 0; /* nobody to tell: dropped */
	int rc = vamos_chan_send(s->ch, VAMOS_MSG_REPLY, buf, len);
	if (rc == -EAGAIN) {
		s->unflushed = true; /* publish any padding (see session_serve) */
		return rc;
	}
	if (rc == 0) {
		struct vamos_reply_header h;
		memcpy(&h, buf, sizeof h);
		atomic_fetch_add_explicit(&s->counters.replies, 1, memory_order_relaxed);
		if (h.status < 0)
			atomic_fetch_add_explicit(&s->counters.errors, 1, memory_order_relaxed);
		s->unflushed = true;
	}
	return 0;
}

void session_publish_counters(struct session *s)
{
	struct vamos_chan_stats st = vamos_chan_stats(s->ch);
	struct session_counters *c = &s->counters;
	atomic_store_explicit(&c->batches, st.batches_sent, memory_order_relaxed);
	atomic_store_explicit(&c->bytes_in, st.bytes_received, memory_order_relaxed);
	atomic_store_explicit(&c->bytes_out, st.bytes_sent, memory_order_relaxed);
	atomic_store_explicit(&c->doorbells_received, st.notifications_received,
			      memory_order_relaxed);
	atomic_store_explicit(&c->interrupts_sent, st.notifications_sent,
			      memory_order_relaxed);
	atomic_store_explicit(&c->sleeps, st.sleeps, memory_order_relaxed);
}

void session_totals_add(struct session_totals *t, const struct session *s)
{
	const struct session_counters *c = &s->counters;
#define LOAD(x) atomic_load_explicit(&c->x, memory_order_relaxed)
	t->requests += LOAD(requests);
	t->replies += LOAD(replies);
	t->batches += LOAD(batches);
	t->bytes_in += LOAD(bytes_in);
	t->bytes_out += LOAD(bytes_out);
	t->doorbells += LOAD(doorbells_received);
	t->interrupts += LOAD(interrupts_sent);
	t->sleeps += LOAD(sleeps);
	t->errors += LOAD(errors);
	t->protocol_errors += LOAD(protocol_errors);
	t->in_flight += LOAD(in_flight);
#undef LOAD
}
