/* SPDX-License-Identifier: MIT */
/* vamosd's own count of each VM's requests and reply batches, from its
 * control socket (`stats prometheus`). */
#ifndef BENCH_VMS_HOST_STATS_H
#define BENCH_VMS_HOST_STATS_H

#include <stdint.h>

/* For VMs vm0 .. vm(@n - 1): requests received and reply batches flushed
 * (one per turn of the poller that had records). 0, or -errno. */
int host_stats(const char *control, unsigned n, uint64_t *requests, uint64_t *batches);

#endif
