/* SPDX-License-Identifier: MIT */
/*
 * Waiting by spinning, shared by vamosd's pollers and the shared-memory
 * channels (internal, not installed). A spin first busy-waits for a few
 * microseconds, which catches a peer that answers while both run (a
 * round trip costs about 0.5 us); after that each turn yields the CPU, so
 * that on a machine with more runnable threads than cores (2 cores:
 * mariadbd's connections, the client, vamosd) the spinner hands its core
 * to the thread it waits for instead of burning it. Measured with
 * sysbench oltp_point_select through ha_vamos on 2 cores: 20.7k queries/s
 * busy-waiting, 29.7k yielding.
 */
#ifndef VAMOS_SPIN_H
#define VAMOS_SPIN_H

#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "vamos_clock.h"

/* Busy-wait this long before yielding. */
#define VAMOS_SPIN_BUSY_NS 3000ll

static inline void vamos_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* One turn of a spin that has lasted @spun_ns so far. */
static inline void vamos_spin_turn(int64_t spun_ns)
{
	if (spun_ns < VAMOS_SPIN_BUSY_NS)
		vamos_cpu_relax();
	else
		sched_yield();
}

#endif
