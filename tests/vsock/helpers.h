/* SPDX-License-Identifier: MIT */
/* Test helpers without Criterion (the TSan runner uses them too): socket
 * pairs, payload patterns, and a byte-level frame writer that plays a peer
 * independent of the library's own encoder. */
#ifndef VAMOS_TEST_VSOCK_HELPERS_H
#define VAMOS_TEST_VSOCK_HELPERS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vamos/vsock.h"

/* Deterministic payload bytes for record @seq. */
static inline unsigned char vt_byte(uint64_t seq, uint32_t i)
{
	return (unsigned char)(seq * 131u + i * 7u + 1u);
}

static inline void vt_fill(void *dst, uint64_t seq, uint32_t len)
{
	unsigned char *d = dst;
	for (uint32_t i = 0; i < len; i++)
		d[i] = vt_byte(seq, i);
}

static inline bool vt_check(const void *src, uint64_t seq, uint32_t len)
{
	const unsigned char *s = src;
	for (uint32_t i = 0; i < len; i++)
		if (s[i] != vt_byte(seq, i))
			return false;
	return true;
}

/* A channel on each end of a fresh AF_UNIX socketpair; max_frame 0 is the
 * default. Returns 0 or a negative errno. */
static inline int vt_chan_pair(uint32_t max_frame, struct vamos_chan **a,
			       struct vamos_chan **b)
{
	int sv[2];
	struct vamos_stream_params p = {.max_frame = max_frame};
	*a = *b = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	int rc = vamos_stream_open_fd(sv[0], &p, a);
	if (rc) {
		close(sv[1]);
		return rc;
	}
	rc = vamos_stream_open_fd(sv[1], &p, b);
	if (rc)
		vamos_chan_close(*a);
	return rc;
}

/* A channel on one end of a socketpair and the raw other end in *@raw. */
static inline int vt_raw_pair(uint32_t max_frame, struct vamos_chan **ch, int *raw)
{
	int sv[2];
	struct vamos_stream_params p = {.max_frame = max_frame};
	*ch = NULL;
	*raw = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	int rc = vamos_stream_open_fd(sv[0], &p, ch);
	if (rc) {
		close(sv[1]);
		return rc;
	}
	*raw = sv[1];
	return 0;
}

/* Reserve, fill with record @seq's pattern, commit. */
static inline int vt_send(struct vamos_chan *ch, uint16_t type, uint64_t seq,
			  uint32_t len)
{
	void *p;
	int rc = vamos_chan_reserve(ch, len, &p);
	if (rc)
		return rc;
	vt_fill(p, seq, len);
	return vamos_chan_commit(ch, type, len);
}

/* Write all @len bytes to @fd (SIGPIPE-free). Returns 0 or -errno. */
static inline int vt_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------- frames written by hand */

/* A growing byte string of frames, written byte by byte as the format in
 * vamos/vsock.h says, so that a bug in the library's encoder cannot hide
 * the same bug in its decoder. */
struct vt_raw {
	unsigned char b[1 << 17];
	size_t n;
};

static inline void vt_u32(struct vt_raw *r, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		r->b[r->n++] = (unsigned char)(v >> (8 * i));
}

static inline void vt_frame_header(struct vt_raw *r, uint32_t magic,
				   uint32_t count, uint32_t body, uint32_t reserved)
{
	vt_u32(r, magic);
	vt_u32(r, count);
	vt_u32(r, body);
	vt_u32(r, reserved);
}

/* A record header with explicit fields, then @len pattern bytes of record
 * @seq and zero padding to 8. */
static inline void vt_record_raw(struct vt_raw *r, uint32_t len, uint16_t type,
				 uint16_t reserved, uint64_t seq)
{
	vt_u32(r, len);
	vt_u32(r, (uint32_t)type | (uint32_t)reserved << 16);
	vt_fill(r->b + r->n, seq, len);
	r->n += len;
	while (r->n % 8)
		r->b[r->n++] = 0;
}

/* Bytes one record with @len payload bytes takes in a body. */
static inline uint32_t vt_rsize(uint32_t len)
{
	return (len + 8 + 7) & ~7u;
}

/* A whole valid frame of @count records: record i has type i + 1,
 * length lens[i] and record seq base + i's pattern. */
static inline void vt_frame(struct vt_raw *r, unsigned count,
			    const uint32_t *lens, uint64_t base)
{
	uint32_t body = 0;
	for (unsigned i = 0; i < count; i++)
		body += vt_rsize(lens[i]);
	vt_frame_header(r, VAMOS_FRAME_MAGIC, count, body, 0);
	for (unsigned i = 0; i < count; i++)
		vt_record_raw(r, lens[i], (uint16_t)(i + 1), 0, base + i);
}

#endif
