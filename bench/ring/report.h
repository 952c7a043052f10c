/* SPDX-License-Identifier: MIT */
/* bench-ring: printing results as an aligned table or as CSV. */
#ifndef BENCH_RING_REPORT_H
#define BENCH_RING_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "runner.h"

/** Print the header (and, for the table, the setup line) to stdout. */
void bench_report_begin(bool csv, const struct bench_options *opt);

/** Print one row for a finished case and flush it. */
void bench_report_row(bool csv, const char *impl, uint32_t payload,
		      uint32_t batch, const struct bench_result *r);

#endif /* BENCH_RING_REPORT_H */
