/* SPDX-License-Identifier: MIT */
/* bench-ring: choosing CPUs and starting threads pinned to them. */
#ifndef BENCH_RING_PIN_H
#define BENCH_RING_PIN_H

#include <pthread.h>
#include <stdbool.h>

/**
 * Pick the producer's and the consumer's CPU: the first two this process
 * may run on (CPU 0 and CPU 1 on an unrestricted machine). Returns false,
 * leaving both at -1, when fewer than two are available: threads then run
 * unpinned.
 */
bool bench_pick_cpus(int *producer_cpu, int *consumer_cpu);

/**
 * pthread_create() with the new thread bound to @cpu (none if @cpu < 0).
 * If binding is refused, the thread starts unpinned and a note goes to
 * stderr once. Returns 0 or an errno value.
 */
int bench_thread_start(pthread_t *thread, int cpu, void *(*fn)(void *),
		       void *arg);

#endif /* BENCH_RING_PIN_H */
