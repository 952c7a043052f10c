/* SPDX-License-Identifier: MIT */
/* The threaded vamosd scenario without Criterion, for ThreadSanitizer
 * builds (vamosd itself then runs TSan-built too). */
#include "../common/plain_runner.h"
#include "scenarios.h"

static const char *many(void) { return scenario_vamosd_many_clients(1000); }
static const char *busy(void) { return scenario_vamosd_busy_channels_many_pollers(1000); }
static const char *shared(void) { return scenario_vamosd_vms_share_a_poller(2000); }

int main(void)
{
	static const struct plain_case cases[] = {
		{ "vamosd_many_clients", many },
		{ "vamosd_busy_channels_many_pollers", busy },
		{ "vamosd_vms_share_a_poller", shared },
	};
	return plain_run_all(cases, 3);
}
