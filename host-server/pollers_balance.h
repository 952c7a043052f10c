/* SPDX-License-Identifier: MIT */
/*
 * The balancer: every `balance_ms` the main thread measures each host
 * poller's load (the share of the interval's wall time it spent in loops
 * that handled at least one record or completion; the rest is spinning
 * idle and sleeping) and each session's part of it (records and
 * completions handled), plans moves with balance.h's rules, and makes
 * them with pollers_move(): busy sessions spread over more pollers, light
 * ones pack onto fewer, so that emptied pollers sleep. Main thread only.
 */
#ifndef VAMOSD_POLLERS_BALANCE_H
#define VAMOSD_POLLERS_BALANCE_H

#include <stdint.h>

#include "pollers.h"

/* Measure since the last call and move what the plan says (the first call
 * only measures). @now_ns: vamos_now_ns(). Returns the sessions moved. */
unsigned pollers_balance(struct pollers *ps, int64_t now_ns);

#endif
