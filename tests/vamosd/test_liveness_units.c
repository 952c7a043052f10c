/* SPDX-License-Identifier: MIT */
/* vamosd's judgement of a poller's progress (host-server/liveness.c), on
 * a clock the test moves. */
#include <criterion/criterion.h>

#include "../../host-server/liveness.h"

Test(liveness_units, an_awake_poller_that_stops_looping_is_stuck_after_the_limit)
{
	struct liveness_progress p = { 0, 0 };
	/* Looping: never stuck, however long it has run. */
	for (unsigned long loops = 1; loops < 100; loops++)
		cr_assert_not(liveness_stuck(&p, loops, false, (int64_t)loops * 1000));
	/* The count stands still from t=99000 while it is awake. */
	cr_assert_not(liveness_stuck(&p, 99, false, 99000 + LIVENESS_STUCK_MS - 1));
	cr_assert(liveness_stuck(&p, 99, false, 99000 + LIVENESS_STUCK_MS));
	cr_assert(liveness_stuck(&p, 99, false, 99000 + 10 * LIVENESS_STUCK_MS));
	/* One more loop: moving again. */
	cr_assert_not(liveness_stuck(&p, 100, false, 99000 + 10 * LIVENESS_STUCK_MS + 1));
}

Test(liveness_units, an_idle_poller_is_never_stuck)
{
	struct liveness_progress p = { 7, 0 };
	/* Asleep in epoll with nothing to do (or exited): the same count for
	 * any time is fine, and the clock restarts when it wakes. */
	cr_assert_not(liveness_stuck(&p, 7, true, 5 * LIVENESS_STUCK_MS));
	cr_assert_not(liveness_stuck(&p, 7, true, 50 * LIVENESS_STUCK_MS));
	cr_assert_not(liveness_stuck(&p, 7, false, 51 * LIVENESS_STUCK_MS - 1));
	cr_assert(liveness_stuck(&p, 7, false, 51 * LIVENESS_STUCK_MS));
}
