/* SPDX-License-Identifier: MIT */
/* The stored keys of index entries and of AUTO_INCREMENT floors. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "store_internal.h"

int mh_key_build(uint32_t id, unsigned index, struct mh_bytes key, struct mh_bytes tail,
		 unsigned char *buf)
{
	size_t len = MH_KEY_PREFIX + (size_t)key.len + tail.len;
	if (len > MH_STORED_MAX)
		return -EINVAL;
	mh_be32(id, buf);
	buf[4] = (unsigned char)index;
	if (key.len)
		memcpy(buf + MH_KEY_PREFIX, key.data, key.len);
	if (tail.len)
		memcpy(buf + MH_KEY_PREFIX + key.len, tail.data, tail.len);
	return (int)len;
}

/* The catalog key of table @id's AUTO_INCREMENT floor (0 . 2 . id). */
void mh_floor_key(uint32_t id, unsigned char buf[MH_KEY_PREFIX + 4])
{
	mh_be32(0, buf);
	buf[4] = CAT_AUTOINC;
	mh_be32(id, buf + MH_KEY_PREFIX);
}
