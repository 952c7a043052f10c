/* SPDX-License-Identifier: MIT */
/* Runs the threaded stream scenarios without Criterion, for ThreadSanitizer
 * builds (Criterion's shared-memory arena cannot start under TSan). Prints
 * one line per scenario and the closing "N passed, N failed" line. */
#include <stdio.h>
#include <stdlib.h>

#include "scenarios.h"
#include "threaded.h"

int main(void)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof vsock_threaded / sizeof vsock_threaded[0]; i++) {
		const char *err = vsock_threaded[i].run();
		printf("%s %s%s%s\n", err ? "FAIL" : "PASS", vsock_threaded[i].name,
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
