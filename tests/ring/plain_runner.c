/* SPDX-License-Identifier: MIT */
/* Runs the threaded scenarios without Criterion, for ThreadSanitizer builds
 * (Criterion's shared-memory arena cannot start under TSan). Prints one line
 * per scenario and the closing "N passed, N failed" line. */
#include <stdio.h>
#include <stdlib.h>

#include "scenarios.h"

static const char *stress_threads(void) { return scenario_stress_threads(STRESS_RECORDS); }
static const char *stress_processes(void) { return scenario_stress_processes(STRESS_RECORDS); }
static const char *wakeup(void) { return scenario_wakeup(6000); }

int main(void)
{
	const struct {
		const char *name;
		const char *(*run)(void);
	} cases[] = {
		{"stress_threads", stress_threads},
		{"stress_processes", stress_processes},
		{"wakeup", wakeup},
	};
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *err = cases[i].run();
		printf("%s %s%s%s\n", err ? "FAIL" : "PASS", cases[i].name,
		       err ? ": " : "", err ? err : "");
		fflush(stdout);
		if (err)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
