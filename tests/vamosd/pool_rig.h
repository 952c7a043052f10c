/* SPDX-License-Identifier: MIT */
/*
 * A rig for in-process poller scenarios about buffered replies: one
 * session on a stand-in channel, served by the host's pollers, its
 * requests run by a one-thread blocking pool, so request k's reply is
 * posted before request k+1 starts. A service that calls pool_rig_gate()
 * holds each request until the test permits it, which drives a scenario
 * step by step, never by time. One rig at a time.
 */
#ifndef VAMOS_TEST_POOL_RIG_H
#define VAMOS_TEST_POOL_RIG_H

#include <stdint.h>

#include "../../host-server/blocking.h"
#include "../../host-server/pollers.h"
#include "../../host-server/service.h"
#include "standin_chan.h"

struct pool_rig {
	struct pollers ps;
	struct blocking_queue *q;
	struct standin_chan *f;
	struct session *s;
};

/* Start @npollers pollers, the built-in services and @svc, a one-thread
 * pool, and one session named @name served by poller 0, its queue taking
 * up to @max_queued requests. NULL, or what could not start. */
const char *pool_rig_open(struct pool_rig *r, const char *name, const struct service *svc,
			  unsigned npollers, unsigned max_queued);

/* Stop the pollers, take the session off poller @serving (where it is
 * now), and let everything go. */
void pool_rig_close(struct pool_rig *r, unsigned serving);

/* In a service: note that request @id started, then wait until the test
 * permits it. */
void pool_rig_gate(uint64_t id);
/* Let requests with ids below @n run. */
void pool_rig_permit(uint64_t n);
/* Wait until request @id started: with one pool thread, the replies of
 * those before it have been posted. */
void pool_rig_await_entered(int64_t id);

#endif
