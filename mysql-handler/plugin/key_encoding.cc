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
	uint nweights = (uint)(kp->length / cs->mbmaxlen) * cs->strxfrm_multiply;
	cs->strnxfrm((uchar *)&(*out)[at], width, nweights, data, len,
		     MY_STRXFRM_PAD_WITH_SPACE | MY_STRXFRM_PAD_TO_MAXLEN);
	if (length_suffix(kp)) {
		out->push_back((char)(len >> 8));
		out->push_back((char)(len & 0xff));
	}
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

bool encode_key_image(const KEY *key, const uchar *image, key_part_map map,
		      uchar *scratch, std::string *out)
{
	bool any_null = false;
	const uchar *p = image;
	for (uint i = 0; i < key->user_defined_key_parts && (map & 1); i++, map >>= 1) {
		const KEY_PART_INFO *kp = &key->key_part[i];
		size_t start = out->size();
		const uchar *v = p;
		bool null = false;
		if (kp->null_bit) {
			null = *v != 0;
			out->push_back(null ? 0 : 1);
			v++;
		}
		if (null)
			any_null = true;
		else if (collated(kp))
			encode_collated(kp, v, out);
		else
			encode_sorted(kp, v, scratch, out);
		if (kp->key_part_flag & HA_REVERSE_SORT)
			for (size_t j = start; j < out->size(); j++)
				(*out)[j] = (char)~(*out)[j];
		p += kp->store_length;
	}
	return any_null;
}

bool encode_key_record(const KEY *key, const uchar *record, uchar *image_buf,
		       uchar *scratch, std::string *out)
{
	key_copy(image_buf, record, key, key->key_length);
	return encode_key_image(key, image_buf, ~(key_part_map)0, scratch, out);
}

} // namespace vamos
