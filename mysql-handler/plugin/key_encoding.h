/* SPDX-License-Identifier: MIT */
/*
 * Keys as memcmp-ordered byte strings (the wire's contract: the host
 * compares keys with memcmp and knows no SQL types).
 *
 * Each key part encodes to:
 *   - nullable parts: a marker byte, 0 for NULL (then nothing more: NULL
 *     sorts first) or 1 before the value;
 *   - strings (CHAR, VARCHAR, TEXT/BLOB prefixes): the collation's weights
 *     (strnxfrm, as filesort makes them), padded to the part's fixed width,
 *     so equal-weight values (case-insensitive collations) encode equally
 *     and no part is a prefix of another; NO PAD collations and binary
 *     strings instead pad the weights with zero bytes and add the weights'
 *     length (2 bytes, big-endian), since there a trailing pad character
 *     is significant;
 *   - every other type: Field::sort_string, filesort's memcmp image
 *     (big-endian integers with the sign bit flipped, IEEE floats made
 *     monotonic, binary DECIMAL, temporal types).
 * A part declared DESC (HA_REVERSE_SORT) has all its bytes inverted.
 * Every part has a fixed width apart from its NULL case, so a key with
 * fewer parts (index_read_map's keypart_map) encodes to a byte prefix of
 * the full key's encoding.
 */
#ifndef HA_VAMOS_KEY_ENCODING_H
#define HA_VAMOS_KEY_ENCODING_H

#include "server.h"

#include <string>

namespace vamos {

/** Longest encoding of all of @key's parts. */
size_t key_encoded_max(const KEY *key);

/**
 * Append the encoding of the leading key parts in @map of the key image
 * @image (MariaDB's key-image format: null byte, 2-byte length for
 * variable parts, the value). @scratch is a record-sized buffer of the
 * key's table used to run Field::sort_string on a value. Returns whether
 * some encoded part is NULL.
 */
bool encode_key_image(const KEY *key, const uchar *image, key_part_map map,
		      uchar *scratch, std::string *out);

/** Append the encoding of @record's value of the whole key. @image_buf
 *  holds key->key_length bytes. Returns whether some part is NULL. */
bool encode_key_record(const KEY *key, const uchar *record, uchar *image_buf,
		       uchar *scratch, std::string *out);

/** Append the encoding of @record's value of the one part @kp. @image_buf
 *  holds kp->store_length bytes. Returns whether it is NULL. */
bool encode_record_part(const KEY_PART_INFO *kp, const uchar *record, uchar *image_buf,
			uchar *scratch, std::string *out);

/** Bytes of @kp's encoded value (without its NULL marker). */
size_t part_value_width(const KEY_PART_INFO *kp);

} // namespace vamos

#endif
