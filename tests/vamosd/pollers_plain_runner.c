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
	};
	return plain_run_all(cases, 1);
}
