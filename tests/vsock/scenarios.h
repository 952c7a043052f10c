/* SPDX-License-Identifier: MIT */
/* The threaded stream-channel scenarios, as plain functions returning NULL
 * on success or what went wrong, so that the Criterion tests and the plain
 * runner used under ThreadSanitizer (where Criterion cannot start) share
 * them. Every channel is used by one thread only, as the contract says. */
#ifndef VAMOS_TEST_VSOCK_SCENARIOS_H
#define VAMOS_TEST_VSOCK_SCENARIOS_H

#include <stdint.h>

/* A writer thread sends @records records of every size class, up to the
 * largest payload of the default 1 MiB frame, as fast as it can; the reader
 * sleeps in wait() whenever it runs dry and checks every byte and the
 * order. */
const char *scenario_vsock_large_batches(uint64_t records);

/* A writer thread sends hand-built frames one byte per write; the reader,
 * blocking in wait(), still reassembles every record. */
const char *scenario_vsock_byte_writer(void);

/* Ping-pong for @rounds rounds: each side sleeps in wait() until the
 * other's record arrives (the sender pauses first so the waiter really
 * sleeps). A lost wakeup hangs, which the caller's timeout catches. */
const char *scenario_vsock_wait_wakes(int rounds);

/* Two threads flush @frames large frames at each other at the same time,
 * each reading only between its own flushes: flush must keep reading while
 * the socket is full, or both block forever. */
const char *scenario_vsock_crossfire(int frames);

#endif
