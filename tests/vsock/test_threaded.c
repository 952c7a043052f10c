/* SPDX-License-Identifier: MIT */
/* The threaded scenarios (scenarios.c) under Criterion; a TSan build runs
 * the same ones through plain_runner.c. */
#include <criterion/criterion.h>

#include "threaded.h"

static void expect_pass(const char *err)
{
	cr_assert_null(err, "%s", err);
}

TestSuite(vsock_threaded, .timeout = 240);

Test(vsock_threaded, large_batches_every_size_class) { expect_pass(vt_large_batches()); }
Test(vsock_threaded, reader_fed_one_byte_at_a_time) { expect_pass(vt_byte_writer()); }
Test(vsock_threaded, wait_wakes_when_data_arrives) { expect_pass(vt_wait_wakes()); }
Test(vsock_threaded, crossfire_flushes_do_not_deadlock) { expect_pass(vt_crossfire()); }
