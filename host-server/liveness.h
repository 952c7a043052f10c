/* SPDX-License-Identifier: MIT */
/*
 * Liveness: each VM's heartbeat in its region header (vamos_region_beat)
 * advances every LIVENESS_BEAT_MS while a peer is attached (at least once
 * a second when idle: a sleeping poller wakes that often), written by the
 * host's pollers that serve its sessions (heartbeat.h), and only while the
 * liveness thread finds every one of those pollers moving. A poller that
 * is awake (it has work, or spins) but has not begun a loop for
 * LIVENESS_STUCK_MS counts as stuck (a deadlock, a hung disk under a
 * read): the thread then stops the heartbeat of every VM that poller
 * serves and logs which poller, so their guests fail their calls with
 * -EHOSTDOWN instead of waiting out their timeouts; VMs served only by
 * other pollers beat on. A stopped or frozen vamosd (SIGSTOP, every
 * thread stuck) stops beating by itself.
 */
#ifndef VAMOSD_LIVENESS_H
#define VAMOSD_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

#include "heartbeat.h"
#include "poller.h"

#define LIVENESS_STUCK_MS 2000

/* One poller as the liveness thread saw it last. */
struct liveness_progress {
	unsigned long loops; /* loops it had begun */
	int64_t moved_ms;    /* when that count last changed, or it was idle */
};

/* Whether a poller that has begun @loops loops and is @idle (asleep in
 * epoll, or exited) at @now_ms is stuck: awake with the same count for
 * LIVENESS_STUCK_MS since @p last saw it move. Updates @p. */
bool liveness_stuck(struct liveness_progress *p, unsigned long loops, bool idle,
		    int64_t now_ms);

/* Start the thread (once). 0 or -errno. */
int liveness_start(void);

/* Main thread: judge the host's @n pollers from now on (started), or
 * none (@n 0: before they are destroyed; returns when the thread no
 * longer touches them). */
void liveness_watch_pollers(struct poller *pollers, unsigned n);

/* Main thread: decide @hb's ok from now on, by the pollers it names. One
 * already watched is watched afresh. */
void liveness_watch(struct heartbeat *hb);

/* Main thread: stop deciding @hb (before it goes). Returns when the
 * thread no longer touches it. */
void liveness_forget(struct heartbeat *hb);

/* Stop and join the thread. */
void liveness_stop(void);

#endif
