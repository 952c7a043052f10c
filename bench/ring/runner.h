/* SPDX-License-Identifier: MIT */
/* bench-ring: running one case and measuring it. */
#ifndef BENCH_RING_RUNNER_H
#define BENCH_RING_RUNNER_H

#include <stdint.h>

#include "bench.h"

struct bench_options {
	double seconds;      /* measured window per case */
	double warmup;       /* run this long before the window opens */
	uint32_t ring_bytes; /* byte budget of every queue */
	int producer_cpu;    /* -1: unpinned */
	int consumer_cpu;
};

struct bench_result {
	uint64_t msgs;            /* messages received inside the window */
	double secs;              /* the window's length */
	double msgs_per_sec;
	double gbytes_per_sec;    /* msgs_per_sec * payload / 1e9 */
	double doorbells_per_msg; /* NaN unless the impl counts doorbells */
};

/**
 * Set up @impl for (@payload, @batch), run producer and consumer for
 * opt->warmup + opt->seconds, stop them, check that every message arrived
 * in order, tear down. Returns 0, or -1 if setup failed (already reported).
 * Any broken delivery aborts the process.
 */
int bench_run_case(const struct bench_impl *impl, uint32_t payload,
		   uint32_t batch, const struct bench_options *opt,
		   struct bench_result *out);

/**
 * Set up @impl for (@payload, @batch) and run its lockstep mode for @rounds
 * batches in this thread, inside bench_lockstep_measured(), the function
 * callgrind is told to count (--toggle-collect). Returns 0, 1 if the impl
 * has no lockstep mode, -1 if setup failed (already reported).
 */
int bench_lockstep_case(const struct bench_impl *impl, uint32_t payload,
			uint32_t batch, uint32_t ring_bytes, uint64_t rounds);

/** The counted part of a lockstep run: only the impl's lockstep(). */
void bench_lockstep_measured(struct bench_case *bc, uint64_t rounds);

#endif /* BENCH_RING_RUNNER_H */
