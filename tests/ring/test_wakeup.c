/* SPDX-License-Identifier: MIT */
/* A consumer that sleeps on a real eventfd whenever the ring is empty, woken
 * thousands of times. A lost wakeup would leave it asleep forever (the test
 * would hang and hit the timeout); every record must arrive in order; every
 * sleep the producer sees gets a doorbell rung after its announcement; and
 * there is at most one doorbell per announcement. */
#include <criterion/criterion.h>

#include "scenarios.h"

Test(ring_wakeup, sleeping_consumer_never_misses_a_doorbell, .timeout = 300)
{
	const char *err = scenario_wakeup(6000);
	cr_assert_null(err, "%s", err);
}
