/* SPDX-License-Identifier: MIT */
/*
 * bench-vms' busy VMs: one thread per VM, calling vamosd's echo either one
 * call at a time (call_loop) or with its ring kept full (pipeline_loop).
 */
#ifndef BENCH_VMS_BUSY_H
#define BENCH_VMS_BUSY_H

#include <stdint.h>
#include <time.h>

#include <vamos/client.h>

/* Requests a pipelined VM keeps outstanding: eight of vamosd's turns
 * (SESSION_BATCH records each), inside a 64 KiB ring. */
#define PIPELINE_WINDOW 512u
#define BUSY_PAYLOAD 64u

struct caller {
	struct vamos_client *client;
	int64_t end;
	int64_t *samples; /* round trips, ns */
	uint64_t nsamples, cap;
	uint64_t requests; /* answered before end */
	/* Pipelined: times every request was answered (the ring had run dry
	 * before this caller refilled it). */
	uint64_t ran_dry;
	int err;
};

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* One vamos_call after another until end. */
void *call_loop(void *caller);

/* Keep PIPELINE_WINDOW requests outstanding on the VM's session until
 * end, submitting as soon as there is room; then collect the rest. */
void *pipeline_loop(void *caller);

#endif
