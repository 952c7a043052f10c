/* SPDX-License-Identifier: MIT */
/* Cutting an encoded key into its parts; the format is in key_encoding.h. */
#include "key_split.h"

#include <string.h>

namespace vamos {

/* Copy @n bytes of @key at @at to @plain, inverted back for DESC. */
static void take(const uint8_t *key, uint8_t *plain, size_t at, size_t n, bool reverse)
{
	for (size_t i = at; i < at + n; i++)
		plain[i] = reverse ? (uint8_t)~key[i] : key[i];
}

long split_key(const part_shape *shapes, size_t n, const uint8_t *key, size_t len,
	       uint8_t *plain, part_value *out)
{
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		const part_shape &s = shapes[i];
		out[i] = part_value{};
		if (s.nullable) {
			if (at >= len)
				return -1;
			take(key, plain, at, 1, s.reverse);
			uint8_t marker = plain[at++];
			if (marker > 1)
				return -1; /* neither NULL nor a value */
			if (marker == 0) {
				out[i].null = true;
				out[i].at = (uint32_t)at;
				continue;
			}
		}
		size_t need = (size_t)s.width + (s.counted ? 2 : 0);
		if (len - at < need)
			return -1;
		take(key, plain, at, need, s.reverse);
		out[i].at = (uint32_t)at;
		out[i].len = s.width;
		if (s.counted) {
			size_t count = (size_t)plain[at + s.width] << 8 | plain[at + s.width + 1];
			if (count > s.width)
				return -1;
			/* The pad is zero bytes: anything else is not our encoding. */
			for (size_t j = at + count; j < at + s.width; j++)
				if (plain[j])
					return -1;
			out[i].len = (uint32_t)count;
		}
		at += need;
	}
	return (long)at;
}

} // namespace vamos
