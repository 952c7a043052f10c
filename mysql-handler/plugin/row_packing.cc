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

static bool fixed_size(const Field *f)
{
	return !(f->flags & BLOB_FLAG) && f->real_type() != MYSQL_TYPE_VARCHAR;
}

void RowLayout::build(const TABLE *table)
{
	steps.clear();
	if (size_t head = head_len(table))
		steps.push_back({ 0, (uint32_t)head, 0 });
	for (Field **fp = table->field; *fp; fp++) {
		const Field *f = *fp;
		if (!in_row(f))
			continue;
		uint32_t off = (uint32_t)(f->ptr - table->record[0]);
		if (f->real_maybe_null() || !fixed_size(f)) {
			steps.push_back({ off, 0, f->field_index });
			continue;
		}
		uint32_t n = f->pack_length();
		/* Always there and right after the run before it: one copy. */
		if (!steps.empty() && steps.back().len && steps.back().off + steps.back().len == off)
			steps.back().len += n;
		else
			steps.push_back({ off, n, f->field_index });
	}
	share = table->s;
}

/* One field that may be NULL, or of variable size, from @p (before @end)
 * into @record. Returns the bytes taken, -1 if they do not fit, -2 when
 * there is no memory for a BLOB's bytes. */
static long unpack_field(Field *f, uchar *record, my_ptrdiff_t diff, const uchar *p,
			 const uchar *end, String *blobs)
{
	uchar *to = f->ptr + diff;
	if (f->is_null_in_record(record)) {
		/* The bytes the server leaves under a NULL (Field::reset, as
		 * in set_field_to_null): comparing records (an UPDATE or ON
		 * DUPLICATE KEY UPDATE that changes nothing) then finds no
		 * difference. */
		f->move_field_offset(diff);
		f->reset();
		f->move_field_offset(-diff);
		return 0;
	}
	if (f->flags & BLOB_FLAG) {
		Field_blob *b = static_cast<Field_blob *>(f);
		uint32 n;
		if (end - p < 4)
			return -1;
		memcpy(&n, p, 4);
		if ((size_t)(end - p - 4) < n)
			return -1;
		String &s = blobs[f->field_index];
		if (s.copy(reinterpret_cast<const char *>(p + 4), n, &my_charset_bin))
			return -2;
		b->set_ptr_offset(diff, n, reinterpret_cast<const uchar *>(s.ptr()));
		return 4 + (long)n;
	}
	if (f->real_type() == MYSQL_TYPE_VARCHAR) {
		uint lb = static_cast<Field_varstring *>(f)->length_bytes;
		if ((size_t)(end - p) < lb)
			return -1;
		uint32 n = read_le(p, lb);
		if ((size_t)(end - p) < lb + n || n > f->field_length)
			return -1;
		memcpy(to, p, lb + n);
		return (long)(lb + n);
	}
	uint n = f->pack_length();
	if ((size_t)(end - p) < n)
		return -1;
	memcpy(to, p, n);
	return n;
}

int unpack_row(const RowLayout &layout, TABLE *table, uchar *record, const char *data,
	       size_t len, String *blobs)
{
	const uchar *p = reinterpret_cast<const uchar *>(data);
	const uchar *end = p + len;
	my_ptrdiff_t diff = record - table->record[0];
	/* Trust: every step checks that its bytes are there before it copies
	 * them, and the row must end exactly at the last step. The head comes
	 * first, so NULL bits are known before any field that may be NULL. */
	for (const RowLayout::Step &s : layout.steps) {
		if (s.len) {
			if ((size_t)(end - p) < s.len)
				return HA_ERR_WRONG_IN_RECORD;
			memcpy(record + s.off, p, s.len);
			p += s.len;
			continue;
		}
		long n = unpack_field(table->field[s.field], record, diff, p, end, blobs);
		if (n < 0)
			return n == -2 ? HA_ERR_OUT_OF_MEM : HA_ERR_WRONG_IN_RECORD;
		p += n;
	}
	return p == end ? 0 : HA_ERR_WRONG_IN_RECORD;
}

} // namespace vamos
