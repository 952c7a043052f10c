/* SPDX-License-Identifier: MIT */
/* 10^7 numbered, checksummed records through one ring: between two threads,
 * and between two processes that map the same file at different addresses;
 * between two threads once more with the producer sending bursts, and
 * with fixed-size elements sent as array records.
 * Nothing may be lost, duplicated, reordered or corrupted. */
#include <criterion/criterion.h>

#include "scenarios.h"

Test(ring_stress, two_threads, .timeout = 600)
{
	const char *err = scenario_stress_threads(STRESS_RECORDS);
	cr_assert_null(err, "%s", err);
}

Test(ring_stress, two_threads_bursts, .timeout = 600)
{
	const char *err = scenario_stress_burst_threads(STRESS_RECORDS);
	cr_assert_null(err, "%s", err);
}

Test(ring_stress, two_threads_arrays, .timeout = 600)
{
	const char *err = scenario_stress_array_threads(STRESS_RECORDS);
	cr_assert_null(err, "%s", err);
}

Test(ring_stress, two_processes, .timeout = 600)
{
	const char *err = scenario_stress_processes(STRESS_RECORDS);
	cr_assert_null(err, "%s", err);
}
