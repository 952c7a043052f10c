/* SPDX-License-Identifier: MIT */
/* The heartbeat thread: see liveness.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "liveness.h"
#include "log.h"
#include "vamos_clock.h"

#define MAX_POLLERS 1024

struct watched {
	struct vm *vm;              /* NULL: free slot */
	unsigned pollers;
	struct liveness_progress seen[MAX_POLLERS];
	bool stuck;                 /* logged as stuck, not beating */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct watched watched[CONFIG_MAX_VMS];
static pthread_t thread;
static bool running, stopping;

bool liveness_stuck(struct liveness_progress *p, unsigned long loops, bool idle,
		    int64_t now_ms)
{
	if (loops != p->loops || idle) {
		p->loops = loops;
		p->moved_ms = now_ms;
		return false;
	}
	return now_ms - p->moved_ms >= LIVENESS_STUCK_MS;
}

/* The first poller of @w that is stuck, or -1. Lock held (the pollers
 * array is the VM's until liveness_forget). */
static int stuck_poller(struct watched *w, int64_t now)
{
	int stuck = -1;
	for (unsigned k = 0; k < w->pollers; k++) {
		struct poller *p = &w->vm->pollers[k];
		/* Relaxed: progress counters, they order nothing. */
		unsigned long loops = atomic_load_explicit(&p->loops, memory_order_relaxed);
		bool idle = atomic_load_explicit(&p->in_sleep, memory_order_relaxed) ||
			    atomic_load_explicit(&p->exited, memory_order_relaxed);
		if (liveness_stuck(&w->seen[k], loops, idle, now) && stuck < 0)
			stuck = (int)k;
	}
	return stuck;
}

static void round_of_beats(void)
{
	int64_t now = vamos_now_ms();
	for (unsigned i = 0; i < CONFIG_MAX_VMS; i++) {
		struct watched *w = &watched[i];
		if (!w->vm)
			continue;
		int k = stuck_poller(w, now);
		if (k >= 0 && !w->stuck)
			log_error("vm %s: poller %s has work and has not looped for %d ms: "
				  "its heartbeat stops, guests will fail their calls",
				  w->vm->cfg.name, w->vm->pollers[k].name, LIVENESS_STUCK_MS);
		else if (k < 0 && w->stuck)
			log_warn("vm %s: its pollers move again: heartbeat resumed",
				 w->vm->cfg.name);
		w->stuck = k >= 0;
		/* Relaxed: a verdict the pollers read, it orders nothing. The
		 * pollers write the heartbeat themselves: only threads that
		 * serve the region touch its memory, so a shrunk file remapped
		 * under one of them never races a beat from here. */
		for (unsigned j = 0; j < w->pollers; j++)
			atomic_store_explicit(&w->vm->pollers[j].beat_ok, !w->stuck,
					      memory_order_relaxed);
	}
}

static void *loop(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		round_of_beats();
		struct timespec until = vamos_monotonic_in(LIVENESS_BEAT_MS);
		while (!stopping && pthread_cond_timedwait(&cond, &lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int liveness_start(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_destroy(&cond);
	pthread_cond_init(&cond, &a);
	pthread_condattr_destroy(&a);
	stopping = false;
	int rc = pthread_create(&thread, NULL, loop, NULL);
	running = rc == 0;
	return -rc;
}

void liveness_watch(struct vm *vm)
{
	pthread_mutex_lock(&lock);
	struct watched *w = NULL;
	for (unsigned i = 0; i < CONFIG_MAX_VMS && !w; i++)
		if (watched[i].vm == vm)
			w = &watched[i];
	for (unsigned i = 0; i < CONFIG_MAX_VMS && !w; i++)
		if (!watched[i].vm)
			w = &watched[i];
	if (w) {
		memset(w, 0, sizeof *w);
		w->vm = vm;
		w->pollers = vm->poller_count < MAX_POLLERS ? vm->poller_count : MAX_POLLERS;
		int64_t now = vamos_now_ms();
		for (unsigned k = 0; k < w->pollers; k++)
			w->seen[k].moved_ms = now;
	}
	pthread_mutex_unlock(&lock);
}

void liveness_forget(struct vm *vm)
{
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < CONFIG_MAX_VMS; i++)
		if (watched[i].vm == vm)
			watched[i].vm = NULL;
	pthread_mutex_unlock(&lock);
}

void liveness_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = false;
}
