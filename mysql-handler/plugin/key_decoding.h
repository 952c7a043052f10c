/* SPDX-License-Identifier: MIT */
/*
 * Covering reads: an index entry's key (key_encoding.h) turned back into
 * the values of its columns, for the types whose encoding holds the value
 * itself rather than a sort key: integers of every size (sign bit flipped
 * back), YEAR, DATE, DATETIME, TIMESTAMP and TIME (MariaDB's own
 * memcmp-ordered formats), and CHAR/BINARY and VARCHAR/VARBINARY of a
 * single-byte binary collation (the bytes themselves; a VARCHAR only with
 * the binary charset or a NO PAD collation, whose encoding keeps trailing
 * spaces and the length). Not: other collations (the weights are a sort
 * key: 'a' and 'A' encode alike), prefix parts, BLOB/TEXT, floating
 * point, DECIMAL, ENUM/SET, BIT, generated columns.
 */
#ifndef HA_VAMOS_KEY_DECODING_H
#define HA_VAMOS_KEY_DECODING_H

#include "server.h"

#include <string>

namespace vamos {

/** Can @kp's encoding be turned back into its column's value exactly? */
bool part_decodable(const KEY_PART_INFO *kp);

/** Can every declared part of @key? */
bool key_decodable(const KEY *key);

/**
 * Decode the parts of @key (all decodable) from the encoded key @bytes
 * (@len bytes, from vamosd) into @record: each column's value and NULL
 * bit. Every part is then encoded again from @record and must give back
 * its bytes, so a key that is not exactly our encoding is refused, not
 * half-read. @image_buf holds key->key_length bytes; @scratch is the
 * table's record-sized scratch; @tmp any string. Returns the bytes the
 * parts take (a unique key with a NULL has a suffix after them), or -1
 * when the key is malformed. *@any_null says whether a part was NULL.
 */
long decode_key(const KEY *key, const uchar *bytes, size_t len, uchar *record,
		uchar *image_buf, uchar *scratch, std::string *tmp, bool *any_null);

} // namespace vamos

#endif
