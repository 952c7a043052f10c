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
	unsigned char *succ; /* scratch for a key's successor */
};

int mh_cursor_open(struct mh_txn *t, struct mh_table *tb, unsigned index,
		   struct mh_cursor **out)
{
	if (index > tb->meta.nsec)
		return -EINVAL;
	struct mh_cursor *c = calloc(1, sizeof *c);
	if (!c || !(c->succ = malloc(t->s->max_key))) {
		free(c);
		return -ENOMEM;
	}
	c->tb = tb;
	c->index = index;
	int rc = mdb_cursor_open(t->txn, tb->dbi[index], &c->cur);
	if (rc) {
		free(c->succ);
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
	free(c->succ);
	free(c);
}

/* Describe the entry at (@k, @v) of the cursor's index. */
static int describe(struct mh_cursor *c, const MDB_val *k, const MDB_val *v,
		    struct mh_entry *out)
{
	struct mh_table *tb = c->tb;
	if (c->index == 0) {
		out->key.data = out->pk.data = k->mv_data;
		out->key.len = out->pk.len = (uint32_t)k->mv_size;
		return mh_record_parse(v, tb->meta.nsec, NULL, &out->row);
	}
	if (tb->meta.unique[c->index - 1]) {
		out->key.data = k->mv_data;
		out->key.len = (uint32_t)k->mv_size;
		out->pk.data = v->mv_data;
		out->pk.len = (uint32_t)v->mv_size;
	} else {
		uint32_t keylen;
		/* Our own entry, checked anyway: the key length must fit. */
		if (v->mv_size != sizeof keylen)
			return -EIO;
		memcpy(&keylen, v->mv_data, sizeof keylen);
		if (keylen > k->mv_size)
			return -EIO;
		out->key.data = k->mv_data;
		out->key.len = keylen;
		out->pk.data = (const unsigned char *)k->mv_data + keylen;
		out->pk.len = (uint32_t)(k->mv_size - keylen);
	}
	MDB_val pk = { out->pk.len, (void *)out->pk.data }, rec;
	int rc = mdb_get(tb->t->txn, tb->dbi[0], &pk, &rec);
	if (rc)
		return rc == MDB_NOTFOUND ? -EIO : mh_lmdb_error(tb->t->s, "row", rc);
	return mh_record_parse(&rec, tb->meta.nsec, NULL, &out->row);
}

static int step(struct mh_cursor *c, MDB_cursor_op op, struct mh_entry *out)
{
	MDB_val k, v;
	int rc = mdb_cursor_get(c->cur, &k, &v, op);
	if (rc)
		return rc == MDB_NOTFOUND ? -ENOENT : mh_lmdb_error(c->tb->t->s, "cursor", rc);
	return describe(c, &k, &v, out);
}

int mh_cursor_first(struct mh_cursor *c, struct mh_entry *out)
{
	return step(c, MDB_FIRST, out);
}

int mh_cursor_last(struct mh_cursor *c, struct mh_entry *out)
{
	return step(c, MDB_LAST, out);
}

int mh_cursor_next(struct mh_cursor *c, struct mh_entry *out)
{
	return step(c, MDB_NEXT, out);
}

int mh_cursor_prev(struct mh_cursor *c, struct mh_entry *out)
{
	return step(c, MDB_PREV, out);
}

/* The smallest key greater than every key starting with @key: drop
 * trailing 0xff bytes, add one to the last. 0 if there is none. */
static uint32_t successor(const struct mh_bytes key, unsigned char *out)
{
	uint32_t n = key.len;
	memcpy(out, key.data, n);
	while (n && out[n - 1] == 0xff)
		n--;
	if (n)
		out[n - 1]++;
	return n;
}

static bool starts_with(const struct mh_entry *e, const MDB_val *raw, struct mh_bytes key)
{
	(void)e;
	return raw->mv_size >= key.len && !memcmp(raw->mv_data, key.data, key.len);
}

/* Position at the first entry >= @key (MDB_SET_RANGE). */
static int seek(struct mh_cursor *c, const void *key, uint32_t len, MDB_val *k, MDB_val *v)
{
	k->mv_data = (void *)key;
	k->mv_size = len;
	int rc = mdb_cursor_get(c->cur, k, v, MDB_SET_RANGE);
	if (rc && rc != MDB_NOTFOUND)
		return mh_lmdb_error(c->tb->t->s, "cursor", rc);
	return rc == MDB_NOTFOUND ? -ENOENT : 0;
}

/* The last entry before every key starting with @key's successor, i.e.
 * the last entry <= any key starting with @key. */
static int last_upto_prefix(struct mh_cursor *c, struct mh_bytes key, MDB_val *k, MDB_val *v)
{
	uint32_t n = successor(key, c->succ);
	int rc = n ? seek(c, c->succ, n, k, v) : -ENOENT;
	MDB_cursor_op op = rc == 0 ? MDB_PREV : MDB_LAST;
	if (rc && rc != -ENOENT)
		return rc;
	rc = mdb_cursor_get(c->cur, k, v, op);
	if (rc)
		return rc == MDB_NOTFOUND ? -ENOENT : mh_lmdb_error(c->tb->t->s, "cursor", rc);
	return 0;
}

int mh_cursor_find(struct mh_cursor *c, struct mh_bytes key, enum mh_find flag,
		   struct mh_entry *out)
{
	MDB_val k, v;
	int rc;
	if (key.len == 0 || key.len > c->tb->t->s->max_key)
		return -EINVAL;
	switch (flag) {
	case MH_READ_KEY_EXACT:
	case MH_READ_PREFIX:
		if ((rc = seek(c, key.data, key.len, &k, &v)))
			return rc;
		if (!starts_with(out, &k, key))
			return -ENOENT;
		break;
	case MH_READ_KEY_OR_NEXT:
		if ((rc = seek(c, key.data, key.len, &k, &v)))
			return rc;
		break;
	case MH_READ_AFTER_KEY: {
		uint32_t n = successor(key, c->succ);
		if (!n)
			return -ENOENT;
		if ((rc = seek(c, c->succ, n, &k, &v)))
			return rc;
		break;
	}
	case MH_READ_BEFORE_KEY:
		rc = seek(c, key.data, key.len, &k, &v);
		if (rc && rc != -ENOENT)
			return rc;
		rc = mdb_cursor_get(c->cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
		if (rc)
			return rc == MDB_NOTFOUND ? -ENOENT : mh_lmdb_error(c->tb->t->s, "cursor", rc);
		break;
	case MH_READ_PREFIX_LAST:
		if ((rc = last_upto_prefix(c, key, &k, &v)))
			return rc;
		if (!starts_with(out, &k, key))
			return -ENOENT;
		break;
	case MH_READ_KEY_OR_PREV:
	case MH_READ_PREFIX_LAST_OR_PREV:
		if ((rc = last_upto_prefix(c, key, &k, &v)))
			return rc;
		break;
	default:
		return -EINVAL;
	}
	return describe(c, &k, &v, out);
}
