/* SPDX-License-Identifier: MIT */
/* `vamosctl stats`: every VM's and channel's counters as a table or as
 * Prometheus text, read from the atomics the pollers publish. */
#ifndef VAMOSD_STATS_H
#define VAMOSD_STATS_H

#include <stdio.h>

#include "pollers.h"
#include "streams.h"
#include "vm.h"

struct daemon_view {
	struct vm *vms;
	unsigned vm_count;
	struct pollers *pollers; /* the host's */
	struct streams *streams;
	uint64_t boot_id;
	double uptime_s;
};

void stats_table(FILE *out, const struct daemon_view *d);
void stats_prometheus(FILE *out, const struct daemon_view *d);

#endif
