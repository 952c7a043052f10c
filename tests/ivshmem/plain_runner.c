/* SPDX-License-Identifier: MIT */
/* Runs the threaded transport-ivshmem scenarios without Criterion, for
 * ThreadSanitizer builds. */
#include "../common/plain_runner.h"
#include "scenarios.h"

static const char *echo_batched(void) { return scenario_ivshmem_echo(100000, 32); }
static const char *echo_single(void) { return scenario_ivshmem_echo(5000, 1); }
static const char *pingpong(void) { return scenario_ivshmem_pingpong(1000); }
static const char *plain(void) { return scenario_plain_echo(50000, 16); }

int main(void)
{
	static const struct plain_case cases[] = {
		{"ivshmem_echo_batched", echo_batched},
		{"ivshmem_echo_single", echo_single},
		{"ivshmem_pingpong", pingpong},
		{"plain_echo", plain},
	};
	return plain_run_all(cases, sizeof cases / sizeof cases[0]);
}
