/* SPDX-License-Identifier: MIT */
/* The threaded scenarios with the sizes both runners use: Criterion
 * (test_threaded.c) and the plain TSan runner (plain_runner.c). */
#ifndef VAMOS_TEST_VSOCK_THREADED_H
#define VAMOS_TEST_VSOCK_THREADED_H

#include "../common/plain_runner.h"
#include "scenarios.h"

static inline const char *vt_large_batches(void) { return scenario_vsock_large_batches(6000); }
static inline const char *vt_byte_writer(void) { return scenario_vsock_byte_writer(); }
static inline const char *vt_wait_wakes(void) { return scenario_vsock_wait_wakes(2000); }
static inline const char *vt_crossfire(void) { return scenario_vsock_crossfire(24); }

static const struct plain_case vsock_threaded[] = {
	{"large_batches", vt_large_batches},
	{"byte_writer", vt_byte_writer},
	{"wait_wakes", vt_wait_wakes},
	{"crossfire", vt_crossfire},
};

#endif
