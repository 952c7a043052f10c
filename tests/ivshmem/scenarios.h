/* SPDX-License-Identifier: MIT */
/* Threaded transport-ivshmem scenarios as plain functions (NULL on success,
 * else what went wrong), shared by Criterion and the TSan runner. */
#ifndef VAMOS_TEST_IVSHMEM_SCENARIOS_H
#define VAMOS_TEST_IVSHMEM_SCENARIOS_H

#include <stdint.h>

/* A local peer sends @records numbered records in batches of @batch through
 * a server's region; a host thread echoes each one. Every reply must come
 * back intact and in order, and doorbells + interrupts must stay below
 * records / 4 when @batch > 1. */
const char *scenario_ivshmem_echo(uint64_t records, unsigned batch);

/* One record at a time, the host thread sleeping between them: every send
 * must wake it (no lost wakeup), @rounds times. */
const char *scenario_ivshmem_pingpong(int rounds);

/* The same echo over ivshmem-plain, both sides polling, no notifications. */
const char *scenario_plain_echo(uint64_t records, unsigned batch);

#endif
