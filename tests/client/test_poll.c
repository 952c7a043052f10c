/* SPDX-License-Identifier: MIT */
/* The reply poll (params.poll_us): polling spares the wakeup, turning it
 * off sleeps at once, and no reply is lost either way. */
#include <criterion/criterion.h>

#include "scenarios.h"

Test(client_poll, polling_takes_replies_without_a_wakeup, .timeout = 300)
{
	const char *err = scenario_poll_fast_host(2000);
	cr_assert_null(err, "%s", err);
}

Test(client_poll, polling_off_sleeps_and_is_woken, .timeout = 300)
{
	const char *err = scenario_poll_off(500);
	cr_assert_null(err, "%s", err);
}

Test(client_poll, replies_after_a_sleep_arrive_and_slow_ones_shrink_the_budget,
     .timeout = 300)
{
	const char *err = scenario_poll_slow_host(500);
	cr_assert_null(err, "%s", err);
}
