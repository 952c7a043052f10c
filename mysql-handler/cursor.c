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
	MDB_cursor *cur;
	unsigned char prefix[MH_KEY_PREFIX]; /* table id + index: the range */
	unsigned char *buf;                  /* scratch for a built key */
};

static const struct mh_bytes NONE = { NULL, 0 };

int mh_cursor_open(struct mh_txn *t, struct mh_table *tb, unsigned index,
		   struct mh_cursor **out)
{
	if (index > tb->meta.nsec)
		return -EINVAL;
	struct mh_cursor *c = calloc(1, sizeof *c);
	if (!c || !(c->buf = malloc(t->s->max_key + 1))) {
		free(c);
		return -ENOMEM;
	}
	c->tb = tb;
	c->index = index;
	MDB_val k;
	mh_key_build(tb, index, NONE, NONE, c->prefix, &k);
	int rc = mdb_cursor_open(t->txn, t->s->data, &c->cur);
	if (rc) {
		free(c->buf);
		free(c);
		return mh_lmdb_error(t->s, "cursor", rc);
	}
	*out = c;
	return 0;
}

void mh_cursor_close(struct mh_cursor *c)
{
	if (!c)
		return;
	mdb_cursor_close(c->cur);
	free(c->buf);
	free(c);
}

/* Is @k in the cursor's index? */
static bool inside(const struct mh_cursor *c, const MDB_val *k)
{
	return k->mv_size > MH_KEY_PREFIX && !memcmp(k->mv_data, c->prefix, MH_KEY_PREFIX);
}

/* Describe the entry at (@k, @v) of the cursor's index (@k inside it). */
static int describe(struct mh_cursor *c, const MDB_val *k, const MDB_val *v,
		    struct mh_entry *out)
{
	struct mh_table *tb = c->tb;
	const unsigned char *key = (const unsigned char *)k->mv_data + MH_KEY_PREFIX;
	uint32_t len = (uint32_t)(k->mv_size - MH_KEY_PREFIX);
	out->stored.data = key;
	out->stored.len = len;
	if (c->index == 0) {
		out->key.data = out->pk.data = key;
		out->key.len = out->pk.len = len;
		return mh_record_parse(v, tb->meta.nsec, NULL, &out->row);
	}
	uint32_t keylen;
	/* Our own entry, checked anyway: the key length must fit. */
	if (v->mv_size != sizeof keylen)
		return -EIO;
	memcpy(&keylen, v->mv_data, sizeof keylen);
	if (keylen >= len)
		return -EIO;
	out->key.data = key;
	out->key.len = keylen;
	out->pk.data = key + keylen;
	out->pk.len = len - keylen;
	MDB_val pk, rec;
	int rc = mh_key_build(tb, 0, out->pk, NONE, c->buf, &pk);
	if (rc)
		return -EIO;
	rc = mdb_get(tb->t->txn, tb->t->s->data, &pk, &rec);
	if (rc)
		return rc == MDB_NOTFOUND ? -EIO : mh_lmdb_error(tb->t->s, "row", rc);
	return mh_record_parse(&rec, tb->meta.nsec, NULL, &out->row);
}

/* Finish a move: LMDB's answer @rc at (@k, @v), outside the index = none. */
static int landed(struct mh_cursor *c, int rc, MDB_val *k, MDB_val *v, struct mh_entry *out)
{
	if (rc == MDB_NOTFOUND || (rc == 0 && !inside(c, k)))
		return -ENOENT;
	if (rc)
		return mh_lmdb_error(c->tb->t->s, "cursor", rc);
	return describe(c, k, v, out);
}

/* Position at the first entry >= @key ++ @tail (any index: check
 * inside()). Returns LMDB's code (EINVAL for a key too long). */
static int seek(struct mh_cursor *c, struct mh_bytes key, struct mh_bytes tail, MDB_val *k,
		MDB_val *v)
{
	if (mh_key_build(c->tb, c->index, key, tail, c->buf, k))
		return EINVAL;
	return mdb_cursor_get(c->cur, k, v, MDB_SET_RANGE);
}

/* Position after every entry of the index, i.e. at the first entry of the
 * next index (or nowhere). */
static int seek_end(struct mh_cursor *c, MDB_val *k, MDB_val *v)
{
	unsigned char end[MH_KEY_PREFIX];
	memcpy(end, c->prefix, sizeof end);
	/* The next (table, index) prefix; 0xff.. wraps to "no entry after". */
	int i = MH_KEY_PREFIX - 1;
	while (i >= 0 && end[i] == 0xff)
		end[i--] = 0;
	if (i < 0)
		return MDB_NOTFOUND;
	end[i]++;
	k->mv_data = end;
	k->mv_size = sizeof end;
	return mdb_cursor_get(c->cur, k, v, MDB_SET_RANGE);
}

int mh_cursor_first(struct mh_cursor *c, struct mh_entry *out)
{
	MDB_val k = { MH_KEY_PREFIX, c->prefix }, v;
	int rc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE);
	return landed(c, rc, &k, &v, out);
}

/* The last entry before where the cursor stands after a seek that gave
 * @rc (MDB_NOTFOUND: past the end of the database). */
static int back_one(struct mh_cursor *c, int rc, MDB_val *k, MDB_val *v)
{
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(c->cur, k, v, MDB_LAST);
	if (rc)
		return rc;
	return mdb_cursor_get(c->cur, k, v, MDB_PREV);
}

int mh_cursor_last(struct mh_cursor *c, struct mh_entry *out)
{
	MDB_val k, v;
	int rc = back_one(c, seek_end(c, &k, &v), &k, &v);
	return landed(c, rc, &k, &v, out);
}

int mh_cursor_next(struct mh_cursor *c, struct mh_entry *out)
{
	MDB_val k, v;
	return landed(c, mdb_cursor_get(c->cur, &k, &v, MDB_NEXT), &k, &v, out);
}

int mh_cursor_prev(struct mh_cursor *c, struct mh_entry *out)
{
	MDB_val k, v;
	return landed(c, mdb_cursor_get(c->cur, &k, &v, MDB_PREV), &k, &v, out);
}

int mh_cursor_seek(struct mh_cursor *c, struct mh_bytes stored, bool after,
		   struct mh_entry *out)
{
	MDB_val k, v;
	if (stored.len == 0)
		return -EINVAL;
	int rc = seek(c, stored, NONE, &k, &v);
	if (rc && rc != MDB_NOTFOUND)
		return landed(c, rc, &k, &v, out);
	if (after) {
		/* Skip the entry itself if it is still there. */
		if (rc == 0 && k.mv_size == MH_KEY_PREFIX + stored.len &&
		    !memcmp((unsigned char *)k.mv_data + MH_KEY_PREFIX, stored.data, stored.len))
			rc = mdb_cursor_get(c->cur, &k, &v, MDB_NEXT);
	} else {
		rc = back_one(c, rc, &k, &v);
	}
	return landed(c, rc, &k, &v, out);
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

static bool starts_with(const MDB_val *k, struct mh_bytes key)
{
	return k->mv_size >= MH_KEY_PREFIX + key.len &&
	       !memcmp((const unsigned char *)k->mv_data + MH_KEY_PREFIX, key.data, key.len);
}

/* Seek past every entry starting with @key (to the end if none follows). */
static int seek_past(struct mh_cursor *c, struct mh_bytes key, MDB_val *k, MDB_val *v)
{
	unsigned char succ[512];
	if (key.len > sizeof succ)
		return EINVAL;
	struct mh_bytes s = successor(key, succ);
	if (!s.len)
		return seek_end(c, k, v);
	return seek(c, s, NONE, k, v);
}

int mh_cursor_find(struct mh_cursor *c, struct mh_bytes key, enum mh_find flag,
		   struct mh_entry *out)
{
	MDB_val k, v;
	int rc;
	if (key.len == 0 || key.len > c->tb->t->s->max_key - MH_KEY_PREFIX)
		return -EINVAL;
	switch (flag) {
	case MH_READ_KEY_EXACT:
	case MH_READ_PREFIX:
		rc = seek(c, key, NONE, &k, &v);
		if (rc == 0 && !starts_with(&k, key))
			return -ENOENT;
		break;
	case MH_READ_KEY_OR_NEXT:
		rc = seek(c, key, NONE, &k, &v);
		break;
	case MH_READ_AFTER_KEY:
		rc = seek_past(c, key, &k, &v);
		break;
	case MH_READ_BEFORE_KEY:
		rc = back_one(c, seek(c, key, NONE, &k, &v), &k, &v);
		break;
	case MH_READ_PREFIX_LAST:
		rc = back_one(c, seek_past(c, key, &k, &v), &k, &v);
		if (rc == 0 && !starts_with(&k, key))
			return -ENOENT;
		break;
	case MH_READ_KEY_OR_PREV:
	case MH_READ_PREFIX_LAST_OR_PREV:
		rc = back_one(c, seek_past(c, key, &k, &v), &k, &v);
		break;
	default:
		return -EINVAL;
	}
	return landed(c, rc, &k, &v, out);
}
