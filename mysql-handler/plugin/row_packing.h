/* SPDX-License-Identifier: MIT */
/*
 * Rows as the opaque bytes the host stores:
 *   the record's head up to the end of its NULL bitmap (null bits, and
 *   the high bits of BIT fields that live there), then every stored field
 *   that is not NULL, in field order:
 *     BLOB/TEXT (JSON, GEOMETRY): 4-byte little-endian length + the bytes
 *       it points to (they are not inside the record);
 *     VARCHAR: its length bytes + the used bytes;
 *     anything else: its pack_length() bytes as in the record.
 * Virtual columns that are not stored are skipped (the server computes
 * them after a read) unless an index has them: a read that uses only an
 * index (keyread) gets no computed columns from the server, so their
 * values travel in the row as the index has them.
 */
#ifndef HA_VAMOS_ROW_PACKING_H
#define HA_VAMOS_ROW_PACKING_H

#include "server.h"

#include <string>
#include <vector>

namespace vamos {

/** Append @record's packed form to @out. */
void pack_row(TABLE *table, const uchar *record, std::string *out);

/**
 * How a table's packed rows map onto its records, worked out once rather
 * than per row: the head and every run of NOT NULL fixed-size fields that
 * lie back to back in the record are one copy each; a field that can be
 * NULL, a VARCHAR or a BLOB is a step of its own. Offsets are from the
 * record's start, the same in every TABLE of a share.
 */
struct RowLayout {
	struct Step {
		uint32_t off;   /* in the record */
		uint32_t len;   /* a run's bytes; 0 for a field step */
		uint field;     /* a field step's field_index */
	};
	const TABLE_SHARE *share = nullptr; /* built for this share */
	std::vector<Step> steps;

	/** Rebuild unless already built for @table's share. */
	void fit(const TABLE *table)
	{
		if (share != table->s)
			build(table);
	}
	void build(const TABLE *table);
};

/**
 * Unpack @len bytes at @data into @record, straight into its fields
 * (@layout fitted to @table). BLOB fields point into @blobs[field_index]
 * (one String per field, owned by the handler, valid until its next
 * read). Returns 0, or HA_ERR_WRONG_IN_RECORD if the bytes do not fit the
 * table.
 */
int unpack_row(const RowLayout &layout, TABLE *table, uchar *record, const char *data,
	       size_t len, String *blobs);

} // namespace vamos

#endif
