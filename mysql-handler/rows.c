/* SPDX-License-Identifier: MIT */
/* Writing, updating and deleting rows with every index kept in step. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int mh_record_parse(const MDB_val *v, uint32_t nsec, struct mh_bytes *sec,
		    struct mh_bytes *row)
{
	const unsigned char *p = v->mv_data;
	size_t left = v->mv_size, off = 0;
	/* Our own layout, but checked: a damaged store gives -EIO, never a
	 * read past the value. */
	for (uint32_t i = 0; i < nsec; i++) {
		uint32_t len;
		if (left - off < sizeof len)
			return -EIO;
		memcpy(&len, p + off, sizeof len);
		off += sizeof len;
		if (left - off < len)
			return -EIO;
		if (sec) {
			sec[i].data = p + off;
			sec[i].len = len;
		}
		off += len;
	}
	row->data = p + off;
	row->len = (uint32_t)(left - off);
	return 0;
}

int mh_key_build(const struct mh_table *tb, unsigned index, struct mh_bytes key,
		 struct mh_bytes tail, unsigned char *buf, MDB_val *out)
{
	size_t len = MH_KEY_PREFIX + (size_t)key.len + tail.len;
	if (len > tb->t->s->max_key)
		return -EINVAL;
	uint32_t id = tb->meta.id;
	buf[0] = (unsigned char)(id >> 24);
	buf[1] = (unsigned char)(id >> 16);
	buf[2] = (unsigned char)(id >> 8);
	buf[3] = (unsigned char)id;
	buf[4] = (unsigned char)index;
	if (key.len)
		memcpy(buf + MH_KEY_PREFIX, key.data, key.len);
	if (tail.len)
		memcpy(buf + MH_KEY_PREFIX + key.len, tail.data, tail.len);
	out->mv_data = buf;
	out->mv_size = len;
	return 0;
}

/* Build the stored record: secondary keys, then the row. */
static unsigned char *record_build(const struct mh_bytes *sec, uint32_t nsec,
				   struct mh_bytes row, size_t *size)
{
	size_t n = row.len;
	for (uint32_t i = 0; i < nsec; i++)
		n += sizeof(uint32_t) + sec[i].len;
	unsigned char *buf = malloc(n ? n : 1), *p = buf;
	if (!buf)
		return NULL;
	for (uint32_t i = 0; i < nsec; i++) {
		memcpy(p, &sec[i].len, sizeof(uint32_t));
		p += sizeof(uint32_t);
		if (sec[i].len)
			memcpy(p, sec[i].data, sec[i].len);
		p += sec[i].len;
	}
	if (row.len)
		memcpy(p, row.data, row.len);
	*size = n;
	return buf;
}

static void be64(uint64_t v, unsigned char out[8])
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (unsigned char)v;
}

static bool same(struct mh_bytes a, struct mh_bytes b)
{
	return a.len == b.len && (!a.len || !memcmp(a.data, b.data, a.len));
}

static const struct mh_bytes NONE = { NULL, 0 };

/* Is a unique secondary's @key taken, i.e. does an entry start with it?
 * 1 yes, 0 no, or an error. */
static int taken(struct mh_table *tb, unsigned i, struct mh_bytes key, unsigned char *buf)
{
	MDB_val k, v;
	int rc = mh_key_build(tb, i, key, NONE, buf, &k);
	if (rc)
		return rc;
	size_t want = k.mv_size;
	MDB_cursor *c;
	if ((rc = mdb_cursor_open(tb->t->txn, tb->t->s->data, &c)))
		return mh_lmdb_error(tb->t->s, "cursor", rc);
	/* @buf is only read by LMDB here; the hit (if any) is compared to it. */
	MDB_val probe = k;
	rc = mdb_cursor_get(c, &probe, &v, MDB_SET_RANGE);
	int hit = rc == 0 && probe.mv_size >= want && !memcmp(probe.mv_data, buf, want);
	mdb_cursor_close(c);
	if (rc && rc != MDB_NOTFOUND)
		return mh_lmdb_error(tb->t->s, "index lookup", rc);
	return hit;
}

/*
 * Find a clash before anything is written: @pk (when @check_pk) already
 * stored, or a unique secondary key of @sec already taken, skipping keys
 * equal to the row's own @keep (its current keys, on update; NULL on
 * insert). Returns 0, -EEXIST with *@dup_index, or an error.
 */
static int find_clash(struct mh_table *tb, struct mh_bytes pk, bool check_pk,
		      const struct mh_bytes *sec, const struct mh_bytes *keep,
		      unsigned char *buf, int *dup_index)
{
	if (check_pk) {
		MDB_val k, v;
		int rc = mh_key_build(tb, 0, pk, NONE, buf, &k);
		if (rc)
			return rc;
		rc = mdb_get(tb->t->txn, tb->t->s->data, &k, &v);
		if (rc == 0) {
			*dup_index = 0;
			return -EEXIST;
		}
		if (rc != MDB_NOTFOUND)
			return mh_lmdb_error(tb->t->s, "lookup", rc);
	}
	for (unsigned i = 1; i <= tb->meta.nsec; i++) {
		if (!tb->meta.unique[i - 1] || (keep && same(sec[i - 1], keep[i - 1])))
			continue;
		int rc = taken(tb, i, sec[i - 1], buf);
		if (rc == 1) {
			*dup_index = (int)i;
			return -EEXIST;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Put (or, with @del, remove) the secondary entries of one row: key ++ pk
 * -> key length. */
static int index_row(struct mh_table *tb, struct mh_bytes pk, const struct mh_bytes *sec,
		     bool del, unsigned char *buf)
{
	for (unsigned i = 1; i <= tb->meta.nsec; i++) {
		MDB_val k, v;
		int rc = mh_key_build(tb, i, sec[i - 1], pk, buf, &k);
		if (rc)
			return rc;
		if (del) {
			rc = mdb_del(tb->t->txn, tb->t->s->data, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else {
			uint32_t keylen = sec[i - 1].len;
			v.mv_data = &keylen;
			v.mv_size = sizeof keylen;
			rc = mdb_put(tb->t->txn, tb->t->s->data, &k, &v, 0);
		}
		if (rc)
			return mh_lmdb_error(tb->t->s, del ? "index delete" : "index put", rc);
	}
	return 0;
}

/* Every argument checked before anything is written: a refused call
 * leaves the table as it was. */
static int check_args(struct mh_table *tb, struct mh_bytes pk, const struct mh_bytes *sec)
{
	uint32_t max = tb->t->s->max_key - MH_KEY_PREFIX;
	if (!tb->t->write || (tb->meta.nsec && !sec))
		return -EINVAL;
	if (pk.len == 0 || pk.len > max)
		return -EINVAL;
	for (unsigned i = 0; i < tb->meta.nsec; i++)
		if (sec[i].len == 0 || (uint64_t)sec[i].len + pk.len > max)
			return -EINVAL;
	return 0;
}

/* Store the primary record of @pk. */
static int put_record(struct mh_table *tb, struct mh_bytes pk, const struct mh_bytes *sec,
		      struct mh_bytes row, unsigned flags, unsigned char *buf, size_t *size)
{
	MDB_val k, v;
	int rc = mh_key_build(tb, 0, pk, NONE, buf, &k);
	if (rc)
		return rc;
	unsigned char *rec = record_build(sec, tb->meta.nsec, row, size);
	if (!rec)
		return -ENOMEM;
	v.mv_data = rec;
	v.mv_size = *size;
	rc = mdb_put(tb->t->txn, tb->t->s->data, &k, &v, flags);
	free(rec);
	return rc ? mh_lmdb_error(tb->t->s, "put", rc) : 0;
}

int mh_row_write(struct mh_txn *t, struct mh_table *tb, struct mh_bytes pk,
		 struct mh_bytes row, const struct mh_bytes *sec, uint64_t *hidden_id,
		 int *dup_index)
{
	unsigned char hidden[MH_HIDDEN_PK_LEN];
	if (tb->meta.flags & META_HIDDEN_PK) {
		be64(tb->meta.next_row_id, hidden);
		pk.data = hidden;
		pk.len = sizeof hidden;
	}
	int rc = check_args(tb, pk, sec);
	if (rc)
		return rc;
	unsigned char *buf = malloc(t->s->max_key);
	if (!buf)
		return -ENOMEM;
	size_t size;
	if ((rc = find_clash(tb, pk, true, sec, NULL, buf, dup_index)) ||
	    (rc = put_record(tb, pk, sec, row, MDB_NOOVERWRITE, buf, &size)) ||
	    (rc = index_row(tb, pk, sec, false, buf)))
		goto out;
	if (tb->meta.flags & META_HIDDEN_PK) {
		if (hidden_id)
			*hidden_id = tb->meta.next_row_id;
		tb->meta.next_row_id++;
	}
	tb->meta.rows++;
	tb->meta.bytes += size;
	tb->meta_dirty = true;
out:
	free(buf);
	return rc;
}

/* The stored secondary keys of the row at @pk (copied to @copy, which
 * the caller frees) and the record's size. */
static int load_old(struct mh_table *tb, struct mh_bytes pk, struct mh_bytes *sec,
		    unsigned char **copy, size_t *size, unsigned char *buf)
{
	MDB_val k, v;
	int rc = mh_key_build(tb, 0, pk, NONE, buf, &k);
	if (rc)
		return rc;
	rc = mdb_get(tb->t->txn, tb->t->s->data, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? -ENOENT : mh_lmdb_error(tb->t->s, "lookup", rc);
	/* Copied: the writes below may move LMDB's pages under @v. */
	*copy = malloc(v.mv_size ? v.mv_size : 1);
	if (!*copy)
		return -ENOMEM;
	memcpy(*copy, v.mv_data, v.mv_size);
	*size = v.mv_size;
	MDB_val c = { v.mv_size, *copy };
	struct mh_bytes row;
	return mh_record_parse(&c, tb->meta.nsec, sec, &row);
}

int mh_row_update(struct mh_txn *t, struct mh_table *tb, struct mh_bytes old_pk,
		  struct mh_bytes new_pk, struct mh_bytes row, const struct mh_bytes *sec,
		  int *dup_index)
{
	if (tb->meta.flags & META_HIDDEN_PK)
		new_pk = old_pk; /* the hidden row id never changes */
	int rc = check_args(tb, new_pk, sec);
	if (rc || (rc = check_args(tb, old_pk, sec)))
		return rc;
	struct mh_bytes old_sec[MH_MAX_INDEXES];
	unsigned char *old = NULL, *buf = malloc(t->s->max_key);
	if (!buf)
		return -ENOMEM;
	size_t old_size, size;
	if ((rc = load_old(tb, old_pk, old_sec, &old, &old_size, buf)))
		goto out;
	bool moved = !same(old_pk, new_pk);
	/* A key clashes only if it changed and another row has it. */
	if ((rc = find_clash(tb, new_pk, moved, sec, old_sec, buf, dup_index)) ||
	    (rc = index_row(tb, old_pk, old_sec, true, buf)))
		goto out;
	if (moved) {
		MDB_val ok;
		if ((rc = mh_key_build(tb, 0, old_pk, NONE, buf, &ok)))
			goto out;
		if ((rc = mdb_del(t->txn, t->s->data, &ok, NULL))) {
			rc = mh_lmdb_error(t->s, "delete", rc);
			goto out;
		}
	}
	if ((rc = put_record(tb, new_pk, sec, row, 0, buf, &size)) ||
	    (rc = index_row(tb, new_pk, sec, false, buf)))
		goto out;
	tb->meta.bytes += size - old_size;
	tb->meta_dirty = true;
out:
	free(old);
	free(buf);
	return rc;
}

int mh_row_delete(struct mh_txn *t, struct mh_table *tb, struct mh_bytes pk)
{
	if (!t->write || pk.len == 0 || pk.len > t->s->max_key - MH_KEY_PREFIX)
		return -EINVAL;
	struct mh_bytes old_sec[MH_MAX_INDEXES];
	unsigned char *old = NULL, *buf = malloc(t->s->max_key);
	if (!buf)
		return -ENOMEM;
	size_t old_size = 0;
	MDB_val k;
	int rc = load_old(tb, pk, old_sec, &old, &old_size, buf);
	if (!rc)
		rc = index_row(tb, pk, old_sec, true, buf);
	if (!rc)
		rc = mh_key_build(tb, 0, pk, NONE, buf, &k);
	if (!rc && (rc = mdb_del(t->txn, t->s->data, &k, NULL)))
		rc = mh_lmdb_error(t->s, "delete", rc);
	if (!rc) {
		tb->meta.rows--;
		tb->meta.bytes -= old_size;
		tb->meta_dirty = true;
	}
	free(old);
	free(buf);
	return rc;
}

int mh_row_get(struct mh_txn *t, struct mh_table *tb, struct mh_bytes pk,
	       struct mh_bytes *row)
{
	unsigned char buf[512];
	if (pk.len == 0 || pk.len > t->s->max_key - MH_KEY_PREFIX || t->s->max_key > sizeof buf)
		return -EINVAL;
	MDB_val k, v;
	int rc = mh_key_build(tb, 0, pk, NONE, buf, &k);
	if (rc)
		return rc;
	rc = mdb_get(t->txn, t->s->data, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? -ENOENT : mh_lmdb_error(t->s, "lookup", rc);
	return mh_record_parse(&v, tb->meta.nsec, NULL, row);
}
