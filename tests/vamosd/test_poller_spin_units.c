/* SPDX-License-Identifier: MIT */
/* How long a vamosd poller spins before it sleeps (host-server/poller_spin.c). */
#include <criterion/criterion.h>

#include "../../host-server/poller_spin.h"

#define BASE 50000

Test(poller_spin_units, starts_at_spin_us)
{
	struct poller_spin s;
	poller_spin_init(&s, BASE);
	cr_assert_eq(s.ns, BASE);
}

Test(poller_spin_units, work_soon_after_a_sleep_doubles_the_spin_up_to_the_cap)
{
	struct poller_spin s;
	poller_spin_init(&s, BASE);
	poller_spin_learn(&s, 0, true); /* records came as it announced sleep */
	cr_assert_eq(s.ns, 2 * BASE);
	poller_spin_learn(&s, 2 * BASE * POLLER_SPIN_SOON - 1, true);
	cr_assert_eq(s.ns, 4 * BASE);
	for (int i = 0; i < 20; i++)
		poller_spin_learn(&s, 10, true);
	cr_assert_eq(s.ns, (int64_t)BASE * POLLER_SPIN_MAX_FACTOR);
}

Test(poller_spin_units, a_long_sleep_or_an_idle_wakeup_goes_back_to_spin_us)
{
	struct poller_spin s;
	poller_spin_init(&s, BASE);
	for (int i = 0; i < 5; i++)
		poller_spin_learn(&s, 10, true);
	cr_assert_gt(s.ns, BASE);
	/* Work, but only after the channels idled a while. */
	poller_spin_learn(&s, s.ns * POLLER_SPIN_SOON, true);
	cr_assert_eq(s.ns, BASE);
	for (int i = 0; i < 5; i++)
		poller_spin_learn(&s, 10, true);
	/* The sleep's timeout (the heartbeat's): nothing to do. */
	poller_spin_learn(&s, 1000000000, false);
	cr_assert_eq(s.ns, BASE);
	poller_spin_learn(&s, 10, false);
	cr_assert_eq(s.ns, BASE);
}

Test(poller_spin_units, no_spin_stays_no_spin)
{
	struct poller_spin s;
	poller_spin_init(&s, 0);
	poller_spin_learn(&s, 0, true);
	cr_assert_eq(s.ns, 0);
}
