/* SPDX-License-Identifier: MIT */
/*
 * Copying a short payload (internal, not installed): the ring's bursts and
 * libvamos-client's requests and replies are mostly 8 to 64 bytes, which
 * a few overlapping 8- or 16-byte moves the compiler inlines copy faster
 * than a memcpy call. Exactly @len bytes of each side are touched.
 */
#ifndef VAMOS_COPY_H
#define VAMOS_COPY_H

#include <stdint.h>
#include <string.h>

static inline void vamos_copy_short(void *dst, const void *src, uint32_t len)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (len >= 16 && len <= 64) {
		for (uint32_t i = 0; i + 16 < len; i += 16)
			memcpy(d + i, s + i, 16);
		memcpy(d + len - 16, s + len - 16, 16);
	} else if (len >= 8 && len < 16) {
		memcpy(d, s, 8);
		memcpy(d + len - 8, s + len - 8, 8);
	} else if (len) {
		memcpy(d, s, len);
	}
}

#endif
