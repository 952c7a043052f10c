/* SPDX-License-Identifier: MIT */
/*
 * The one monotonic clock of libvamos's sources (internal, not installed):
 * timeouts, deadlines, heartbeats and spins all read CLOCK_MONOTONIC, which
 * never jumps with the wall clock.
 */
#ifndef VAMOS_CLOCK_H
#define VAMOS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t vamos_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static inline int64_t vamos_now_ms(void)
{
	return vamos_now_ns() / 1000000;
}

static inline double vamos_now_s(void)
{
	return (double)vamos_now_ns() / 1e9;
}

/* The CLOCK_MONOTONIC time @ms from now, for a condition variable whose
 * clock is CLOCK_MONOTONIC (pthread_condattr_setclock). */
static inline struct timespec vamos_monotonic_in(int64_t ms)
{
	int64_t at = vamos_now_ns() + ms * 1000000;
	struct timespec ts = { .tv_sec = at / 1000000000ll, .tv_nsec = at % 1000000000ll };
	return ts;
}

#endif
