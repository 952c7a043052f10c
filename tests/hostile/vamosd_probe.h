/* SPDX-License-Identifier: MIT */
/* Reading vamosd's per-VM lines of `vamosctl stats` in the hostile tests. */
#ifndef VAMOS_TEST_HOSTILE_PROBE_H
#define VAMOS_TEST_HOSTILE_PROBE_H

#include "../vamosd/daemon.h"

struct vm_probe {
	long long peer, joins, leaves, rejects;          /* -1 if not found */
	long long queued, queued_bytes, max_queued_bytes, running, dropped;
};

/* @vm's lines from stats; false if vamosd did not answer. */
bool probe_vm(const struct daemon *d, const char *vm, struct vm_probe *out);

#endif
