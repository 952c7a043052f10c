/* SPDX-License-Identifier: MIT */
/* Cursors over an index, and MySQL's find flags on memcmp-ordered keys. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct mh_cursor {
	struct mh_table *tb;
	unsigned index;
	rocksdb_iterator_t *it;              /* at the snapshot, or the latest
						version for locking reads */
	bool locking;                        /* lock every row returned */
	bool keys_only;                      /* entries without their rows */
	unsigned char prefix[MH_KEY_PREFIX]; /* table id + index: the range */
	unsigned char *buf;                  /* scratch for a built key */
	char *row;                           /* a secondary entry's record */
};

static const struct mh_bytes NONE = { NULL, 0 };

int mh_cursor_open(struct mh_txn *t, struct mh_table *tb, unsigned index,
		   struct mh_cursor **out)
{
	if (index > tb->meta.nsec)
		return -EINVAL;
	struct mh_cursor *c = calloc(1, sizeof *c);
	if (!c || !(c->buf = malloc(MH_STORED_MAX + 1))) {
		free(c);
		return -ENOMEM;
	}
	c->tb = tb;
	c->index = index;
	mh_key_build(tb->meta.id, index, NONE, NONE, c->prefix);
	c->locking = mh_txn_locking(t);
	if (!(c->it = mh_kv_iter(t, c->locking))) {
		free(c->buf);
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void mh_cursor_keys_only(struct mh_cursor *c)
{
	c->keys_only = true;
}

bool mh_cursor_locks(const struct mh_cursor *c)
{
	return c->locking;
}

void mh_cursor_close(struct mh_cursor *c)
{
	if (!c)
		return;
	rocksdb_iter_destroy(c->it);
	free(c->row);
	free(c->buf);
	free(c);
}

/* The key the iterator stands at, or NULL when it stands nowhere. */
static const unsigned char *at(struct mh_cursor *c, size_t *len)
{
	if (!rocksdb_iter_valid(c->it))
		return NULL;
	return (const unsigned char *)rocksdb_iter_key(c->it, len);
}

/* A locking read: lock the row at primary key @pk and read its latest
 * version into c->row. -EAGAIN when it was deleted meanwhile. */
static int lock_row(struct mh_cursor *c, struct mh_bytes pk, struct mh_bytes *row)
{
	struct mh_table *tb = c->tb;
	int plen = mh_key_build(tb->meta.id, 0, pk, NONE, c->buf);
	if (plen < 0)
		return -EIO;
	free(c->row);
	c->row = NULL;
	size_t rl;
	int rc = mh_kv_get(tb->t, c->buf, (size_t)plen, MH_LOCKED, &c->row, &rl);
	if (rc)
		return rc == -ENOENT ? -EAGAIN : rc;
	return mh_record_parse(c->row, rl, tb->meta.nsec, NULL, row);
}

/* Describe the entry the iterator stands at (inside the index). */
static int describe(struct mh_cursor *c, const unsigned char *k, size_t kl,
		    struct mh_entry *out)
{
	struct mh_table *tb = c->tb;
	const unsigned char *key = k + MH_KEY_PREFIX;
	uint32_t len = (uint32_t)(kl - MH_KEY_PREFIX);
	size_t vl;
	const char *v = rocksdb_iter_value(c->it, &vl);
	out->stored.data = key;
	out->stored.len = len;
	if (c->keys_only) {
		/* Counting: no row read, no row locked. */
		out->row = NONE;
		out->key.data = out->pk.data = key;
		out->key.len = out->pk.len = len;
		if (c->index == 0)
			return 0;
		uint32_t keylen;
		if (vl != sizeof keylen)
			return -EIO; /* our own entry, checked anyway */
		memcpy(&keylen, v, sizeof keylen);
		if (keylen >= len)
			return -EIO;
		out->key.len = keylen;
		out->pk.data = key + keylen;
		out->pk.len = len - keylen;
		return 0;
	}
	if (c->index == 0 && c->locking) {
		out->key.data = out->pk.data = key;
		out->key.len = out->pk.len = len;
		return lock_row(c, out->pk, &out->row);
	}
	if (c->index == 0) {
		out->key.data = out->pk.data = key;
		out->key.len = out->pk.len = len;
		return mh_record_parse(v, vl, tb->meta.nsec, NULL, &out->row);
	}
	uint32_t keylen;
	/* Our own entry, checked anyway: the key length must fit. */
	if (vl != sizeof keylen)
		return -EIO;
	memcpy(&keylen, v, sizeof keylen);
	if (keylen >= len)
		return -EIO;
	out->key.data = key;
	out->key.len = keylen;
	out->pk.data = key + keylen;
	out->pk.len = len - keylen;
	if (c->locking)
		return lock_row(c, out->pk, &out->row);
	int plen = mh_key_build(tb->meta.id, 0, out->pk, NONE, c->buf);
	if (plen < 0)
		return -EIO;
	free(c->row);
	c->row = NULL;
	size_t rl;
	int rc = mh_kv_get(tb->t, c->buf, (size_t)plen, MH_AT_SNAPSHOT, &c->row, &rl);
	if (rc)
		return rc == -ENOENT ? -EIO : rc; /* an entry without its row */
	return mh_record_parse(c->row, rl, tb->meta.nsec, NULL, &out->row);
}

/* Finish a move: the entry the iterator stands at, -ENOENT when it stands
 * nowhere or outside the index. A locking read steps over rows deleted
 * before their lock was granted, towards @backward. */
static int landed_dir(struct mh_cursor *c, bool backward, struct mh_entry *out)
{
	for (;;) {
		size_t kl;
		const unsigned char *k = at(c, &kl);
		if (!k) {
			char *err = NULL;
			rocksdb_iter_get_error(c->it, &err);
			return err ? mh_rocks_error(c->tb->t->s, "cursor", err) : -ENOENT;
		}
		if (kl <= MH_KEY_PREFIX || memcmp(k, c->prefix, MH_KEY_PREFIX))
			return -ENOENT;
		int rc = describe(c, k, kl, out);
		if (rc != -EAGAIN)
			return rc;
		if (backward)
			rocksdb_iter_prev(c->it);
		else
			rocksdb_iter_next(c->it);
	}
}

static int landed(struct mh_cursor *c, struct mh_entry *out)
{
	return landed_dir(c, false, out);
}

static int landed_back(struct mh_cursor *c, struct mh_entry *out)
{
	return landed_dir(c, true, out);
}

/* Position at the first entry >= @key ++ @tail (any index: landed()
 * checks). */
static int seek(struct mh_cursor *c, struct mh_bytes key, struct mh_bytes tail)
{
	int len = mh_key_build(c->tb->meta.id, c->index, key, tail, c->buf);
	if (len < 0)
		return len;
	rocksdb_iter_seek(c->it, (const char *)c->buf, (size_t)len);
	return 0;
}

/* Position after every entry of the index, i.e. at the first entry of the
 * next index (or nowhere). */
static void seek_end(struct mh_cursor *c)
{
	unsigned char end[MH_KEY_PREFIX];
	memcpy(end, c->prefix, sizeof end);
	/* The next (table, index) prefix; 0xff.. wraps to "no entry after". */
	int i = MH_KEY_PREFIX - 1;
	while (i >= 0 && end[i] == 0xff)
		end[i--] = 0;
	if (i < 0) {
		rocksdb_iter_seek_to_last(c->it);
		rocksdb_iter_next(c->it);
		return;
	}
	end[i]++;
	rocksdb_iter_seek(c->it, (const char *)end, sizeof end);
}

/* The last entry before where the iterator stands after a seek (nowhere:
 * past the end of the store). */
static void back_one(struct mh_cursor *c)
{
	if (rocksdb_iter_valid(c->it))
		rocksdb_iter_prev(c->it);
	else
		rocksdb_iter_seek_to_last(c->it);
}

int mh_cursor_first(struct mh_cursor *c, struct mh_entry *out)
{
	rocksdb_iter_seek(c->it, (const char *)c->prefix, MH_KEY_PREFIX);
	return landed(c, out);
}

int mh_cursor_last(struct mh_cursor *c, struct mh_entry *out)
{
	seek_end(c);
	back_one(c);
	return landed_back(c, out);
}

int mh_cursor_next(struct mh_cursor *c, struct mh_entry *out)
{
	if (!rocksdb_iter_valid(c->it))
		return -ENOENT;
	rocksdb_iter_next(c->it);
	return landed(c, out);
}

int mh_cursor_prev(struct mh_cursor *c, struct mh_entry *out)
{
	if (!rocksdb_iter_valid(c->it))
		return -ENOENT;
	rocksdb_iter_prev(c->it);
	return landed_back(c, out);
}

/* Does the iterator stand at an entry whose key starts with @key? */
static bool starts_with(struct mh_cursor *c, struct mh_bytes key)
{
	size_t kl;
	const unsigned char *k = at(c, &kl);
	return k && kl >= MH_KEY_PREFIX + key.len && !memcmp(k, c->prefix, MH_KEY_PREFIX) &&
	       !memcmp(k + MH_KEY_PREFIX, key.data, key.len);
}

int mh_cursor_seek(struct mh_cursor *c, struct mh_bytes stored, bool after,
		   struct mh_entry *out)
{
	if (stored.len == 0)
		return -EINVAL;
	int rc = seek(c, stored, NONE);
	if (rc)
		return rc;
	if (after) {
		/* Skip the entry itself if it is still there. */
		size_t kl;
		const unsigned char *k = at(c, &kl);
		if (k && kl == MH_KEY_PREFIX + stored.len && starts_with(c, stored))
			rocksdb_iter_next(c->it);
	} else {
		back_one(c);
		return landed_back(c, out);
	}
	return landed(c, out);
}

/* The smallest key greater than every key starting with @key: drop
 * trailing 0xff bytes, add one to the last. Length 0 if there is none. */
static struct mh_bytes successor(const struct mh_bytes key, unsigned char *out)
{
	uint32_t n = key.len;
	memcpy(out, key.data, n);
	while (n && out[n - 1] == 0xff)
		n--;
	if (n)
		out[n - 1]++;
	return (struct mh_bytes){ out, n };
}

/* Seek past every entry starting with @key (to the end if none follows). */
static int seek_past(struct mh_cursor *c, struct mh_bytes key)
{
	unsigned char *succ = malloc(key.len ? key.len : 1);
	if (!succ)
		return -ENOMEM;
	struct mh_bytes s = successor(key, succ);
	int rc = 0;
	if (!s.len)
		seek_end(c);
	else
		rc = seek(c, s, NONE);
	free(succ);
	return rc;
}

int mh_cursor_find(struct mh_cursor *c, struct mh_bytes key, enum mh_find flag,
		   struct mh_entry *out)
{
	int rc;
	if (key.len == 0 || key.len > MH_MAX_KEY)
		return -EINVAL;
	switch (flag) {
	case MH_READ_KEY_EXACT:
	case MH_READ_PREFIX:
		if ((rc = seek(c, key, NONE)))
			return rc;
		if (!starts_with(c, key)) {
			char *err = NULL;
			rocksdb_iter_get_error(c->it, &err);
			return err ? mh_rocks_error(c->tb->t->s, "cursor", err) : -ENOENT;
		}
		break;
	case MH_READ_KEY_OR_NEXT:
		if ((rc = seek(c, key, NONE)))
			return rc;
		break;
	case MH_READ_AFTER_KEY:
		if ((rc = seek_past(c, key)))
			return rc;
		break;
	case MH_READ_BEFORE_KEY:
		if ((rc = seek(c, key, NONE)))
			return rc;
		back_one(c);
		return landed_back(c, out);
	case MH_READ_PREFIX_LAST:
		if ((rc = seek_past(c, key)))
			return rc;
		back_one(c);
		if (!starts_with(c, key))
			return -ENOENT;
		return landed_back(c, out);
	case MH_READ_KEY_OR_PREV:
	case MH_READ_PREFIX_LAST_OR_PREV:
		if ((rc = seek_past(c, key)))
			return rc;
		back_one(c);
		return landed_back(c, out);
	default:
		return -EINVAL;
	}
	return landed(c, out);
}
