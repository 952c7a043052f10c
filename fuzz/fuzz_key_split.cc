/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for ha_vamos's cutting of a covering read's index entry
 * (mysql-handler/plugin/key_split.h): the entry's bytes come from vamosd,
 * so any bytes, cut by any list of part shapes, must give -1 or parts that
 * lie inside the bytes consumed, never a read or write past the key
 * (ASan) and never a part outside it (checked here).
 *
 * Input: the number of parts (1 byte, 1..16), then 3 bytes per part
 * (width, 2 bytes little-endian, up to 3072; flags: nullable, reverse,
 * counted), then the key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "key_split.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = (size_t)(data[0] % 16) + 1, at = 1;
	if (size - at < n * 3)
		return 0;
	std::vector<vamos::part_shape> shapes(n);
	for (size_t i = 0; i < n; i++, at += 3) {
		shapes[i].width = (uint16_t)((data[at] | data[at + 1] << 8) % 3073);
		shapes[i].nullable = data[at + 2] & 1;
		shapes[i].reverse = data[at + 2] & 2;
		shapes[i].counted = data[at + 2] & 4;
	}
	size_t len = size - at;
	/* The key in a buffer of its own size, so ASan sees any read past it. */
	uint8_t *key = (uint8_t *)malloc(len ? len : 1);
	uint8_t *plain = (uint8_t *)malloc(len ? len : 1);
	if (!key || !plain)
		abort();
	memcpy(key, data + at, len);
	std::vector<vamos::part_value> out(n);
	long used = vamos::split_key(shapes.data(), n, key, len, plain, out.data());
	if (used != -1) {
		if (used < 0 || (size_t)used > len)
			abort(); /* claims more bytes than the key has */
		for (size_t i = 0; i < n; i++) {
			if (out[i].null)
				continue;
			if ((size_t)out[i].at + out[i].len > (size_t)used || out[i].len > shapes[i].width)
				abort(); /* a part outside what was consumed, or wider than its shape */
		}
	}
	free(key);
	free(plain);
	return 0;
}
