/* SPDX-License-Identifier: MIT */
/* Row images for the wire; the format is described in the header. */
#include "row_packing.h"

#include "bytes.h"

namespace vamos {

static size_t head_len(const TABLE *table)
{
	return (size_t)(table->null_flags - table->record[0]) + table->s->null_bytes;
}

/* Whether @f's value is in the packed row (see the header). */
static bool in_row(const Field *f)
{
	return f->stored_in_db() || (f->flags & PART_KEY_FLAG);
}

static uint32 read_le(const uchar *p, uint n)
{
	uint32 v = 0;
	for (uint i = 0; i < n; i++)
		v |= (uint32)p[i] << (8 * i);
	return v;
}

void pack_row(TABLE *table, const uchar *record, std::string *out)
{
	put_bytes(out, record, head_len(table));
	my_ptrdiff_t diff = record - table->record[0];
	for (Field **fp = table->field; *fp; fp++) {
		Field *f = *fp;
		if (!in_row(f) || f->is_null_in_record(record))
			continue;
		const uchar *p = f->ptr + diff;
		if (f->flags & BLOB_FLAG) {
			Field_blob *b = static_cast<Field_blob *>(f);
			uint pl = b->pack_length_no_ptr();
			uint32 n = read_le(p, pl);
			const uchar *data;
			memcpy(&data, p + pl, sizeof data);
			put(out, n);
			if (n)
				put_bytes(out, data, n);
		} else if (f->real_type() == MYSQL_TYPE_VARCHAR) {
			uint lb = static_cast<Field_varstring *>(f)->length_bytes;
			uint32 n = read_le(p, lb);
			put_bytes(out, p, lb + n);
		} else {
			put_bytes(out, p, f->pack_length());
		}
	}
}

int unpack_row(TABLE *table, uchar *record, const char *data, size_t len, String *blobs)
{
	const uchar *p = reinterpret_cast<const uchar *>(data);
	const uchar *end = p + len;
	size_t head = head_len(table);
	if (len < head)
		return HA_ERR_WRONG_IN_RECORD;
	memcpy(record, p, head);
	p += head;
	my_ptrdiff_t diff = record - table->record[0];
	for (Field **fp = table->field; *fp; fp++) {
		Field *f = *fp;
		if (!in_row(f))
			continue;
		uchar *to = f->ptr + diff;
		if (f->is_null_in_record(record)) {
			/* The bytes the server leaves under a NULL (Field::reset,
			 * as in set_field_to_null): comparing records (an
			 * UPDATE or ON DUPLICATE KEY UPDATE that changes
			 * nothing) then finds no difference. */
			f->move_field_offset(diff);
			f->reset();
			f->move_field_offset(-diff);
			continue;
		}
		if (f->flags & BLOB_FLAG) {
			Field_blob *b = static_cast<Field_blob *>(f);
			uint32 n;
			if (end - p < 4)
				return HA_ERR_WRONG_IN_RECORD;
			memcpy(&n, p, 4);
			p += 4;
			if ((size_t)(end - p) < n)
				return HA_ERR_WRONG_IN_RECORD;
			String &s = blobs[f->field_index];
			if (s.copy(reinterpret_cast<const char *>(p), n, &my_charset_bin))
				return HA_ERR_OUT_OF_MEM;
			b->set_ptr_offset(diff, n, reinterpret_cast<const uchar *>(s.ptr()));
			p += n;
		} else if (f->real_type() == MYSQL_TYPE_VARCHAR) {
			uint lb = static_cast<Field_varstring *>(f)->length_bytes;
			if ((size_t)(end - p) < lb)
				return HA_ERR_WRONG_IN_RECORD;
			uint32 n = read_le(p, lb);
			if ((size_t)(end - p) < lb + n || n > f->field_length)
				return HA_ERR_WRONG_IN_RECORD;
			memcpy(to, p, lb + n);
			p += lb + n;
		} else {
			uint n = f->pack_length();
			if ((size_t)(end - p) < n)
				return HA_ERR_WRONG_IN_RECORD;
			memcpy(to, p, n);
			p += n;
		}
	}
	return p == end ? 0 : HA_ERR_WRONG_IN_RECORD;
}

} // namespace vamos
