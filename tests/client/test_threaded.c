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
