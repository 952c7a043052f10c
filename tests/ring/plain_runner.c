/* SPDX-License-Identifier: MIT */
/* Runs the threaded ring scenarios without Criterion, for ThreadSanitizer
 * builds. */
#include "../common/plain_runner.h"
#include "scenarios.h"

static const char *stress_threads(void) { return scenario_stress_threads(STRESS_RECORDS); }
static const char *stress_burst_threads(void) { return scenario_stress_burst_threads(STRESS_RECORDS); }
static const char *stress_processes(void) { return scenario_stress_processes(STRESS_RECORDS); }
static const char *wakeup(void) { return scenario_wakeup(6000); }

int main(void)
{
	static const struct plain_case cases[] = {
		{"stress_threads", stress_threads},
		{"stress_burst_threads", stress_burst_threads},
		{"stress_processes", stress_processes},
		{"wakeup", wakeup},
	};
	return plain_run_all(cases, sizeof cases / sizeof cases[0]);
}
