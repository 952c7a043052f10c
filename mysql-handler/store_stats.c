/* SPDX-License-Identifier: MIT */
/* RocksDB's own statistics of a store: the approximate on-disk size of a
 * key range, the snapshots held, and a flush (which makes new rows count
 * in those sizes). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* RocksDB's C API asks sizes of a rocksdb_t only, and has no way to get
 * a pessimistic TransactionDB's. Both handles are a struct holding one
 * pointer to the DB object (a TransactionDB is a DB, by single
 * inheritance), so the TransactionDB's handle serves as a rocksdb_t. */
static rocksdb_t *as_db(struct mh_store *s)
{
	return (rocksdb_t *)(void *)s->db;
}

uint64_t mh_range_bytes(struct mh_store *s, const unsigned char *lo, size_t lo_len,
			const unsigned char *hi, size_t hi_len)
{
	const char *start[1] = { (const char *)lo }, *limit[1] = { (const char *)hi };
	size_t start_len[1] = { lo_len }, limit_len[1] = { hi_len };
	uint64_t size[1] = { 0 };
	char *err = NULL;
	/* SST files only: this C API cannot add the memtables. */
	rocksdb_approximate_sizes(as_db(s), 1, start, start_len, limit, limit_len, size, &err);
	if (err) {
		free(err);
		return 0; /* an estimate: none, rather than a failure */
	}
	return size[0];
}

uint64_t mh_store_snapshots(struct mh_store *s)
{
	uint64_t n = 0;
	if (rocksdb_transactiondb_property_int(s->db, "rocksdb.num-snapshots", &n))
		return 0;
	return n;
}

uint64_t mh_store_wal_writes(struct mh_store *s)
{
	char *text = rocksdb_transactiondb_property_value(s->db, "rocksdb.dbstats");
	if (!text)
		return 0;
	/* "Cumulative WAL: 12 writes, 3 syncs, ..." (above 9999: "12K") */
	unsigned long long n = 0;
	const char *at = strstr(text, "Cumulative WAL: ");
	if (!at || sscanf(at, "Cumulative WAL: %llu", &n) != 1)
		n = 0;
	free(text);
	return n;
}

int mh_store_flush(struct mh_store *s)
{
	rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
	if (!fo)
		return -ENOMEM;
	rocksdb_flushoptions_set_wait(fo, 1);
	char *err = NULL;
	rocksdb_transactiondb_flush(s->db, fo, &err);
	rocksdb_flushoptions_destroy(fo);
	return err ? mh_rocks_error(s, "flush", err) : 0;
}

uint64_t mh_index_bytes(struct mh_table *tb, unsigned index, struct mh_bytes from,
			struct mh_bytes to)
{
	static const struct mh_bytes none = { 0 };
	unsigned char *lo = malloc(2 * (size_t)MH_STORED_MAX), *hi = lo + MH_STORED_MAX;
	if (!lo)
		return 0;
	int lo_len = mh_key_build(tb->meta.id, index, from, none, lo);
	/* An open end: the next index's first key. */
	int hi_len = to.len ? mh_key_build(tb->meta.id, index, to, none, hi)
			    : mh_key_build(tb->meta.id, index + 1, none, none, hi);
	uint64_t n = 0;
	if (lo_len > 0 && hi_len > 0)
		n = mh_range_bytes(tb->t->s, lo, (size_t)lo_len, hi, (size_t)hi_len);
	free(lo);
	return n;
}
