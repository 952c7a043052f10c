/* SPDX-License-Identifier: MIT */
/* The threaded ring scenarios, as plain functions returning NULL on success
 * or what went wrong, so that both the Criterion tests and the plain runner
 * used under ThreadSanitizer (where Criterion cannot start) call one code. */
#ifndef VAMOS_TEST_SCENARIOS_H
#define VAMOS_TEST_SCENARIOS_H

#include <stdint.h>

/* Records carried by each stress scenario. */
#define STRESS_RECORDS 10000000ull

/* Producer and consumer threads over one ring in private memory. */
const char *scenario_stress_threads(uint64_t records);

/* The same, the producer sending its batches with send_burst. */
const char *scenario_stress_burst_threads(uint64_t records);

/* The same with fixed-size elements: the producer sends its batches as
 * array records, the consumer reads them with peek_arrays (@records counts
 * elements). */
const char *scenario_stress_array_threads(uint64_t records);

/* A forked producer that maps the same memfd at another address. */
const char *scenario_stress_processes(uint64_t records);

/* A consumer that sleeps on an eventfd whenever idle, woken @rounds times;
 * a lost wakeup hangs (the caller's timeout catches it). */
const char *scenario_wakeup(int rounds);

#endif
