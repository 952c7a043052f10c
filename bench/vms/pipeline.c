/* SPDX-License-Identifier: MIT */
/*
 * A busy VM whose ring stays full: it submits until PIPELINE_WINDOW
 * requests are outstanding (or the ring has no room), flushes, and takes
 * whatever replies came, so vamosd always has its records waiting and its
 * turns, not the caller's thread, decide how many this VM gets answered.
 * A caller that finds no reply naps NAP_US instead of spinning or waiting
 * in the client (which spins first): the callers share the cores with
 * vamosd, and a spinning caller would keep the others from refilling.
 * A nap is far shorter than the window takes to drain, so the ring stays
 * full.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <time.h>

#include "busy.h"
#include "pin.h"

/* Submit times by id: ids of one session are consecutive, so the low bits
 * of an outstanding one are unique within the window. */
#define SLOTS 1024u
_Static_assert(SLOTS >= PIPELINE_WINDOW && !(SLOTS & (SLOTS - 1)), "slots cover the window");
#define NAP_US 20

static int fill(struct vamos_session *s, unsigned *outstanding, int64_t *sent_at)
{
	static const unsigned char payload[BUSY_PAYLOAD];
	bool sent = false;
	while (*outstanding < PIPELINE_WINDOW) {
		uint64_t id;
		int rc = vamos_session_submit(s, VAMOS_SERVICE_ECHO, 0, payload, sizeof payload,
					      &id);
		if (rc == -EAGAIN)
			break; /* the ring is full: that is the point */
		if (rc)
			return rc;
		sent_at[id & (SLOTS - 1)] = now_ns();
		(*outstanding)++;
		sent = true;
	}
	return sent ? vamos_session_flush(s) : 0;
}

/* Take every reply there is (waiting up to @timeout_ms for the first;
 * with 0, napping if there is none); count and time those answered before
 * @c->end when @counting. Every request answered means vamosd had emptied
 * the ring: this caller was late, and may have missed turns. */
static int take(struct caller *c, struct vamos_session *s, unsigned *outstanding,
		const int64_t *sent_at, int timeout_ms, bool counting)
{
	struct vamos_completion done[64];
	/* One call hands out at most one batch of the reply ring: call again,
	 * without waiting, until there is nothing more. */
	for (int wait = timeout_ms, calls = 0;; wait = 0, calls++) {
		int k = vamos_session_complete(s, done, 64, wait);
		if (k == -ETIMEDOUT && !wait) {
			if (!calls)
				nanosleep(&(struct timespec){ 0, NAP_US * 1000 }, NULL);
			break;
		}
		if (k < 0)
			return k;
		if (k == 0)
			break; /* nothing outstanding */
		int64_t t = now_ns();
		for (int i = 0; i < k; i++) {
			if (done[i].status < 0)
				return done[i].status;
			if (counting && t < c->end) {
				if (c->nsamples < c->cap)
					c->samples[c->nsamples++] =
						t - sent_at[done[i].id & (SLOTS - 1)];
				c->requests++;
			}
		}
		*outstanding -= (unsigned)k;
	}
	if (counting && !*outstanding && now_ns() < c->end)
		c->ran_dry++;
	return 0;
}

void *pipeline_loop(void *arg)
{
	struct caller *c = arg;
	pin_caller(true);
	/* Naps of NAP_US, not NAP_US plus the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	struct vamos_session *s = vamos_session_get(c->client);
	int64_t sent_at[SLOTS];
	unsigned outstanding = 0;
	int rc = s ? 0 : -ENOTCONN;
	while (!rc && now_ns() < c->end) {
		rc = fill(s, &outstanding, sent_at);
		if (!rc)
			rc = take(c, s, &outstanding, sent_at, 0, true);
	}
	/* What is still out is answered, not counted: the session stays
	 * clean for the next run. */
	while (!rc && outstanding)
		rc = take(c, s, &outstanding, sent_at, 10000, false);
	c->err = rc;
	return NULL;
}
