/* SPDX-License-Identifier: MIT */
/* bench-echo's shared pieces: results and latency samples. */
#ifndef VAMOS_BENCH_ECHO_H
#define VAMOS_BENCH_ECHO_H

#include <stdint.h>
#include <time.h>

#define ECHO_MAX_SAMPLES (1u << 20)

struct echo_result {
	uint64_t requests;
	double seconds;
	uint64_t notifications;  /* doorbells + interrupts, or write calls */
	int64_t *samples;        /* round trips in ns, up to ECHO_MAX_SAMPLES */
	uint64_t nsamples;
};

static inline int64_t echo_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Append @n samples (thread-safe). */
void echo_add_samples(struct echo_result *r, const int64_t *s, unsigned n);

#endif
