/* SPDX-License-Identifier: MIT */
/* Encoded keys back into column values; what decodes is in the header. */
#include "key_decoding.h"

#include <string.h>

#include <field.h>
#include <sql_type.h>

#include "key_encoding.h"
#include "key_split.h"

namespace vamos {

enum class kind { none, integer, date3, raw, bytes, counted_bytes };

/* The encoding is the bytes themselves: one byte a character, compared
 * as bytes (the binary charset, latin1_bin, ...). */
static bool byte_collation(const CHARSET_INFO *cs)
{
	return cs->mbmaxlen == 1 && (cs->state & MY_CS_BINSORT) && cs->strxfrm_multiply == 1;
}

static kind kind_of(const KEY_PART_INFO *kp)
{
	Field *f = kp->field;
	if ((f->flags & BLOB_FLAG) || f->vcol_info || kp->length != f->key_length() ||
	    (kp->key_part_flag & (HA_BLOB_PART | HA_BIT_PART | HA_PART_KEY_SEG)))
		return kind::none;
	switch (f->real_type()) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR:
		return f->sort_length() == f->pack_length() ? kind::integer : kind::none;
	case MYSQL_TYPE_NEWDATE:
		return f->pack_length() == 3 && f->sort_length() == 3 ? kind::date3 : kind::none;
	case MYSQL_TYPE_DATETIME2:
	case MYSQL_TYPE_TIMESTAMP2:
	case MYSQL_TYPE_TIME2:
		/* Stored big-endian and memcmp-ordered; sort_string copies it. */
		return f->sort_length() == f->pack_length() ? kind::raw : kind::none;
	case MYSQL_TYPE_STRING:
		if (f->type_handler() != &type_handler_string || !byte_collation(f->charset()) ||
		    f->charset()->strnxfrmlen(kp->length) != kp->length ||
		    f->pack_length() != kp->length)
			return kind::none;
		return kind::bytes;
	case MYSQL_TYPE_VARCHAR: {
		const CHARSET_INFO *cs = f->charset();
		/* A PAD SPACE collation's encoding drops trailing spaces. */
		if (!(kp->key_part_flag & HA_VAR_LENGTH_PART) || !byte_collation(cs) ||
		    !(cs == &my_charset_bin || (cs->state & MY_CS_NOPAD)) ||
		    cs->strnxfrmlen(kp->length) != kp->length)
			return kind::none;
		return kind::counted_bytes;
	}
	default:
		return kind::none;
	}
}

bool part_decodable(const KEY_PART_INFO *kp)
{
	return kind_of(kp) != kind::none;
}

bool key_decodable(const KEY *key)
{
	for (uint i = 0; i < key->user_defined_key_parts; i++)
		if (!part_decodable(&key->key_part[i]))
			return false;
	return true;
}

static part_shape shape_of(const KEY_PART_INFO *kp)
{
	part_shape s{};
	bool counted = kind_of(kp) == kind::counted_bytes;
	s.width = (uint16_t)(part_value_width(kp) - (counted ? 2 : 0));
	s.nullable = kp->null_bit != 0;
	s.reverse = (kp->key_part_flag & HA_REVERSE_SORT) != 0;
	s.counted = counted;
	return s;
}

/* Put the plain value @v (s.width bytes, or the count of a counted part)
 * into @kp's column in @record. */
static void store_value(const KEY_PART_INFO *kp, const uint8_t *v, size_t len, uchar *record)
{
	Field *f = kp->field;
	uchar *to = record + (f->ptr - f->table->record[0]);
	size_t w = f->pack_length();
	switch (kind_of(kp)) {
	case kind::integer:
		/* Big-endian with the sign bit flipped -> little-endian. */
		for (size_t i = 0; i < w; i++)
			to[i] = v[w - 1 - i];
		if (!(f->flags & UNSIGNED_FLAG))
			to[w - 1] ^= 0x80;
		break;
	case kind::date3:
		to[0] = v[2];
		to[1] = v[1];
		to[2] = v[0];
		break;
	case kind::raw:
	case kind::bytes:
		memcpy(to, v, w);
		break;
	case kind::counted_bytes: {
		size_t length_bytes = w - f->field_length;
		if (length_bytes == 1)
			to[0] = (uchar)len;
		else
			int2store(to, (uint16)len);
		memcpy(to + length_bytes, v, len);
		break;
	}
	case kind::none:
		break;
	}
}

long decode_key(const KEY *key, const uchar *bytes, size_t len, uchar *record,
		uchar *image_buf, uchar *scratch, std::string *tmp, bool *any_null)
{
	uint n = key->user_defined_key_parts;
	part_shape shapes[MAX_REF_PARTS];
	part_value values[MAX_REF_PARTS];
	*any_null = false;
	if (n > MAX_REF_PARTS)
		return -1;
	for (uint i = 0; i < n; i++) {
		if (!part_decodable(&key->key_part[i]))
			return -1;
		shapes[i] = shape_of(&key->key_part[i]);
	}
	tmp->resize(len);
	uint8_t *plain = (uint8_t *)&(*tmp)[0];
	long used = split_key(shapes, n, bytes, len, plain, values);
	if (used < 0)
		return -1;
	for (uint i = 0; i < n; i++) {
		const KEY_PART_INFO *kp = &key->key_part[i];
		if (kp->null_bit) {
			if (values[i].null)
				record[kp->null_offset] |= kp->null_bit;
			else
				record[kp->null_offset] &= (uchar)~kp->null_bit;
		}
		if (values[i].null)
			*any_null = true;
		else
			store_value(kp, plain + values[i].at, values[i].len, record);
	}
	/* Trust check: each part encodes back to exactly the bytes it came
	 * from, so the values are the ones the key was made of. */
	static thread_local std::string again;
	const uchar *p = bytes;
	for (uint i = 0; i < n; i++) {
		const KEY_PART_INFO *kp = &key->key_part[i];
		again.clear();
		encode_record_part(kp, record, image_buf, scratch, &again);
		if (again.size() > (size_t)(bytes + used - p) || memcmp(again.data(), p, again.size()))
			return -1;
		p += again.size();
	}
	return used;
}

} // namespace vamos
