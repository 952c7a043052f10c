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

#define MAX_POLLERS CONFIG_MAX_POLLERS

struct watched {
	struct heartbeat *hb;       /* NULL: free slot */
	bool stuck;                 /* logged as stuck, not beating */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
/* All below under the lock. */
static struct watched watched[CONFIG_MAX_VMS];
static struct poller *pollers;  /* the host's, while watched */
static unsigned poller_count;
static struct liveness_progress seen[MAX_POLLERS];
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

/* Judge every poller once: @stuck[k] says whether poller k is stuck. */
static void judge_pollers(bool *stuck, int64_t now)
{
	for (unsigned k = 0; k < poller_count; k++) {
		struct poller *p = &pollers[k];
		/* Relaxed: progress counters, they order nothing. */
		unsigned long loops = atomic_load_explicit(&p->loops, memory_order_relaxed);
		bool idle = atomic_load_explicit(&p->in_sleep, memory_order_relaxed) ||
			    atomic_load_explicit(&p->exited, memory_order_relaxed);
		stuck[k] = liveness_stuck(&seen[k], loops, idle, now);
	}
}

/* The first poller serving @hb that is stuck, or -1. */
static int stuck_poller(const struct heartbeat *hb, const bool *stuck)
{
	/* Relaxed: see heartbeat.h. */
	uint64_t serving = atomic_load_explicit(&hb->pollers, memory_order_relaxed);
	for (unsigned k = 0; k < poller_count; k++)
		if ((serving >> k & 1) && stuck[k])
			return (int)k;
	return -1;
}

static void round_of_beats(void)
{
	bool stuck[MAX_POLLERS];
	judge_pollers(stuck, vamos_now_ms());
	for (unsigned i = 0; i < CONFIG_MAX_VMS; i++) {
		struct watched *w = &watched[i];
		if (!w->hb)
			continue;
		int k = stuck_poller(w->hb, stuck);
		if (k >= 0 && !w->stuck)
			log_error("vm %s: %s has work and has not looped for %d ms: "
				  "its heartbeat stops, guests will fail their calls",
				  w->hb->name, pollers[k].name, LIVENESS_STUCK_MS);
		else if (k < 0 && w->stuck)
			log_warn("vm %s: its pollers move again: heartbeat resumed", w->hb->name);
		w->stuck = k >= 0;
		/* Relaxed: a verdict the pollers read, it orders nothing. The
		 * pollers write the heartbeat themselves: only threads that
		 * serve the region touch its memory, so a shrunk file remapped
		 * under one of them never races a beat from here. */
		atomic_store_explicit(&w->hb->ok, !w->stuck, memory_order_relaxed);
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

void liveness_watch_pollers(struct poller *all, unsigned n)
{
	pthread_mutex_lock(&lock);
	pollers = n ? all : NULL;
	poller_count = n < MAX_POLLERS ? n : MAX_POLLERS;
	int64_t now = vamos_now_ms();
	for (unsigned k = 0; k < poller_count; k++)
		seen[k] = (struct liveness_progress){ .moved_ms = now };
	pthread_mutex_unlock(&lock);
}

void liveness_watch(struct heartbeat *hb)
{
	pthread_mutex_lock(&lock);
	struct watched *w = NULL;
	for (unsigned i = 0; i < CONFIG_MAX_VMS && !w; i++)
		if (watched[i].hb == hb)
			w = &watched[i];
	for (unsigned i = 0; i < CONFIG_MAX_VMS && !w; i++)
		if (!watched[i].hb)
			w = &watched[i];
	if (w)
		*w = (struct watched){ .hb = hb };
	pthread_mutex_unlock(&lock);
}

void liveness_forget(struct heartbeat *hb)
{
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < CONFIG_MAX_VMS; i++)
		if (watched[i].hb == hb)
			watched[i].hb = NULL;
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
