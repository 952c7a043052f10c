/* SPDX-License-Identifier: MIT */
/*
 * An encoded key (key_encoding.h) cut back into its parts, for covering
 * reads: the bytes come from vamosd, so every marker, length and pad byte
 * is checked and a malformed key is an error, never a read past its end.
 * No server headers: unit-testable.
 */
#ifndef HA_VAMOS_KEY_SPLIT_H
#define HA_VAMOS_KEY_SPLIT_H

#include <stddef.h>
#include <stdint.h>

namespace vamos {

/** How one key part is laid out in the encoding. */
struct part_shape {
	uint16_t width;  /**< value bytes (without marker or length) */
	bool nullable;   /**< a marker byte first: 0 NULL (nothing follows), 1 a value */
	bool reverse;    /**< DESC: every byte of the part inverted */
	bool counted;    /**< the value's bytes, zero bytes up to width, then
			      their count (2 bytes, big-endian) */
};

/** One part cut out: its value is plain[at, at + len). */
struct part_value {
	bool null;
	uint32_t at, len;
};

/**
 * Cut @len bytes of @key into the @n parts of @shapes. @plain (@len
 * bytes) receives the key with DESC parts inverted back; out[i] locates
 * part i's value there. Returns the bytes the parts take (the rest, if
 * any, is the caller's), or -1 when the key is malformed: too short, a
 * marker not 0 or 1, a count over the width, pad bytes not zero.
 */
long split_key(const part_shape *shapes, size_t n, const uint8_t *key, size_t len,
	       uint8_t *plain, part_value *out);

} // namespace vamos

#endif
