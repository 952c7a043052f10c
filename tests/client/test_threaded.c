/* SPDX-License-Identifier: MIT */
/* Threads sharing sessions: every reply reaches the thread that sent the
 * request. */
#include <criterion/criterion.h>

#include "scenarios.h"

Test(client_threaded, eight_threads_two_channels_local, .timeout = 300)
{
	const char *err = scenario_threads(TH_LOCAL, 8, 2, 2000);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, four_threads_two_connections_unix, .timeout = 300)
{
	const char *err = scenario_threads(TH_UNIX, 4, 2, 2000);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, threads_with_sessions_of_their_own, .timeout = 300)
{
	const char *err = scenario_threads(TH_LOCAL, 2, 4, 2000);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, four_threads_in_flight_at_once_local, .timeout = 300)
{
	const char *err = scenario_shared_in_flight(TH_LOCAL, 4, 200);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, four_threads_in_flight_at_once_unix, .timeout = 300)
{
	const char *err = scenario_shared_in_flight(TH_UNIX, 4, 200);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, host_dies_while_threads_wait_local, .timeout = 300)
{
	const char *err = scenario_shared_death(TH_LOCAL, 4);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, host_dies_while_threads_wait_unix, .timeout = 300)
{
	const char *err = scenario_shared_death(TH_UNIX, 4);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, one_waiter_times_out_the_other_waits_on_local, .timeout = 300)
{
	const char *err = scenario_shared_follower_timeout(TH_LOCAL);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, one_waiter_times_out_the_other_waits_on_unix, .timeout = 300)
{
	const char *err = scenario_shared_follower_timeout(TH_UNIX);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, requests_go_out_while_another_thread_sleeps_local, .timeout = 300)
{
	const char *err = scenario_shared_send_while_asleep(200);
	cr_assert_null(err, "%s", err);
}

Test(client_threaded, a_reply_wakes_only_the_thread_it_is_for, .timeout = 300)
{
	const char *err = scenario_followers_wake_whom_they_should();
	cr_assert_null(err, "%s", err);
}
