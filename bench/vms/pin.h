/* SPDX-License-Identifier: MIT */
/*
 * Keeping the busy VMs' callers off vamosd's CPU for the pipelined rows,
 * as a host keeps its VMs' vCPUs off the cores of vamosd's pollers: with
 * both on every core the scheduler, not vamosd, decides which caller gets
 * to refill its ring. On one CPU nothing is pinned.
 */
#ifndef BENCH_VMS_PIN_H
#define BENCH_VMS_PIN_H

#include <stdbool.h>
#include <sys/types.h>

/* Pin every thread of processes @pids[0..@n) to CPU 0 (@apart) or let
 * them run anywhere again. False if there is only one CPU. */
bool pin_vamosd(const pid_t *pids, unsigned n, bool apart);

/* Pin the calling thread to every CPU but 0 (@apart), or to all. */
void pin_caller(bool apart);

#endif
