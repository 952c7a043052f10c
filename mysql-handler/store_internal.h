/* SPDX-License-Identifier: MIT */
/* Private state of the store (store.h), shared by its files. */
#ifndef VAMOS_MYSQL_STORE_INTERNAL_H
#define VAMOS_MYSQL_STORE_INTERNAL_H

#include <lmdb.h>

#include "store.h"

#define MH_NAME_MAX 192

/* A table's catalog entry, as stored (host-written; still size-checked). */
struct table_meta {
	uint32_t version; /* TABLE_META_VERSION */
	uint32_t id;
	uint32_t nsec;
	uint32_t flags;   /* META_HIDDEN_PK */
	uint64_t next_row_id;
	uint8_t unique[MH_MAX_INDEXES];
};
#define TABLE_META_VERSION 1u
#define META_HIDDEN_PK 1u

struct mh_store {
	MDB_env *env;
	MDB_dbi catalog;
	uint32_t max_key;
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
	MDB_dbi dbi[1 + MH_MAX_INDEXES]; /* 0: primary */
};

/* An LMDB failure as -EIO (or the errno it carries), with words kept. */
int mh_lmdb_error(struct mh_store *s, const char *what, int rc);

/* Save @tb's meta back to the catalog (hidden row id moved). */
int mh_meta_save(struct mh_table *tb);

/* Split a primary record into its stored secondary keys and row. Returns
 * 0, or -EIO for a record that does not parse (corrupt store). */
int mh_record_parse(const MDB_val *v, uint32_t nsec, struct mh_bytes *sec,
		    struct mh_bytes *row);

#endif
