/* SPDX-License-Identifier: MIT */
/*
 * Opening a session: a channel (from the backend, or a new connection),
 * HELLO with a fresh nonce, and the WELCOME that echoes it. Everything the
 * channel holds before that WELCOME is left over from an earlier session
 * on the same ring and is dropped. A channel that breaks on the way is
 * retried, with backoff, until the client's timeout: then "host gone".
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Send HELLO {version, nonce}; a ring still full of an earlier session's
 * requests gets until @deadline to drain. */
static int send_hello(struct vamos_chan *ch, uint64_t nonce, int64_t deadline)
{
	struct vamos_hello hello = {
		.version = htole32(VAMOS_PROTOCOL_VERSION),
		.flags = 0,
		.nonce = htole64(nonce),
	};
	int rc;
	while ((rc = vamos_chan_send(ch, VAMOS_MSG_HELLO, &hello, sizeof hello)) == -EAGAIN) {
		if ((rc = vamos_chan_flush(ch)) || client_left_ms(deadline) == 0)
			return rc ? rc : -ETIMEDOUT;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return rc ? rc : vamos_chan_flush(ch);
}

/* Look through one batch for our WELCOME. 1 found (copied to @w), 0 not. */
static int find_welcome(struct vamos_session *s, const struct vamos_record *recs, int n,
			uint64_t nonce, struct vamos_welcome *w)
{
	int found = 0;
	for (int i = 0; i < n; i++) {
		struct vamos_welcome cand;
		/* Only a whole WELCOME can carry our nonce; anything else here
		 * belongs to an earlier session (or is noise) and is dropped. */
		if (found || recs[i].type != VAMOS_MSG_WELCOME || recs[i].len < sizeof cand) {
			s->dropped++;
			continue;
		}
		/* One copy, then checks on the copy: the host cannot change
		 * what we checked. */
		memcpy(&cand, recs[i].data, sizeof cand);
		/* Our nonce: this session's WELCOME, not an earlier one's. */
		if (le64toh(cand.nonce) != nonce) {
			s->dropped++;
			continue;
		}
		*w = cand;
		found = 1;
	}
	return found;
}

/* HELLO, then wait for the matching WELCOME until @deadline. */
static int handshake(struct vamos_session *s, struct vamos_chan *ch, struct shm_backend *be,
		     int64_t deadline, const char **why)
{
	static __thread char msg[128];
	uint64_t nonce = client_random64();
	struct vamos_welcome w = { 0 };
	int rc = send_hello(ch, nonce, deadline);
	if (rc) {
		*why = vamos_chan_error(ch) ? vamos_chan_error(ch) : "cannot send HELLO";
		return rc == -EPROTO ? rc : -ECONNRESET;
	}
	for (;;) {
		struct vamos_record recs[32];
		int n = vamos_chan_poll(ch, recs, 32);
		if (n < 0) {
			*why = vamos_chan_error(ch) ? vamos_chan_error(ch) : "channel failed";
			return n == -EPROTO ? n : -ECONNRESET;
		}
		int found = find_welcome(s, recs, n, nonce, &w);
		vamos_chan_release(ch);
		if (found)
			break;
		int left = client_left_ms(deadline);
		if (left == 0) {
			*why = "no WELCOME from the host in time";
			return -ETIMEDOUT;
		}
		rc = vamos_chan_wait(ch, left < CLIENT_SLICE_MS ? left : CLIENT_SLICE_MS);
		if (rc == -ETIMEDOUT)
			backend_check(be); /* a host that died without a word */
	}
	/* The host must speak our protocol version. */
	if (le32toh(w.version) != VAMOS_PROTOCOL_VERSION) {
		snprintf(msg, sizeof msg, "host speaks protocol version %" PRIu32 ", we speak %u",
			 le32toh(w.version), VAMOS_PROTOCOL_VERSION);
		*why = msg;
		return -EPROTO;
	}
	uint64_t boot = le64toh(w.boot_id);
	if (s->opens && boot != s->boot_id)
		session_set_error(s, "host restarted: new boot id %016" PRIx64 " (was %016" PRIx64
			  "); requests in flight before were failed, none sent again",
			  boot, s->boot_id);
	s->boot_id = boot;
	s->host_channel = le32toh(w.channel);
	uint32_t room = vamos_chan_max_payload(ch);
	room = room > sizeof(struct vamos_request_header)
		       ? room - (uint32_t)sizeof(struct vamos_request_header) : 0;
	uint32_t host_max = le32toh(w.max_request);
	/* 0 means the host sets no limit of its own. */
	s->max_request = host_max && host_max < room ? host_max : room;
	s->next_id = client_random64();
	s->opens++;
	return 0;
}

int session_ensure_open(struct vamos_session *s)
{
	struct vamos_client *c = s->client;
	bool shm = c->cfg.kind == VAMOS_TRANSPORT_LOCAL || c->cfg.kind == VAMOS_TRANSPORT_IVSHMEM;

	if (s->ch)
		return 0;
	int64_t deadline = client_deadline(c->cfg.timeout_ms);
	const char *why = NULL;
	int rc, step = 0;
	for (;;) {
		struct shm_backend *be = NULL;
		struct vamos_chan *ch = NULL;
		if (shm) {
			rc = backend_acquire(c, deadline, &be, &why);
			if (rc == 0 && (rc = backend_channel(be, s->index, &ch))) {
				static __thread char msg[96];
				if (rc == -EINVAL) {
					snprintf(msg, sizeof msg,
						 "the host's region has only %u channels now",
						 be->channel_count);
					rc = -EPROTO;
				} else {
					snprintf(msg, sizeof msg, "cannot open channel %u (%s)",
						 s->index, strerror(-rc));
				}
				why = msg;
			}
		} else {
			rc = stream_connect(&c->cfg, deadline, &ch, &why);
		}
		if (rc == 0) {
			/* Shared memory: the session's poll budget from the
			 * first wait on (io.c adapts it before each). */
			if (be)
				vamos_chan_set_spin(ch, s->spin.budget_ns);
			rc = handshake(s, ch, be, deadline, &why);
		}
		if (rc == 0) {
			s->ch = ch;
			s->be = be;
			if (!be)
				client_set_error(c, NULL); /* streams: back again */
			return 0;
		}
		vamos_chan_close(ch);
		if (be && rc == -ECONNRESET)
			atomic_store_explicit(&be->dead, true, memory_order_release);
		backend_put(be);
		if (rc != -ECONNRESET || client_left_ms(deadline) == 0)
			break;
		client_backoff(&step, deadline);
	}
	if (rc == -ETIMEDOUT || rc == -ECONNRESET) {
		session_set_error(s, "host gone: %s", why ? why : "no answer");
		client_set_error(c, "host gone: vamosd did not answer in time");
		return -ECONNREFUSED;
	}
	if (rc == -ECONNREFUSED)
		client_set_error(c, "host gone: vamosd did not come back in time");
	session_set_error(s, "%s%s", rc == -EPROTO ? "channel broken: " : "",
			  why ? why : "cannot open the session");
	return rc;
}
