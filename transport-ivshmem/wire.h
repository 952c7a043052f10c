/* SPDX-License-Identifier: MIT */
/* QEMU's ivshmem server protocol on the wire: every message is one
 * little-endian int64, optionally with one file descriptor (SCM_RIGHTS). */
#ifndef VAMOS_IVSHMEM_WIRE_H
#define VAMOS_IVSHMEM_WIRE_H

#include <stdint.h>

/* Send @value with @fd attached (fd < 0: none) without blocking.
 * Returns 0, -EAGAIN if the socket is full, or another negative errno. */
int wire_send(int sock, int64_t value, int fd);

/*
 * Receive one message. @timeout_ms bounds the wait for its first byte
 * (-1: forever, 0: don't wait) and for the rest of a message that arrived in
 * pieces. *fd gets the attached descriptor (close-on-exec) or -1.
 * Returns 1 for a message, 0 at end of stream, -EAGAIN if nothing came in
 * time, -EPROTO for a malformed message (*why says how; any descriptors it
 * carried are closed), or another negative errno.
 */
int wire_recv(int sock, int timeout_ms, int64_t *value, int *fd,
	      const char **why);

#endif
