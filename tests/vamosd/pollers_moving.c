/* SPDX-License-Identifier: MIT */
/*
 * A session moved between the host's pollers (pollers_move) while its
 * blocking requests are in flight and its reply ring is full: every reply
 * arrives once, in the order the pool made them, and only the poller that
 * owns the session writes into its ring (a scenario of pollers_scenarios.h).
 *
 * Driven step by step, never by time: a blocking service holds each
 * request until the test lets it go, one pool thread runs them in turn
 * (so request k's reply is posted before request k+1 starts), and the
 * stand-in's ring stays full until every move is done.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "../../host-server/heartbeat.h"
#include "../../host-server/pollers.h"
#include "../../host-server/service.h"
#include "pollers_scenarios.h"
#include "pool_rig.h"

enum { HELD = 60, ECHOES = 5, SERVICE_HOLD = 0x7e01 };

static int hold(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx, (void)rep;
	pool_rig_gate(req->id);
	return 0;
}

static void await_in_flight(struct session *s, uint64_t n)
{
	while (atomic_load_explicit(&s->counters.in_flight, memory_order_relaxed) != n)
		usleep(200);
}

/* Every reply of @f: ids 0.. in order, each once, each written by the
 * thread of poller @owner. */
static const char *check_replies(struct standin_chan *f, unsigned n, pthread_t owner)
{
	if (atomic_load_explicit(&f->replies, memory_order_acquire) != n)
		return "more or fewer replies than requests";
	for (unsigned i = 0; i < n; i++) {
		if (f->reply_id[i] != i)
			return "a reply lost, repeated or out of order";
		if (!pthread_equal(f->reply_by[i], owner))
			return "a reply written by a poller that no longer owns the session";
	}
	return NULL;
}

const char *scenario_a_move_keeps_every_reply_once_and_in_order(void)
{
	static struct pool_rig rig;
	static const struct service held = { .id = SERVICE_HOLD, .name = "hold",
					     .may_block = true, .handle = hold };
	const char *err = pool_rig_open(&rig, "moving", &held, 2, 1024);
	if (err)
		return err;
	struct pollers *ps = &rig.ps;
	struct standin_chan *f = rig.f;
	struct session *s = rig.s;
	unsigned placed = 0;
	/* A heartbeat with no region (nothing beaten): which pollers it names. */
	static struct heartbeat hb;
	atomic_store_explicit(&hb.pollers, 1, memory_order_relaxed);
	s->beat = &hb;
	s->placed = &placed;
	pollers_add(&ps->all[0], &s, 1);

	/* Every request on the pool, held; the ring full from now on. */
	atomic_store(&f->full, true);
	if (standin_queue(f, HELD, SERVICE_HOLD, 0, 8))
		err = "cannot queue";
	await_in_flight(s, HELD);
	/* A third posted on poller 0, its ring full: they wait there. */
	pool_rig_permit(HELD / 3);
	pool_rig_await_entered(HELD / 3);
	if (!err && pollers_move(ps, 0, 1, &s, 1))
		err = "the first move failed";
	if (!err && placed != 1)
		err = "the move did not say where the session went";
	/* Another third posted after the move, on poller 1; then back. */
	pool_rig_permit(2 * HELD / 3);
	pool_rig_await_entered(2 * HELD / 3);
	if (!err && pollers_move(ps, 1, 0, &s, 1))
		err = "the second move failed";
	/* One more on the pool during the move's hand-off, the rest after. */
	pool_rig_permit(2 * HELD / 3 + 1);
	if (!err && pollers_move(ps, 0, 1, &s, 1))
		err = "the third move failed";
	pool_rig_permit(HELD);
	if (!err && atomic_load(&f->replies))
		err = "a reply went into a full ring";
	/* Room again: poller 1 writes them all, then serves new requests. */
	atomic_store(&f->full, false);
	standin_await_replies(f, HELD);
	if (!err && standin_queue(f, ECHOES, VAMOS_SERVICE_ECHO, 0, 8))
		err = "cannot queue";
	standin_await_replies(f, HELD + ECHOES);
	if (!err)
		err = check_replies(f, HELD + ECHOES, ps->all[1].thread);
	if (!err && placed != 1)
		err = "the session's place is wrong";
	if (!err && atomic_load_explicit(&hb.pollers, memory_order_relaxed) != 2)
		err = "its VM's heartbeat does not name poller 1 alone";
	if (!err && ps->moves != 3)
		err = "the pollers did not count three moves";

	pool_rig_close(&rig, 1);
	return err;
}
