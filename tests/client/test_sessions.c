/* SPDX-License-Identifier: MIT */
/* Calls, batches, replies out of order, unknown ids, stale records before
 * WELCOME, timeouts, one thread with two clients; over LOCAL and UNIX. */
#include <criterion/criterion.h>

#include "scenarios.h"

#define BOTH(name, call)                                                     \
	Test(client_sessions, name##_local, .timeout = 120)                  \
	{                                                                    \
		const enum th_kind kind = TH_LOCAL;                          \
		const char *err = call;                                      \
		cr_assert_null(err, "%s", err);                              \
	}                                                                    \
	Test(client_sessions, name##_unix, .timeout = 120)                   \
	{                                                                    \
		const enum th_kind kind = TH_UNIX;                           \
		const char *err = call;                                      \
		cr_assert_null(err, "%s", err);                              \
	}

BOTH(call, scenario_call(kind))
BOTH(batch_of_1000_one_flush, scenario_batch(kind, 1000))
BOTH(submit_many_of_1000, scenario_submit_many(kind, 1000))
BOTH(replies_out_of_order, scenario_out_of_order(kind, 200))
BOTH(unknown_ids_dropped, scenario_unknown_ids(kind))
BOTH(stale_records_before_welcome, scenario_stale(kind))
BOTH(timeouts, scenario_timeouts(kind))
BOTH(two_clients_one_thread, scenario_two_clients(kind))

Test(client_sessions, full_channel_local, .timeout = 120)
{
	const char *err = scenario_full_channel();
	cr_assert_null(err, "%s", err);
}
