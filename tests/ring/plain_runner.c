/* SPDX-License-Identifier: MIT */
/* Runs the threaded ring scenarios without Criterion, for ThreadSanitizer
 * builds. */
#include "../common/plain_runner.h"
#include "scenarios.h"

/* A tenth of the Criterion runs' records: TSan checks every access of every
 * record (each run of 10^7 took minutes), and what it looks for — accesses
 * the ring's orderings leave unordered — shows within the first wraps of the
 * ring; the full count stays with the ASan/UBSan runs. */
#define TSAN_STRESS_RECORDS (STRESS_RECORDS / 10)

static const char *stress_threads(void) { return scenario_stress_threads(TSAN_STRESS_RECORDS); }
static const char *stress_burst_threads(void) { return scenario_stress_burst_threads(TSAN_STRESS_RECORDS); }
static const char *stress_array_threads(void) { return scenario_stress_array_threads(TSAN_STRESS_RECORDS); }
static const char *stress_processes(void) { return scenario_stress_processes(TSAN_STRESS_RECORDS); }
static const char *wakeup(void) { return scenario_wakeup(6000); }

int main(void)
{
	static const struct plain_case cases[] = {
		{"stress_threads", stress_threads},
		{"stress_burst_threads", stress_burst_threads},
		{"stress_array_threads", stress_array_threads},
		{"stress_processes", stress_processes},
		{"wakeup", wakeup},
	};
	return plain_run_all(cases, sizeof cases / sizeof cases[0]);
}
