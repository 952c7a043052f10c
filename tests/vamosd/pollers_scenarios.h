/* SPDX-License-Identifier: MIT */
/* In-process poller scenarios as plain functions (NULL on success, else
 * what went wrong), shared by Criterion and the TSan runner. */
#ifndef VAMOS_TEST_POLLERS_SCENARIOS_H
#define VAMOS_TEST_POLLERS_SCENARIOS_H

/*
 * Many sessions on the host's one poller, most with a doorbell, one that
 * can only be polled, each alternating idle spells (long enough to be
 * parked) with single requests (echo on the poller, or sleep 0 on the
 * blocking pool), driven by a few threads, while another session keeps
 * joining and leaving the poller's set: @rounds requests per session, every
 * one answered. A lost wakeup leaves a request unanswered, and the test
 * fails by its timeout.
 */
const char *scenario_pollers_park_stress(unsigned rounds);

#endif
