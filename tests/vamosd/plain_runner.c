/* SPDX-License-Identifier: MIT */
/* The threaded vamosd scenario without Criterion, for ThreadSanitizer
 * builds (vamosd itself then runs TSan-built too). */
#include "../common/plain_runner.h"
#include "scenarios.h"

static const char *many(void) { return scenario_vamosd_many_clients(1000); }

int main(void)
{
	static const struct plain_case cases[] = { { "vamosd_many_clients", many } };
	return plain_run_all(cases, 1);
}
