/* SPDX-License-Identifier: MIT */
/* Runs the client scenarios without Criterion, for ThreadSanitizer
 * builds: every one of them has the test host's threads. */
#include "../common/plain_runner.h"
#include "scenarios.h"

static const char *threads_local(void) { return scenario_threads(TH_LOCAL, 8, 2, 300); }
static const char *threads_unix(void) { return scenario_threads(TH_UNIX, 4, 2, 300); }
static const char *own_local(void) { return scenario_threads(TH_LOCAL, 2, 4, 300); }
static const char *call_local(void) { return scenario_call(TH_LOCAL); }
static const char *call_unix(void) { return scenario_call(TH_UNIX); }
static const char *batch_local(void) { return scenario_batch(TH_LOCAL, 1000); }
static const char *batch_unix(void) { return scenario_batch(TH_UNIX, 1000); }
static const char *submit_many_local(void) { return scenario_submit_many(TH_LOCAL, 1000); }
static const char *reverse_local(void) { return scenario_out_of_order(TH_LOCAL, 200); }
static const char *unknown_unix(void) { return scenario_unknown_ids(TH_UNIX); }
static const char *malformed_local(void) { return scenario_malformed(TH_LOCAL); }
static const char *stops_local(void) { return scenario_host_stops(TH_LOCAL, 50); }
static const char *stops_unix(void) { return scenario_host_stops(TH_UNIX, 50); }
static const char *restart_local(void) { return scenario_restart(TH_LOCAL, 0); }
static const char *restart_late_unix(void) { return scenario_restart(TH_UNIX, 400); }
static const char *full_local(void) { return scenario_full_channel(); }
static const char *timeouts_local(void) { return scenario_timeouts(TH_LOCAL); }
static const char *stale_local(void) { return scenario_stale(TH_LOCAL); }
static const char *two_local(void) { return scenario_two_clients(TH_LOCAL); }
static const char *poll_fast(void) { return scenario_poll_fast_host(300); }
static const char *poll_off(void) { return scenario_poll_off(100); }
static const char *poll_slow(void) { return scenario_poll_slow_host(100); }
static const char *in_flight_local(void) { return scenario_shared_in_flight(TH_LOCAL, 4, 50); }
static const char *in_flight_unix(void) { return scenario_shared_in_flight(TH_UNIX, 4, 50); }
static const char *death_local(void) { return scenario_shared_death(TH_LOCAL, 4); }
static const char *death_unix(void) { return scenario_shared_death(TH_UNIX, 4); }
static const char *follower_local(void) { return scenario_shared_follower_timeout(TH_LOCAL); }
static const char *follower_unix(void) { return scenario_shared_follower_timeout(TH_UNIX); }
static const char *followers(void) { return scenario_followers_wake_whom_they_should(); }
static const char *asleep_local(void) { return scenario_shared_send_while_asleep(200); }

int main(void)
{
	static const struct plain_case cases[] = {
		{ "threads_local", threads_local },
		{ "threads_unix", threads_unix },
		{ "own_sessions_local", own_local },
		{ "call_local", call_local },
		{ "call_unix", call_unix },
		{ "batch_local", batch_local },
		{ "batch_unix", batch_unix },
		{ "submit_many_local", submit_many_local },
		{ "out_of_order_local", reverse_local },
		{ "unknown_ids_unix", unknown_unix },
		{ "malformed_local", malformed_local },
		{ "host_stops_local", stops_local },
		{ "host_stops_unix", stops_unix },
		{ "restart_local", restart_local },
		{ "restart_late_unix", restart_late_unix },
		{ "full_channel_local", full_local },
		{ "timeouts_local", timeouts_local },
		{ "stale_local", stale_local },
		{ "two_clients_local", two_local },
		{ "poll_fast_host", poll_fast },
		{ "poll_off", poll_off },
		{ "poll_slow_host", poll_slow },
		{ "in_flight_at_once_local", in_flight_local },
		{ "in_flight_at_once_unix", in_flight_unix },
		{ "shared_death_local", death_local },
		{ "shared_death_unix", death_unix },
		{ "follower_timeout_local", follower_local },
		{ "follower_timeout_unix", follower_unix },
		{ "send_while_asleep_local", asleep_local },
		{ "followers_wake_whom_they_should", followers },
	};
	return plain_run_all(cases, sizeof cases / sizeof cases[0]);
}
