/* SPDX-License-Identifier: MIT */
/* Private state of the store (store.h), shared by its files. */
#ifndef VAMOS_MYSQL_STORE_INTERNAL_H
#define VAMOS_MYSQL_STORE_INTERNAL_H

#include <lmdb.h>

#include "store.h"

/* Every stored key starts with the table id (4 bytes, big-endian) and the
 * index number (1 byte): one LMDB database holds every table, so no
 * database handle is ever opened or closed after the store is (LMDB's
 * handle calls are not thread-safe), and a table's entries are one range. */
#define MH_KEY_PREFIX 5u

/* A table's catalog entry, as stored (host-written; still size-checked). */
struct table_meta {
	uint32_t version; /* TABLE_META_VERSION */
	uint32_t id;
	uint32_t nsec;
	uint32_t flags;   /* META_HIDDEN_PK */
	uint64_t next_row_id;
	uint64_t next_autoinc;
	uint64_t rows;
	uint64_t bytes;   /* sum of stored primary records */
	uint8_t unique[MH_MAX_INDEXES];
};
#define TABLE_META_VERSION 2u
#define META_HIDDEN_PK 1u

struct mh_store {
	MDB_env *env;
	MDB_dbi catalog, data;
	uint32_t max_key;   /* LMDB's limit, prefix included */
	char error[160];
};

struct mh_txn {
	struct mh_store *s;
	MDB_txn *txn;
	bool write;
};

struct mh_table {
	struct mh_txn *t;
	char name[MH_NAME_MAX + 1];
	struct table_meta meta;
	bool meta_dirty;   /* counters moved: saved by mh_table_close() */
};

/* An LMDB failure as a negative errno, with words kept. */
int mh_lmdb_error(struct mh_store *s, const char *what, int rc);

/* Save @tb's meta back to the catalog. */
int mh_meta_save(struct mh_table *tb);

/* The stored key of (@index, @key ++ @tail) of @tb in @buf (max_key
 * bytes). -EINVAL if too long. */
int mh_key_build(const struct mh_table *tb, unsigned index, struct mh_bytes key,
		 struct mh_bytes tail, unsigned char *buf, MDB_val *out);

/* Split a primary record into its stored secondary keys and row. Returns
 * 0, or -EIO for a record that does not parse (corrupt store). */
int mh_record_parse(const MDB_val *v, uint32_t nsec, struct mh_bytes *sec,
		    struct mh_bytes *row);

#endif
