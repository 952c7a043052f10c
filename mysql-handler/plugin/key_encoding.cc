/* SPDX-License-Identifier: MIT */
/* Memcmp-ordered key encoding; the format is described in the header. */
#include "key_encoding.h"

#include <key.h>
#include <sql_type.h>

namespace vamos {

/* Parts whose order comes from a collation: strnxfrm of the value. */
static bool collated(const KEY_PART_INFO *kp)
{
	if (kp->key_part_flag & (HA_BLOB_PART | HA_VAR_LENGTH_PART))
		return true;
	const Type_handler *th = kp->field->type_handler();
	return th == &type_handler_string;
}

static bool var_length(const KEY_PART_INFO *kp)
{
	return kp->key_part_flag & (HA_BLOB_PART | HA_VAR_LENGTH_PART);
}

static bool length_suffix(const KEY_PART_INFO *kp)
{
	CHARSET_INFO *cs = kp->field->charset();
	return var_length(kp) && (cs == &my_charset_bin || (cs->state & MY_CS_NOPAD));
}

static size_t value_width(const KEY_PART_INFO *kp)
{
	if (!collated(kp))
		return kp->field->sort_length();
	CHARSET_INFO *cs = kp->field->charset();
	return cs->strnxfrmlen(kp->length) + (length_suffix(kp) ? 2 : 0);
}

size_t key_encoded_max(const KEY *key)
{
	size_t n = 0;
	for (uint i = 0; i < key->user_defined_key_parts; i++) {
		const KEY_PART_INFO *kp = &key->key_part[i];
		n += (kp->null_bit ? 1 : 0) + value_width(kp);
	}
	return n;
}

static void encode_collated(const KEY_PART_INFO *kp, const uchar *p, std::string *out)
{
	CHARSET_INFO *cs = kp->field->charset();
	const uchar *data = p;
	size_t len = kp->length;
	if (var_length(kp)) {
		len = uint2korr(p);
		data = p + HA_KEY_BLOB_LENGTH;
		if (len > kp->length)
			len = kp->length;
	}
	size_t width = cs->strnxfrmlen(kp->length);
	size_t at = out->size();
	out->resize(at + width);
	uchar *dst = (uchar *)&(*out)[at];
	uint nweights = (uint)(kp->length / cs->mbmaxlen) * cs->strxfrm_multiply;
	if (!length_suffix(kp)) {
		cs->strnxfrm(dst, width, nweights, data, len,
			     MY_STRXFRM_PAD_WITH_SPACE | MY_STRXFRM_PAD_TO_MAXLEN);
		return;
	}
	/* The weights as they are, zero bytes after them, then their length:
	 * values whose weights are equal (an accent-insensitive NO PAD
	 * collation) encode equally; one whose weights are a prefix of
	 * another's sorts first. */
	size_t n = cs->strnxfrm(dst, width, nweights, data, len, 0);
	if (n > width)
		n = width;
	memset(dst + n, 0, width - n);
	out->push_back((char)(n >> 8));
	out->push_back((char)(n & 0xff));
}

static void encode_sorted(const KEY_PART_INFO *kp, const uchar *p, uchar *scratch,
			  std::string *out)
{
	Field *f = kp->field;
	my_ptrdiff_t diff = scratch - f->table->record[0];
	size_t width = f->sort_length();
	size_t at = out->size();
	out->resize(at + width);
	f->move_field_offset(diff);
	f->set_key_image(p, kp->length);
	f->sort_string((uchar *)&(*out)[at], (uint)width);
	f->move_field_offset(-diff);
}

/* Append the encoding of one part's key image @v; returns whether NULL. */
static bool encode_part(const KEY_PART_INFO *kp, const uchar *v, uchar *scratch,
			std::string *out)
{
	size_t start = out->size();
	bool null = false;
	if (kp->null_bit) {
		null = *v != 0;
		out->push_back(null ? 0 : 1);
		v++;
	}
	if (null)
		;
	else if (collated(kp))
		encode_collated(kp, v, out);
	else
		encode_sorted(kp, v, scratch, out);
	if (kp->key_part_flag & HA_REVERSE_SORT)
		for (size_t j = start; j < out->size(); j++)
			(*out)[j] = (char)~(*out)[j];
	return null;
}

bool encode_key_image(const KEY *key, const uchar *image, key_part_map map,
		      uchar *scratch, std::string *out)
{
	bool any_null = false;
	const uchar *p = image;
	for (uint i = 0; i < key->user_defined_key_parts && (map & 1); i++, map >>= 1) {
		const KEY_PART_INFO *kp = &key->key_part[i];
		if (encode_part(kp, p, scratch, out))
			any_null = true;
		p += kp->store_length;
	}
	return any_null;
}

size_t part_value_width(const KEY_PART_INFO *kp)
{
	return value_width(kp);
}

/* key_copy's image of @record's value of part @kp at @to (store_length
 * bytes), built with the field moved onto @record: key_copy would read
 * some types (BIT) through the field's own pointer, i.e. from record[0],
 * whatever record it is given. */
static void record_part_image(const KEY_PART_INFO *kp, const uchar *record, uchar *to)
{
	uchar *next = to + kp->store_length;
	if (kp->null_bit) {
		bool null = (record[kp->null_offset] & kp->null_bit) != 0;
		*to++ = null ? 1 : 0;
		if (null) {
			memset(to, 0, (size_t)(next - to));
			return;
		}
	}
	Field *f = kp->field;
	my_ptrdiff_t diff = record - f->table->record[0];
	f->move_field_offset(diff);
	uint bytes = f->get_key_image(to, kp->length, Field::itRAW);
	f->move_field_offset(-diff);
	if (var_length(kp)) {
		/* a 2-byte length, then the value */
		to += HA_KEY_BLOB_LENGTH;
		if (bytes < kp->length)
			memset(to + bytes, 0, kp->length - bytes);
	} else if (bytes < kp->length) {
		f->charset()->fill((char *)to + bytes, kp->length - bytes, ' ');
	}
}

static void record_key_image(const KEY *key, const uchar *record, uchar *to)
{
	for (uint i = 0; i < key->user_defined_key_parts; i++) {
		record_part_image(&key->key_part[i], record, to);
		to += key->key_part[i].store_length;
	}
}

bool encode_record_part(const KEY_PART_INFO *kp, const uchar *record, uchar *image_buf,
			uchar *scratch, std::string *out)
{
	record_part_image(kp, record, image_buf);
	return encode_part(kp, image_buf, scratch, out);
}

bool encode_key_record(const KEY *key, const uchar *record, uchar *image_buf,
		       uchar *scratch, std::string *out)
{
	record_key_image(key, record, image_buf);
	return encode_key_image(key, image_buf, ~(key_part_map)0, scratch, out);
}

} // namespace vamos
