/* SPDX-License-Identifier: MIT */
/* The catalog of tables, and their counters. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > MH_NAME_MAX || name[0] == '\x01')
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

/* The catalog key of table @name (0 . 0 . name) in @buf; its length. */
static size_t meta_key(const char *name, unsigned char *buf)
{
	size_t n = strlen(name);
	mh_be32(0, buf);
	buf[4] = CAT_TABLE;
	memcpy(buf + MH_KEY_PREFIX, name, n);
	return MH_KEY_PREFIX + n;
}

/* Table @name's definition, read as @how. */
static int load_meta(struct mh_txn *t, const char *name, enum mh_read how,
		     struct table_meta *meta)
{
	unsigned char k[MH_KEY_PREFIX + MH_NAME_MAX];
	char *v;
	size_t vl;
	/* A write transaction sees tables created after its snapshot. */
	if (how == MH_AT_SNAPSHOT && t->write)
		how = MH_AT_LATEST;
	int rc = mh_kv_get(t, k, meta_key(name, k), how, &v, &vl);
	if (rc)
		return rc;
	/* Our own bytes, but a store can be damaged: check before use. */
	if (vl != sizeof *meta) {
		free(v);
		return mh_store_fail(t->s, -EIO, "catalog entry of %s has the wrong size", name);
	}
	memcpy(meta, v, sizeof *meta);
	free(v);
	if (meta->version != TABLE_META_VERSION || meta->nsec > MH_MAX_INDEXES)
		return mh_store_fail(t->s, -EIO, "catalog entry of %s of another version", name);
	return 0;
}

static int save_meta(struct mh_txn *t, const char *name, const struct table_meta *meta)
{
	unsigned char k[MH_KEY_PREFIX + MH_NAME_MAX];
	return mh_kv_put(t, k, meta_key(name, k), meta, sizeof *meta);
}

int mh_table_create(struct mh_txn *t, const char *name, bool hidden_pk, unsigned nsec,
		    const struct mh_index_def *sec)
{
	return mh_table_create_ex(t, name, hidden_pk, nsec, sec, 1);
}

int mh_table_create_ex(struct mh_txn *t, const char *name, bool hidden_pk, unsigned nsec,
		       const struct mh_index_def *sec, uint64_t auto_increment)
{
	if (!t->write || !name_ok(name) || nsec > MH_MAX_INDEXES)
		return -EINVAL;
	struct table_meta meta;
	int rc = load_meta(t, name, MH_LOCKED, &meta);
	if (rc != -ENOENT)
		return rc ? rc : -EEXIST;
	/* A fresh id, never reused: a dropped table's keys may linger until
	 * compaction, and nothing must find them again. */
	unsigned char k[MH_KEY_PREFIX];
	mh_be32(0, k);
	k[4] = CAT_NEXT_ID;
	char *v = NULL;
	size_t vl = 0;
	uint32_t id = 1;
	rc = mh_kv_get(t, k, sizeof k, MH_LOCKED, &v, &vl);
	if (rc && rc != -ENOENT)
		return rc;
	if (v && vl == sizeof id)
		memcpy(&id, v, sizeof id);
	free(v);
	uint32_t next = id + 1;
	if ((rc = mh_kv_put(t, k, sizeof k, &next, sizeof next)))
		return rc;
	memset(&meta, 0, sizeof meta);
	meta.version = TABLE_META_VERSION;
	meta.id = id;
	meta.nsec = nsec;
	meta.flags = hidden_pk ? META_HIDDEN_PK : 0;
	meta.first_autoinc = auto_increment ? auto_increment : 1;
	(t->parent ? t->parent : t)->did_ddl = true;
	mh_catalog_changed(t->s);
	for (unsigned i = 0; i < nsec; i++)
		meta.unique[i] = sec[i].unique;
	return save_meta(t, name, &meta);
}

int mh_table_open(struct mh_txn *t, const char *name, struct mh_table **out)
{
	if (!name_ok(name))
		return -EINVAL;
	struct mh_table *tb = calloc(1, sizeof *tb);
	if (!tb)
		return -ENOMEM;
	tb->t = t;
	snprintf(tb->name, sizeof tb->name, "%s", name);
	int rc = load_meta(t, name, MH_AT_SNAPSHOT, &tb->meta);
	if (!rc)
		rc = mh_counters_get(t, &tb->meta, &tb->cnt);
	if (rc) {
		free(tb);
		return rc;
	}
	*out = tb;
	return 0;
}

/* The counter of @tb moved: its floor follows before @tb's transaction
 * commits (never on the way, so that no request writes the WAL but a
 * COMMIT, which runs where it may wait). */
static void autoinc_moved(struct mh_table *tb)
{
	struct mh_txn *root = tb->t;
	while (root->parent)
		root = root->parent;
	root->autoinc_moved = true;
}

int mh_table_open_id(struct mh_txn *t, const char *name, uint32_t id, struct mh_table **out)
{
	struct mh_store *s = t->s;
	struct mh_txn *root = t->parent ? t->parent : t;
	/* Read before the cache: an entry filled from a catalog read that a
	 * DROP or RENAME overtakes carries the older generation. */
	uint64_t gen = atomic_load_explicit(&s->ddl_gen, memory_order_acquire);
	struct mh_counters *c;
	pthread_mutex_lock(&s->counters_lock);
	for (c = s->counters; c && c->id != id; c = c->next)
		;
	bool hit = c && c->meta_ok && c->meta_gen == gen && !strcmp(c->name, name);
	struct table_meta meta;
	if (hit)
		meta = c->meta;
	pthread_mutex_unlock(&s->counters_lock);
	if (hit) {
		struct mh_table *tb = calloc(1, sizeof *tb);
		if (!tb)
			return -ENOMEM;
		tb->t = t;
		snprintf(tb->name, sizeof tb->name, "%s", name);
		tb->meta = meta;
		tb->cnt = c;
		*out = tb;
		return 0;
	}
	int rc = mh_table_open(t, name, out);
	if (rc)
		return rc;
	if ((*out)->meta.id != id) {
		mh_table_close(*out);
		return -ESTALE;
	}
	/* Cached only from the latest committed catalog, never from a
	 * transaction's own DROP or RENAME. */
	struct table_meta latest;
	if (!root->did_ddl && load_meta(t, name, MH_AT_LATEST, &latest) == 0 && latest.id == id) {
		pthread_mutex_lock(&s->counters_lock);
		c = (*out)->cnt;
		c->meta = latest;
		snprintf(c->name, sizeof c->name, "%s", name);
		c->meta_gen = gen;
		c->meta_ok = true;
		pthread_mutex_unlock(&s->counters_lock);
	}
	return 0;
}

int mh_table_close(struct mh_table *tb)
{
	free(tb);
	return 0;
}

uint32_t mh_table_id(const struct mh_table *tb)
{
	return tb->meta.id;
}

bool mh_table_unique(const struct mh_table *tb, unsigned i)
{
	return i >= 1 && i <= tb->meta.nsec && tb->meta.unique[i - 1];
}

uint64_t mh_table_bytes(const struct mh_table *tb)
{
	int64_t rows, bytes;
	mh_txn_delta_sum(tb->t, tb->meta.id, &rows, &bytes);
	pthread_mutex_lock(&tb->t->s->counters_lock);
	bytes += tb->cnt->bytes;
	pthread_mutex_unlock(&tb->t->s->counters_lock);
	return bytes > 0 ? (uint64_t)bytes : 0;
}

/* next_autoinc 0: UINT64_MAX was written, no value is left (a counter is
 * never 0 otherwise: it starts at 1 at the least). */
#define AUTOINC_EXHAUSTED 0

uint64_t mh_table_next_autoinc(const struct mh_table *tb)
{
	pthread_mutex_lock(&tb->t->s->counters_lock);
	uint64_t v = tb->cnt->next_autoinc;
	pthread_mutex_unlock(&tb->t->s->counters_lock);
	return v == AUTOINC_EXHAUSTED ? UINT64_MAX : v;
}

void mh_table_autoinc_seen(struct mh_table *tb, uint64_t value)
{
	pthread_mutex_lock(&tb->t->s->counters_lock);
	uint64_t next = tb->cnt->next_autoinc, floor = tb->cnt->autoinc_floor;
	if (value != 0 && next != AUTOINC_EXHAUSTED && value >= next) {
		tb->cnt->next_autoinc = value == UINT64_MAX ? AUTOINC_EXHAUSTED : value + 1;
		autoinc_moved(tb);
	} else if (value != 0 && floor != AUTOINC_EXHAUSTED && value >= floor) {
		/* A value reserved by a transaction that may never commit (the
		 * guest keeps ranges): this commit moves the floor past it. */
		autoinc_moved(tb);
	}
	pthread_mutex_unlock(&tb->t->s->counters_lock);
}

/* Under counters_lock. Only the latest reservation, untouched since: the
 * counter still at its end, so no value from @from on was handed out
 * after it. @to 0 is 2^64: a range up to the largest value left the
 * counter exhausted (AUTOINC_EXHAUSTED is 0 too). */
static void give_back(struct mh_counters *c, uint64_t from, uint64_t to)
{
	if (from != 0 && (to == 0 || from < to) && c->next_autoinc == to)
		c->next_autoinc = from;
}

void mh_table_autoinc_give_back(struct mh_table *tb, uint64_t from, uint64_t to)
{
	pthread_mutex_lock(&tb->t->s->counters_lock);
	give_back(tb->cnt, from, to);
	pthread_mutex_unlock(&tb->t->s->counters_lock);
}

void mh_store_autoinc_give_back(struct mh_store *s, uint32_t id, uint64_t from, uint64_t to)
{
	pthread_mutex_lock(&s->counters_lock);
	struct mh_counters *c = s->counters;
	while (c && c->id != id)
		c = c->next;
	if (c) /* else never opened by this process: it reserved nothing */
		give_back(c, from, to);
	pthread_mutex_unlock(&s->counters_lock);
}

int mh_table_autoinc_reserve(struct mh_table *tb, uint64_t increment, uint64_t offset,
			     uint64_t count, uint64_t max, uint64_t *first, uint64_t *reserved)
{
	if (!tb->t->write)
		return -EINVAL;
	if (increment == 0)
		increment = 1;
	if (offset == 0 || offset > increment)
		offset = 1; /* MariaDB ignores an offset above the increment */
	if (count == 0)
		count = 1;
	int rc = 0;
	/* The counter moves under the counters' lock only, held for this
	 * arithmetic and never past the call: two reservations never overlap,
	 * and no inserter waits for another's transaction. */
	pthread_mutex_lock(&tb->t->s->counters_lock);
	uint64_t v = tb->cnt->next_autoinc;
	if (v == AUTOINC_EXHAUSTED) {
		rc = -ERANGE;
	} else if (v < offset) {
		v = offset; /* round up to offset + k * increment */
	} else if ((v - offset) % increment) {
		uint64_t up = increment - (v - offset) % increment;
		if (v > UINT64_MAX - up)
			rc = -ERANGE;
		else
			v += up;
	}
	if (!rc && v > max) {
		*first = v; /* out of the column's range: nothing reserved */
		*reserved = 0;
	} else if (!rc) {
		/* As many as fit up to @max: the last is v + (n - 1) * increment. */
		uint64_t room = (max - v) / increment + 1;
		uint64_t n = count < room ? count : room;
		uint64_t last = v + (n - 1) * increment;
		tb->cnt->next_autoinc = last == UINT64_MAX ? AUTOINC_EXHAUSTED : last + 1;
		autoinc_moved(tb); /* the floor follows before the commit */
		*first = v;
		*reserved = n;
	}
	pthread_mutex_unlock(&tb->t->s->counters_lock);
	return rc;
}

/* Keys delete_range collects before it deletes them: a transaction's
 * iterator must not see its transaction written under it. */
#define DELETE_BATCH 512

struct key_batch {
	unsigned n;
	char *key[DELETE_BATCH];
	size_t len[DELETE_BATCH];
};

/* collect's state: the batch and the primary records' rows and bytes. */
struct collecting {
	struct key_batch *b;
	int64_t *rows, *bytes;
};

static int collect_entry(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct collecting *c = arg;
	(void)v;
	if (c->b->n == DELETE_BATCH)
		return MH_WALK_STOP;
	if (kl > MH_KEY_PREFIX && k[4] == 0) {
		(*c->rows)++;
		*c->bytes += (int64_t)vl;
	}
	if (!(c->b->key[c->b->n] = malloc(kl)))
		return -ENOMEM;
	memcpy(c->b->key[c->b->n], k, kl);
	c->b->len[c->b->n++] = kl;
	return 0;
}

/* Collect up to DELETE_BATCH keys of table @prefix (4 bytes) from @from
 * on (NULL: its first), counting the rows and bytes of primary records. 0, or an error. */
static int collect(struct mh_txn *t, const unsigned char *prefix, const char *from,
		   size_t from_len, struct key_batch *b, int64_t *rows, int64_t *bytes)
{
	struct collecting c = { b, rows, bytes };
	b->n = 0;
	return mh_walk_prefix(t->s, mh_kv_iter(t, true), prefix, 4, from, from_len,
			      "delete table", collect_entry, &c);
}

/* Delete every entry of table @id (all its indexes), counting the rows
 * and bytes of its primary records. */
static int delete_range(struct mh_txn *t, uint32_t id, int64_t *rows, int64_t *bytes)
{
	unsigned char prefix[4];
	mh_be32(id, prefix);
	struct key_batch *b = malloc(sizeof *b);
	if (!b)
		return -ENOMEM;
	*rows = *bytes = 0;
	/* Each batch starts where the last one ended, not at the prefix: a
	 * seek from the prefix would step over every key deleted so far
	 * (a table of n keys would cost n * n / DELETE_BATCH steps). */
	char *from = NULL;
	size_t from_len = 0;
	int rc;
	do {
		rc = collect(t, prefix, from, from_len, b, rows, bytes);
		free(from);
		from = NULL;
		for (unsigned i = 0; i < b->n; i++) {
			if (!rc)
				rc = mh_kv_del(t, (const unsigned char *)b->key[i], b->len[i]);
			if (i + 1 == b->n) {
				from = b->key[i]; /* deleted: the next seek lands after it */
				from_len = b->len[i];
			} else {
				free(b->key[i]);
			}
		}
	} while (!rc && b->n == DELETE_BATCH);
	free(from);
	free(b);
	return rc;
}

unsigned mh_table_indexes(const struct mh_table *tb)
{
	return tb->meta.nsec;
}

bool mh_table_hidden_pk(const struct mh_table *tb)
{
	return tb->meta.flags & META_HIDDEN_PK;
}

int mh_table_drop(struct mh_txn *t, const char *name)
{
	struct table_meta meta;
	if (!t->write)
		return -EINVAL;
	int rc = load_meta(t, name, MH_LOCKED, &meta);
	if (rc)
		return rc;
	(t->parent ? t->parent : t)->did_ddl = true;
	mh_catalog_changed(t->s);
	int64_t rows, bytes;
	unsigned char k[MH_KEY_PREFIX + MH_NAME_MAX], fk[MH_KEY_PREFIX + 4];
	mh_floor_key(meta.id, fk);
	if ((rc = delete_range(t, meta.id, &rows, &bytes)) ||
	    (rc = mh_txn_delta(t, meta.id, -rows, -bytes)) ||
	    (rc = mh_kv_del(t, fk, sizeof fk)))
		return rc;
	return mh_kv_del(t, k, meta_key(name, k));
}

int mh_table_rename(struct mh_txn *t, const char *from, const char *to)
{
	struct table_meta meta, other;
	if (!t->write || !name_ok(to))
		return -EINVAL;
	int rc = load_meta(t, from, MH_LOCKED, &meta);
	if (rc)
		return rc;
	rc = load_meta(t, to, MH_LOCKED, &other);
	if (rc != -ENOENT)
		return rc ? rc : -EEXIST;
	(t->parent ? t->parent : t)->did_ddl = true;
	mh_catalog_changed(t->s);
	/* Entries are keyed by id, so only the catalog key moves. */
	unsigned char k[MH_KEY_PREFIX + MH_NAME_MAX];
	if ((rc = mh_kv_del(t, k, meta_key(from, k))))
		return rc;
	return save_meta(t, to, &meta);
}

int mh_table_truncate(struct mh_txn *t, struct mh_table *tb)
{
	if (!t->write)
		return -EINVAL;
	int64_t rows, bytes;
	int rc = delete_range(t, tb->meta.id, &rows, &bytes);
	if (rc || (rc = mh_txn_delta(t, tb->meta.id, -rows, -bytes)))
		return rc;
	/* The counters restart; the persisted AUTO_INCREMENT floor stays (a
	 * bound, never too low: after a restart values go on above it). */
	pthread_mutex_lock(&t->s->counters_lock);
	tb->cnt->next_row_id = 1;
	tb->cnt->next_autoinc = 1;
	pthread_mutex_unlock(&t->s->counters_lock);
	return 0;
}

int mh_table_rows(struct mh_txn *t, struct mh_table *tb, uint64_t *rows)
{
	int64_t n, bytes;
	mh_txn_delta_sum(t, tb->meta.id, &n, &bytes);
	pthread_mutex_lock(&t->s->counters_lock);
	n += (int64_t)tb->cnt->rows;
	pthread_mutex_unlock(&t->s->counters_lock);
	*rows = n > 0 ? (uint64_t)n : 0;
	return 0;
}
