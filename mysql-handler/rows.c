/* SPDX-License-Identifier: MIT */
/* Writing, updating and deleting rows with every index kept in step, each
 * key locked by the transaction that writes it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int mh_record_parse(const void *data, size_t size, uint32_t nsec, struct mh_bytes *sec,
		    struct mh_bytes *row)
{
	const unsigned char *p = data;
	size_t off = 0;
	/* Our own layout, but checked: a damaged store gives -EIO, never a
	 * read past the value. */
	for (uint32_t i = 0; i < nsec; i++) {
		uint32_t len;
		if (size - off < sizeof len)
			return -EIO;
		memcpy(&len, p + off, sizeof len);
		off += sizeof len;
		if (size - off < len)
			return -EIO;
		if (sec) {
			sec[i].data = p + off;
			sec[i].len = len;
		}
		off += len;
	}
	row->data = p + off;
	row->len = (uint32_t)(size - off);
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

/* Lock unique secondary @i's @key itself (a key never stored: entries are
 * key ++ pk), so that whoever claims or gives up that key waits for us. */
static int lock_unique(struct mh_table *tb, unsigned i, struct mh_bytes key, unsigned char *buf)
{
	int len = mh_key_build(tb->meta.id, i, key, NONE, buf);
	return len < 0 ? len : mh_kv_lock(tb->t, buf, (size_t)len);
}

/* Is a unique secondary's @key taken, i.e. does an entry start with it, in
 * the latest committed version and our own writes? Locks the key first.
 * 1 yes, 0 no, or an error. */
static int taken(struct mh_table *tb, unsigned i, struct mh_bytes key, unsigned char *buf)
{
	int len = mh_key_build(tb->meta.id, i, key, NONE, buf);
	if (len < 0)
		return len;
	int rc = mh_kv_lock(tb->t, buf, (size_t)len);
	if (rc)
		return rc;
	rocksdb_iterator_t *it = mh_kv_iter(tb->t, true);
	rocksdb_iter_seek(it, (const char *)buf, (size_t)len);
	int hit = 0;
	if (rocksdb_iter_valid(it)) {
		size_t kl;
		const char *k = rocksdb_iter_key(it, &kl);
		hit = kl >= (size_t)len && !memcmp(k, buf, (size_t)len);
	}
	char *err = NULL;
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	return err ? mh_rocks_error(tb->t->s, "index lookup", err) : hit;
}

/*
 * Find a clash before anything is written: @pk (when @check_pk) already
 * stored, or a unique secondary key of @sec already taken, skipping keys
 * equal to the row's own @keep (its current keys, on update; NULL on
 * insert). Every key looked at stays locked. Returns 0, -EEXIST with
 * *@dup_index, or an error.
 */
static int find_clash(struct mh_table *tb, struct mh_bytes pk, bool check_pk,
		      const struct mh_bytes *sec, const struct mh_bytes *keep,
		      unsigned char *buf, int *dup_index)
{
	if (check_pk) {
		int len = mh_key_build(tb->meta.id, 0, pk, NONE, buf);
		if (len < 0)
			return len;
		char *v = NULL;
		size_t vl;
		int rc = mh_kv_get(tb->t, buf, (size_t)len, MH_LOCKED, &v, &vl);
		free(v);
		if (rc == 0) {
			*dup_index = 0;
			return -EEXIST;
		}
		if (rc != -ENOENT)
			return rc;
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
 * -> key length. A unique key given up is locked too. */
static int index_row(struct mh_table *tb, struct mh_bytes pk, const struct mh_bytes *sec,
		     bool del, unsigned char *buf)
{
	for (unsigned i = 1; i <= tb->meta.nsec; i++) {
		int rc;
		if (del && tb->meta.unique[i - 1] && (rc = lock_unique(tb, i, sec[i - 1], buf)))
			return rc;
		int len = mh_key_build(tb->meta.id, i, sec[i - 1], pk, buf);
		if (len < 0)
			return len;
		uint32_t keylen = sec[i - 1].len;
		rc = del ? mh_kv_del(tb->t, buf, (size_t)len)
			 : mh_kv_put(tb->t, buf, (size_t)len, &keylen, sizeof keylen);
		if (rc)
			return rc;
	}
	return 0;
}

/* Every argument checked before anything is written: a refused call
 * leaves the table as it was. */
static int check_args(struct mh_table *tb, struct mh_bytes pk, const struct mh_bytes *sec)
{
	if (!tb->t->write || (tb->meta.nsec && !sec))
		return -EINVAL;
	if (pk.len == 0 || pk.len > MH_MAX_KEY)
		return -EINVAL;
	for (unsigned i = 0; i < tb->meta.nsec; i++)
		if (sec[i].len == 0 || (uint64_t)sec[i].len + pk.len > MH_MAX_KEY)
			return -EINVAL;
	return 0;
}

/* Store the primary record of @pk. */
static int put_record(struct mh_table *tb, struct mh_bytes pk, const struct mh_bytes *sec,
		      struct mh_bytes row, unsigned char *buf, size_t *size)
{
	int len = mh_key_build(tb->meta.id, 0, pk, NONE, buf);
	if (len < 0)
		return len;
	unsigned char *rec = record_build(sec, tb->meta.nsec, row, size);
	if (!rec)
		return -ENOMEM;
	int rc = mh_kv_put(tb->t, buf, (size_t)len, rec, *size);
	free(rec);
	return rc;
}

int mh_row_write(struct mh_txn *t, struct mh_table *tb, struct mh_bytes pk,
		 struct mh_bytes row, const struct mh_bytes *sec, uint64_t *hidden_id,
		 int *dup_index)
{
	unsigned char hidden[MH_HIDDEN_PK_LEN];
	uint64_t row_id = 0;
	if (tb->meta.flags & META_HIDDEN_PK) {
		if (!t->write)
			return -EINVAL;
		/* Handed out once, whatever becomes of the write (gaps). */
		pthread_mutex_lock(&t->s->counters_lock);
		row_id = tb->cnt->next_row_id++;
		pthread_mutex_unlock(&t->s->counters_lock);
		be64(row_id, hidden);
		pk.data = hidden;
		pk.len = sizeof hidden;
	}
	int rc = check_args(tb, pk, sec);
	if (rc)
		return rc;
	unsigned char *buf = malloc(MH_STORED_MAX);
	if (!buf)
		return -ENOMEM;
	size_t size;
	if ((rc = find_clash(tb, pk, true, sec, NULL, buf, dup_index)) ||
	    (rc = put_record(tb, pk, sec, row, buf, &size)) ||
	    (rc = index_row(tb, pk, sec, false, buf)) ||
	    (rc = mh_txn_delta(t, tb->meta.id, 1, (int64_t)size)))
		goto out;
	if (hidden_id && (tb->meta.flags & META_HIDDEN_PK))
		*hidden_id = row_id;
out:
	free(buf);
	return rc;
}

/* Lock the row at @pk and load its stored secondary keys (into @copy,
 * which the caller frees) and the record's size: the latest committed
 * version, or our own. */
static int load_old(struct mh_table *tb, struct mh_bytes pk, struct mh_bytes *sec,
		    char **copy, size_t *size, unsigned char *buf)
{
	int len = mh_key_build(tb->meta.id, 0, pk, NONE, buf);
	if (len < 0)
		return len;
	int rc = mh_kv_get(tb->t, buf, (size_t)len, MH_LOCKED, copy, size);
	if (rc)
		return rc;
	struct mh_bytes row;
	return mh_record_parse(*copy, *size, tb->meta.nsec, sec, &row);
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
	char *old = NULL;
	unsigned char *buf = malloc(MH_STORED_MAX);
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
		int len = mh_key_build(tb->meta.id, 0, old_pk, NONE, buf);
		if (len < 0 || (rc = mh_kv_del(t, buf, (size_t)len))) {
			rc = len < 0 ? len : rc;
			goto out;
		}
	}
	if ((rc = put_record(tb, new_pk, sec, row, buf, &size)) ||
	    (rc = index_row(tb, new_pk, sec, false, buf)))
		goto out;
	rc = mh_txn_delta(t, tb->meta.id, 0, (int64_t)size - (int64_t)old_size);
out:
	free(old);
	free(buf);
	return rc;
}

int mh_row_delete(struct mh_txn *t, struct mh_table *tb, struct mh_bytes pk)
{
	if (!t->write || pk.len == 0 || pk.len > MH_MAX_KEY)
		return -EINVAL;
	struct mh_bytes old_sec[MH_MAX_INDEXES];
	char *old = NULL;
	unsigned char *buf = malloc(MH_STORED_MAX);
	if (!buf)
		return -ENOMEM;
	size_t old_size = 0;
	int rc = load_old(tb, pk, old_sec, &old, &old_size, buf);
	if (!rc)
		rc = index_row(tb, pk, old_sec, true, buf);
	if (!rc) {
		int len = mh_key_build(tb->meta.id, 0, pk, NONE, buf);
		rc = len < 0 ? len : mh_kv_del(t, buf, (size_t)len);
	}
	if (!rc)
		rc = mh_txn_delta(t, tb->meta.id, -1, -(int64_t)old_size);
	free(old);
	free(buf);
	return rc;
}

int mh_row_get(struct mh_txn *t, struct mh_table *tb, struct mh_bytes pk,
	       struct mh_bytes *row)
{
	if (pk.len == 0 || pk.len > MH_MAX_KEY)
		return -EINVAL;
	unsigned char *buf = malloc(MH_STORED_MAX);
	if (!buf)
		return -ENOMEM;
	int len = mh_key_build(tb->meta.id, 0, pk, NONE, buf);
	char *v = NULL;
	size_t vl = 0;
	int rc = mh_kv_get(t, buf, (size_t)len, mh_txn_locking(t) ? MH_LOCKED : MH_AT_SNAPSHOT, &v,
			   &vl);
	free(buf);
	if (rc)
		return rc;
	/* The row stays valid until the next get on @t. */
	free(t->val);
	t->val = v;
	return mh_record_parse(v, vl, tb->meta.nsec, NULL, row);
}
