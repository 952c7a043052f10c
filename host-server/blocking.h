/* SPDX-License-Identifier: MIT */
/*
 * The blocking pool: services that may block (a lock, the disk) run here,
 * never on a poller, so one slow request cannot stall the other channels
 * of its VM. Each finished request's reply is buffered and posted back to the
 * poller that owns its session (reply.h); the poller writes it into the
 * ring.
 *
 * Fairness and limits: work waits in one queue per owner (a VM, or all
 * stream sessions together). Idle threads take from the queues in turn
 * (round robin), an owner never runs more than half the threads (rounded
 * up) at once, and each queue holds at most its limits of requests and
 * copied bytes: past them the request waits in its guest's ring. The
 * limits hold for the owner across its sessions, and a session that ended
 * has its waiting requests dropped, never run.
 */
#ifndef VAMOSD_BLOCKING_H
#define VAMOSD_BLOCKING_H

#include <stdint.h>

#include "service.h"
#include "session.h"

struct blocking_limits {
	uint32_t max_queued;       /* requests waiting */
	uint64_t max_queued_bytes; /* their copied bytes */
};

/* What `vamosctl stats` shows of a queue. */
struct blocking_queue_stats {
	uint64_t queued, queued_bytes, running, dropped, max_queued_bytes;
};

struct blocking_queue;

int blocking_start(unsigned threads);
/* Drop what waits (it is never run), let the running requests finish,
 * stop the threads and free every queue. */
void blocking_stop(void);

/* A queue for one owner, living until blocking_stop(); NULL if out of
 * memory or too many. */
struct blocking_queue *blocking_queue_new(const char *name, const struct blocking_limits *lim);
struct blocking_queue_stats blocking_queue_stats(const struct blocking_queue *q);

/* Copy @req and queue it for @svc on s->queue; a reference on @s is taken.
 * 0, -EAGAIN (the queue is at its limits: try again later), -ENOMEM. */
int blocking_submit(struct session *s, const struct service *svc,
		    const struct service_request *req);

/*
 * After sessions were taken off their pollers (marked removed): drop and
 * free what they still have waiting on @q (NULL: none); it is never run.
 * (What is already running posts its reply, which reply_post() drops.)
 */
void blocking_forget_removed(struct blocking_queue *q);

#endif
