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

/* What both passes share: the table, a key buffer and the findings. */
struct check {
	struct mh_table *tb;
	unsigned char *buf;
	struct mh_check *out;
	unsigned index; /* the secondary index the entry pass reads */
};

/* One record: each of its secondary entries exists, with the key's length. */
static int check_row(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct check *c = arg;
	struct mh_table *tb = c->tb;
	c->out->rows++;
	struct mh_bytes sec[MH_MAX_INDEXES], row;
	struct mh_bytes pk = { k + MH_KEY_PREFIX, (uint32_t)(kl - MH_KEY_PREFIX) };
	if (mh_record_parse(v, vl, tb->meta.nsec, sec, &row)) {
		c->out->bad++;
		note(c->out, 0);
		return 0;
	}
	for (unsigned i = 1; i <= tb->meta.nsec; i++) {
		int len = mh_key_build(tb->meta.id, i, sec[i - 1], pk, c->buf);
		char *e = NULL;
		size_t el = 0;
		int got = len < 0 ? -ENOENT
				  : mh_kv_get(tb->t, c->buf, (size_t)len, MH_AT_SNAPSHOT, &e, &el);
		uint32_t keylen = 0;
		if (got == 0 && el == sizeof keylen)
			memcpy(&keylen, e, sizeof keylen);
		free(e);
		if (got && got != -ENOENT)
			return got;
		if (got || keylen != sec[i - 1].len) {
			c->out->missing++;
			note(c->out, i);
		}
	}
	return 0;
}

/* One entry of secondary c->index: it names a record that holds its key. */
static int check_entry(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct check *c = arg;
	unsigned i = c->index;
	c->out->entries++;
	/* Our own layout, still checked: the key length must leave a
	 * non-empty primary key inside the stored key. */
	uint32_t keylen;
	size_t rest = kl - MH_KEY_PREFIX;
	if (vl != sizeof keylen) {
		c->out->bad++;
		note(c->out, i);
		return 0;
	}
	memcpy(&keylen, v, sizeof keylen);
	if (keylen == 0 || keylen >= rest) {
		c->out->bad++;
		note(c->out, i);
		return 0;
	}
	struct mh_bytes key = { k + MH_KEY_PREFIX, keylen };
	struct mh_bytes pk = { k + MH_KEY_PREFIX + keylen, (uint32_t)(rest - keylen) };
	char *rec = NULL;
	size_t size = 0;
	int got = get_record(c->tb, pk, c->buf, &rec, &size);
	if (got && got != -ENOENT)
		return got;
	struct mh_bytes sec[MH_MAX_INDEXES], row;
	bool holds = got == 0 &&
		     mh_record_parse(rec, size, c->tb->meta.nsec, sec, &row) == 0 &&
		     sec[i - 1].len == key.len && !memcmp(sec[i - 1].data, key.data, key.len);
	free(rec);
	if (!holds) {
		c->out->orphans++;
		note(c->out, i);
	}
	return 0;
}

/* Walk index @index of the table (0: its records) at the snapshot. */
static int check_pass(struct check *c, unsigned index)
{
	unsigned char lo[MH_KEY_PREFIX];
	mh_be32(c->tb->meta.id, lo);
	lo[4] = (unsigned char)index;
	c->index = index;
	return mh_walk_prefix(c->tb->t->s, mh_kv_iter(c->tb->t, false), lo, sizeof lo, NULL, 0,
			      index ? "check index" : "check rows", index ? check_entry : check_row,
			      c);
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
	struct check c = { .tb = tb, .buf = buf, .out = out };
	int rc = check_pass(&c, 0);
	for (unsigned i = 1; rc == 0 && i <= tb->meta.nsec; i++)
		rc = check_pass(&c, i);
	free(buf);
	return rc;
}
