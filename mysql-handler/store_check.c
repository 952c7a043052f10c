/* SPDX-License-Identifier: MIT */
/*
 * CHECK TABLE on the store: a table's primary records and secondary
 * entries must match one to one. From the rows: each record parses, and
 * for each secondary i the entry i.key ++ pk exists and holds the key's
 * length. From the entries: each parses (its value is a key length that
 * fits the stored key, leaving a primary key), and the record it names
 * exists and holds that key for that index. Both passes read @t's
 * snapshot, so a consistent table checks clean while others write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static void note(struct mh_check *out, unsigned index)
{
	if (out->index < 0)
		out->index = (int)index;
}

/* The primary record of @pk in @tb at the snapshot: 0 (the caller frees
 * *@rec), -ENOENT, or an error. */
static int get_record(struct mh_table *tb, struct mh_bytes pk, unsigned char *buf, char **rec,
		      size_t *size)
{
	static const struct mh_bytes none = { NULL, 0 };
	int len = mh_key_build(tb->meta.id, 0, pk, none, buf);
	if (len < 0)
		return -ENOENT; /* no record can have such a key */
	return mh_kv_get(tb->t, buf, (size_t)len, MH_AT_SNAPSHOT, rec, size);
}

/* Each record's secondary entries exist, with the key's length. */
static int check_rows(struct mh_table *tb, unsigned char *buf, struct mh_check *out)
{
	unsigned char lo[MH_KEY_PREFIX];
	mh_be32(tb->meta.id, lo);
	lo[4] = 0;
	rocksdb_iterator_t *it = mh_kv_iter(tb->t, false);
	int rc = 0;
	for (rocksdb_iter_seek(it, (const char *)lo, sizeof lo); rc == 0 && rocksdb_iter_valid(it);
	     rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		if (kl <= sizeof lo || memcmp(k, lo, sizeof lo))
			break;
		const char *v = rocksdb_iter_value(it, &vl);
		out->rows++;
		struct mh_bytes sec[MH_MAX_INDEXES], row;
		struct mh_bytes pk = { k + sizeof lo, (uint32_t)(kl - sizeof lo) };
		if (mh_record_parse(v, vl, tb->meta.nsec, sec, &row)) {
			out->bad++;
			note(out, 0);
			continue;
		}
		for (unsigned i = 1; i <= tb->meta.nsec; i++) {
			int len = mh_key_build(tb->meta.id, i, sec[i - 1], pk, buf);
			char *e = NULL;
			size_t el = 0;
			int got = len < 0 ? -ENOENT
					  : mh_kv_get(tb->t, buf, (size_t)len, MH_AT_SNAPSHOT, &e, &el);
			uint32_t keylen = 0;
			if (got == 0 && el == sizeof keylen)
				memcpy(&keylen, e, sizeof keylen);
			free(e);
			if (got && got != -ENOENT) {
				rc = got;
				break;
			}
			if (got || keylen != sec[i - 1].len) {
				out->missing++;
				note(out, i);
			}
		}
	}
	char *err = NULL;
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	return err ? mh_rocks_error(tb->t->s, "check rows", err) : rc;
}

/* Each entry of secondary @i names a record that holds its key. */
static int check_index(struct mh_table *tb, unsigned i, unsigned char *buf, struct mh_check *out)
{
	unsigned char lo[MH_KEY_PREFIX];
	mh_be32(tb->meta.id, lo);
	lo[4] = (unsigned char)i;
	rocksdb_iterator_t *it = mh_kv_iter(tb->t, false);
	int rc = 0;
	for (rocksdb_iter_seek(it, (const char *)lo, sizeof lo); rc == 0 && rocksdb_iter_valid(it);
	     rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		if (kl <= sizeof lo || memcmp(k, lo, sizeof lo))
			break;
		const char *v = rocksdb_iter_value(it, &vl);
		out->entries++;
		/* Our own layout, still checked: the key length must leave a
		 * non-empty primary key inside the stored key. */
		uint32_t keylen;
		size_t rest = kl - sizeof lo;
		if (vl != sizeof keylen) {
			out->bad++;
			note(out, i);
			continue;
		}
		memcpy(&keylen, v, sizeof keylen);
		if (keylen == 0 || keylen >= rest) {
			out->bad++;
			note(out, i);
			continue;
		}
		struct mh_bytes key = { k + sizeof lo, keylen };
		struct mh_bytes pk = { k + sizeof lo + keylen, (uint32_t)(rest - keylen) };
		char *rec = NULL;
		size_t size = 0;
		int got = get_record(tb, pk, buf, &rec, &size);
		if (got && got != -ENOENT) {
			rc = got;
			break;
		}
		struct mh_bytes sec[MH_MAX_INDEXES], row;
		bool holds = got == 0 && mh_record_parse(rec, size, tb->meta.nsec, sec, &row) == 0 &&
			     sec[i - 1].len == key.len &&
			     !memcmp(sec[i - 1].data, key.data, key.len);
		free(rec);
		if (!holds) {
			out->orphans++;
			note(out, i);
		}
	}
	char *err = NULL;
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	return err ? mh_rocks_error(tb->t->s, "check index", err) : rc;
}

int mh_table_check(struct mh_txn *t, struct mh_table *tb, struct mh_check *out)
{
	if (tb->t != t)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	out->index = -1;
	unsigned char *buf = malloc(MH_STORED_MAX);
	if (!buf)
		return -ENOMEM;
	int rc = check_rows(tb, buf, out);
	for (unsigned i = 1; rc == 0 && i <= tb->meta.nsec; i++)
		rc = check_index(tb, i, buf, out);
	free(buf);
	return rc;
}
