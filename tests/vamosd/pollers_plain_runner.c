/* SPDX-License-Identifier: MIT */
/* The threaded in-process poller scenario without Criterion, for
 * ThreadSanitizer builds. */
#include "../common/plain_runner.h"
#include "pollers_scenarios.h"

static const char *park(void) { return scenario_pollers_park_stress(300); }

int main(void)
{
	static const struct plain_case cases[] = {
		{ "pollers_park_stress", park },
		{ "full_rings_take_even_turns", scenario_full_rings_take_even_turns },
		{ "new_vms_go_to_the_least_loaded_pollers",
		  scenario_new_vms_go_to_the_least_loaded_pollers },
		{ "a_move_keeps_every_reply_once_and_in_order",
		  scenario_a_move_keeps_every_reply_once_and_in_order },
		{ "a_reply_that_fits_waits_behind_one_that_does_not",
		  scenario_a_reply_that_fits_waits_behind_one_that_does_not },
	};
	return plain_run_all(cases, sizeof cases / sizeof cases[0]);
}
