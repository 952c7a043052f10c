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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../host-server/blocking.h"
#include "../../host-server/pollers.h"
#include "../../host-server/service.h"
#include "pollers_scenarios.h"
#include "standin_chan.h"

enum { SERVICE_SIZED = 0x7e02, BIG = 2048, SMALL = 8, ROOM = 1024 };

/* Request k runs once permits > k; entered: the last that started. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint64_t permits;
static int64_t entered;

/* Op 1: a reply too big for the narrowed ring; op 0: a small one. */
static int sized(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx;
	pthread_mutex_lock(&lock);
	entered = (int64_t)req->id;
	pthread_cond_broadcast(&cond);
	while (permits <= req->id)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	static const unsigned char bytes[BIG];
	return reply_send(rep, 0, bytes, req->op == 1 ? BIG : SMALL);
}

static void permit(uint64_t n)
{
	pthread_mutex_lock(&lock);
	permits = n;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* Wait until request @id started: with one pool thread, the replies of
 * those before it have been posted. */
static void await_entered(int64_t id)
{
	pthread_mutex_lock(&lock);
	while (entered < id)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void await_refused(struct standin_chan *f, unsigned n)
{
	while (atomic_load(&f->refused) < n)
		usleep(200);
}

const char *scenario_a_reply_that_fits_waits_behind_one_that_does_not(void)
{
	static struct pollers ps;
	static const struct service svc = { .id = SERVICE_SIZED, .name = "sized",
					    .may_block = true, .handle = sized };
	struct blocking_limits lim = { .max_queued = 64, .max_queued_bytes = 1u << 20 };
	const char *err = NULL;
	permits = 0;
	entered = -1;
	if (services_register_builtin() || services_register(&svc) || blocking_start(1))
		return "cannot start the services";
	struct blocking_queue *q = blocking_queue_new("order", &lim);
	struct standin_chan *f = standin_new(0, true);
	struct session *s = f ? session_new(&f->chan, 1, "order", 0) : NULL;
	if (!q || !s || pollers_start(&ps, 1, 50000, 1)) {
		blocking_stop();
		services_shutdown();
		return "cannot start";
	}
	session_assume_welcomed(s);
	s->inbox = &ps.all[0].inbox;
	s->queue = q;
	pollers_add(&ps.all[0], &s, 1);

	/* Request 0 answers big, 1 small, 2 small and stays held. */
	atomic_store(&f->room, ROOM);
	if (standin_queue(f, 1, SERVICE_SIZED, 1, 8) || standin_queue(f, 1, SERVICE_SIZED, 0, 8) ||
	    standin_queue(f, 1, SERVICE_SIZED, 0, 8))
		err = "cannot queue";
	permit(2);
	await_entered(2); /* replies 0 and 1 are in the poller's inbox */
	/* The second refusal from now comes from a drain that began after
	 * the first, so after reply 1 was posted: that drain had both. */
	unsigned seen = atomic_load(&f->refused);
	await_refused(f, seen + 2);
	if (!err && atomic_load_explicit(&f->replies, memory_order_acquire) != 0)
		err = "a small reply overtook the big one before it that did not fit";
	/* Room for all: they leave in order, and the next one after them. */
	atomic_store(&f->room, 0);
	permit(3);
	standin_await_replies(f, 3);
	for (unsigned i = 0; !err && i < 3; i++)
		if (f->reply_id[i] != i)
			err = "the replies left out of order";

	pollers_stop(&ps);
	pollers_remove(&ps.all[0], &s, 1);
	blocking_forget_removed(q);
	pollers_destroy(&ps);
	blocking_stop();
	services_shutdown();
	session_unref(s);
	standin_free(f);
	return err;
}
