/* SPDX-License-Identifier: MIT */
/* The threaded transport-ivshmem scenarios without Criterion, for
 * ThreadSanitizer builds. Prints one line each and "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>

#include "scenarios.h"

static const char *echo_batched(void) { return scenario_ivshmem_echo(100000, 32); }
static const char *echo_single(void) { return scenario_ivshmem_echo(5000, 1); }
static const char *pingpong(void) { return scenario_ivshmem_pingpong(1000); }
static const char *plain(void) { return scenario_plain_echo(50000, 16); }

int main(void)
{
	const struct {
		const char *name;
		const char *(*run)(void);
	} cases[] = {
		{"ivshmem_echo_batched", echo_batched},
		{"ivshmem_echo_single", echo_single},
		{"ivshmem_pingpong", pingpong},
		{"plain_echo", plain},
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
