/* SPDX-License-Identifier: MIT */
/*
 * A session's buffered replies leave in the order the blocking pool made
 * them, even when a later one would fit the reply ring where an earlier
 * one does not (a scenario of pollers_scenarios.h).
 *
 * Driven step by step, never by time: one pool thread runs the requests in
 * turn, each held until the test lets it go; the stand-in's ring has room
 * for small replies only until the test widens it, and counts the reserves
 * it refused, which tells when the poller has tried again.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

#include "pollers_scenarios.h"
#include "pool_rig.h"

enum { SERVICE_SIZED = 0x7e02, BIG = 2048, SMALL = 8, ROOM = 1024 };

/* Op 1: a reply too big for the narrowed ring; op 0: a small one. */
static int sized(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx;
	pool_rig_gate(req->id);
	static const unsigned char bytes[BIG];
	return reply_send(rep, 0, bytes, req->op == 1 ? BIG : SMALL);
}

static void await_refused(struct standin_chan *f, unsigned n)
{
	while (atomic_load(&f->refused) < n)
		usleep(200);
}

const char *scenario_a_reply_that_fits_waits_behind_one_that_does_not(void)
{
	static struct pool_rig rig;
	static const struct service svc = { .id = SERVICE_SIZED, .name = "sized",
					    .may_block = true, .handle = sized };
	const char *err = pool_rig_open(&rig, "order", &svc, 1, 64);
	if (err)
		return err;
	struct standin_chan *f = rig.f;
	pollers_add(&rig.ps.all[0], &rig.s, 1);

	/* Request 0 answers big, 1 small, 2 small and stays held. */
	atomic_store(&f->room, ROOM);
	if (standin_queue(f, 1, SERVICE_SIZED, 1, 8) || standin_queue(f, 1, SERVICE_SIZED, 0, 8) ||
	    standin_queue(f, 1, SERVICE_SIZED, 0, 8))
		err = "cannot queue";
	pool_rig_permit(2);
	pool_rig_await_entered(2); /* replies 0 and 1 are in the poller's inbox */
	/* The second refusal from now comes from a drain that began after
	 * the first, so after reply 1 was posted: that drain had both. */
	unsigned seen = atomic_load(&f->refused);
	await_refused(f, seen + 2);
	if (!err && atomic_load_explicit(&f->replies, memory_order_acquire) != 0)
		err = "a small reply overtook the big one before it that did not fit";
	/* Room for all: they leave in order, and the next one after them. */
	atomic_store(&f->room, 0);
	pool_rig_permit(3);
	standin_await_replies(f, 3);
	for (unsigned i = 0; !err && i < 3; i++)
		if (f->reply_id[i] != i)
			err = "the replies left out of order";

	pool_rig_close(&rig, 0);
	return err;
}
