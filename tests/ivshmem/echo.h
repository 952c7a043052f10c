/* SPDX-License-Identifier: MIT */
/* The echo workload both sides of a transport test run: numbered records
 * of varying size, checked byte for byte when they come back. Shared by the
 * ivshmem tests and the QEMU guest program. */
#ifndef VAMOS_TEST_ECHO_H
#define VAMOS_TEST_ECHO_H

#include <stdint.h>
#include <stdio.h>

#include <vamos/channel.h>

#define ECHO_TYPE_DATA 1
#define ECHO_TYPE_STOP 2

/* Payload size of record @seq: 8..263 bytes, never the same twice in a row. */
static inline uint32_t echo_len(uint64_t seq)
{
	return 8 + (uint32_t)((seq * 2654435761u) >> 7) % 256;
}

static inline unsigned char echo_byte(uint64_t seq, uint32_t i)
{
	return (unsigned char)(seq * 131 + i * 7 + 1);
}

static inline void echo_fill(unsigned char *p, uint64_t seq, uint32_t len)
{
	__builtin_memcpy(p, &seq, 8);
	for (uint32_t i = 8; i < len; i++)
		p[i] = echo_byte(seq, i);
}

/* NULL if @rec is reply number @seq, intact; else what is wrong. The bytes
 * are copied first: a peer could change them while we look. */
static inline const char *echo_check(const struct vamos_record *rec, uint64_t seq)
{
	unsigned char copy[300];
	if (rec->type != ECHO_TYPE_DATA)
		return "reply has the wrong type";
	if (rec->len != echo_len(seq) || rec->len > sizeof copy)
		return "reply has the wrong length";
	__builtin_memcpy(copy, rec->data, rec->len);
	uint64_t got;
	__builtin_memcpy(&got, copy, 8);
	if (got != seq)
		return "reply out of order (wrong sequence number)";
	for (uint32_t i = 8; i < rec->len; i++)
		if (copy[i] != echo_byte(seq, i))
			return "reply payload corrupted";
	return NULL;
}

/* Serve echo on @ch until a STOP record (echoed too) or a failure.
 * Returns NULL or the failure. */
const char *echo_serve(struct vamos_chan *ch);

/* Send @records records in batches of @batch on @ch and check every reply;
 * ends with a STOP. @timeout_ms bounds each wait. NULL or what went wrong
 * (written to @err). */
const char *echo_drive(struct vamos_chan *ch, uint64_t records, unsigned batch,
		       int timeout_ms, char *err, size_t errlen);

#endif
