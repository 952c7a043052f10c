/* SPDX-License-Identifier: MIT */
/*
 * Liveness: one thread advances each VM's heartbeat in its region header
 * (vamos_region_beat) every LIVENESS_BEAT_MS while that VM's pollers make
 * progress. A poller that is awake (it has work, or spins) but has not
 * begun a loop for LIVENESS_STUCK_MS counts as stuck (a deadlock, a hung
 * disk under a read): the VM's heartbeat then stands still and the log
 * says which poller, so its guests fail their calls with -EHOSTDOWN
 * instead of waiting out their timeouts. A stopped or frozen vamosd
 * (SIGSTOP, every thread stuck) stops beating by itself.
 */
#ifndef VAMOSD_LIVENESS_H
#define VAMOSD_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

#define LIVENESS_BEAT_MS 200
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

/* Main thread: beat @vm's region from now on (its server and pollers are
 * up). A VM already watched is watched afresh. */
void liveness_watch(struct vm *vm);

/* Main thread: stop beating @vm (before its pollers are freed or its
 * server stopped or handed over). Returns when the thread no longer
 * touches it. */
void liveness_forget(struct vm *vm);

/* Stop and join the thread. */
void liveness_stop(void);

#endif
