/* SPDX-License-Identifier: MIT */
/*
 * Frame encoding and validation (format in vamos/vsock.h), as pure
 * functions over byte buffers: no socket, no allocation, no state beyond
 * what the caller passes. Library-internal; tests and fuzzers compile
 * frame.c directly.
 */
#ifndef VAMOS_VSOCK_FRAME_H
#define VAMOS_VSOCK_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "vamos/vsock.h"

#define VAMOS_FRAME_INTERNAL __attribute__((visibility("hidden")))

/*
 * Walks the records of one frame whose body lies completely in a buffer.
 * Offsets are from the start of that buffer, so the owner may move the
 * buffer's contents and shift them.
 */
struct vamos_frame_cursor {
	size_t off;    /* next record header */
	size_t end;    /* first byte after the body */
	uint32_t left; /* records the header promised and not yet taken */
};

/* Little-endian loads and stores of the wire's words. */
static inline uint32_t vamos_le32_load(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t vamos_le64_load(const unsigned char *p)
{
	return (uint64_t)vamos_le32_load(p) | (uint64_t)vamos_le32_load(p + 4) << 32;
}

static inline void vamos_le32_store(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static inline void vamos_le64_store(unsigned char *p, uint64_t v)
{
	vamos_le32_store(p, (uint32_t)v);
	vamos_le32_store(p + 4, (uint32_t)(v >> 32));
}

/* Write a frame header for @count records in @body bytes at @dst. */
VAMOS_FRAME_INTERNAL
void vamos_frame_put_header(unsigned char *dst, uint32_t count, uint32_t body);

/* The body length a header at @src announces, unchecked (for sizing reads). */
static inline uint32_t vamos_frame_peek_body(const unsigned char *src)
{
	return vamos_le32_load(src + 8);
}

/*
 * Check the VAMOS_FRAME_HEADER_SIZE bytes at @src as a frame header for a
 * receiver accepting bodies of at most @max_body bytes. Returns 0 with the
 * record count and body length, or -EPROTO with *@why set.
 */
VAMOS_FRAME_INTERNAL
int vamos_frame_check_header(const unsigned char *src, uint32_t max_body,
			     uint32_t *count, uint32_t *body, const char **why);

/* One record as vamos_frame_next() found it. */
struct vamos_frame_record {
	size_t payload; /* offset of its payload in the buffer */
	uint32_t len;   /* payload bytes */
	uint16_t type;  /* 0 .. VAMOS_RECORD_TYPE_MAX */
};

/*
 * Take the next record of the frame @c walks in @buf: check its header
 * against what is left of the body and describe it in @rec. Once the
 * promised records are taken, check that they filled the body exactly.
 * Returns 1 for a record, 0 when the frame is done and consistent, -EPROTO
 * with *@why set.
 */
VAMOS_FRAME_INTERNAL
int vamos_frame_next(const unsigned char *buf, struct vamos_frame_cursor *c,
		     struct vamos_frame_record *rec, const char **why);

/*
 * Check a whole frame at the start of @buf (@len bytes available) for a
 * receiver accepting bodies of at most @max_body bytes. Returns 1 when a
 * complete valid frame is there (its size in *@frame_size, its record count
 * in *@records), 0 when more bytes are needed to tell, -EPROTO with *@why
 * set. Never reads outside [@buf, @buf + @len).
 */
VAMOS_FRAME_INTERNAL
int vamos_frame_validate(const unsigned char *buf, size_t len, uint32_t max_body,
			 size_t *frame_size, uint32_t *records, const char **why);

#endif
