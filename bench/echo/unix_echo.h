/* SPDX-License-Identifier: MIT */
/* The baseline: the same echo over a plain AF_UNIX stream socket, one
 * write per batch each way, no libvamos at all. */
#ifndef VAMOS_BENCH_ECHO_UNIX_H
#define VAMOS_BENCH_ECHO_UNIX_H

#include <stdint.h>

struct echo_result;

/* Run @channels client threads, each with its own connection to an echo
 * thread, @batch requests of @payload bytes per write, for @seconds. */
int unix_echo_run(unsigned channels, unsigned batch, uint32_t payload, double seconds,
		  struct echo_result *out);

#endif
