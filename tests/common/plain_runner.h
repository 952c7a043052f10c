/* SPDX-License-Identifier: MIT */
/* The shared main loop of the plain (non-Criterion) runners used under
 * ThreadSanitizer, where Criterion's shared-memory arena cannot start:
 * one line per scenario, then "N passed, N failed". */
#ifndef VAMOS_TEST_PLAIN_RUNNER_H
#define VAMOS_TEST_PLAIN_RUNNER_H

#include <stdio.h>
#include <stdlib.h>

/* A scenario returns NULL on success, else what went wrong. */
struct plain_case {
	const char *name;
	const char *(*run)(void);
};

static inline int plain_run_all(const struct plain_case *cases, size_t n)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
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

#endif
