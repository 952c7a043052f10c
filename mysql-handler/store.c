/* SPDX-License-Identifier: MIT */
/* The environment, transactions and the catalog of tables. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"

/* Catalog key of the next table id (table names cannot start with 0x01). */
static const char NEXT_ID_KEY[] = "\x01next_table_id";

int mh_lmdb_error(struct mh_store *s, const char *what, int rc)
{
	snprintf(s->error, sizeof s->error, "%s: %s", what, mdb_strerror(rc));
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc == MDB_KEYEXIST)
		return -EEXIST;
	if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
		return -ENOSPC;
	return rc > 0 && rc < 1000 ? -rc : -EIO;
}

const char *mh_store_error(const struct mh_store *s)
{
	return s->error;
}

int mh_store_open(const char *dir, size_t map_size, struct mh_store **out,
		  const char **why)
{
	return mh_store_open_sync(dir, map_size, MH_SYNC_FULL, out, why);
}

int mh_store_open_sync(const char *dir, size_t map_size, enum mh_sync sync,
		       struct mh_store **out, const char **why)
{
	unsigned flags = sync == MH_SYNC_NOMETA ? MDB_NOMETASYNC
			 : sync == MH_SYNC_OFF  ? MDB_NOSYNC
						: 0;
	struct mh_store *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	int rc;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*why = "cannot create the store directory";
		free(s);
		return -errno;
	}
	if ((rc = mdb_env_create(&s->env)) ||
	    (rc = mdb_env_set_maxdbs(s->env, 2)) ||
	    (rc = mdb_env_set_mapsize(s->env, map_size)) ||
	    /* NOTLS: read transactions move between vamosd's threads. */
	    (rc = mdb_env_open(s->env, dir, MDB_NOTLS | flags, 0600))) {
		*why = mdb_strerror(rc);
		if (s->env)
			mdb_env_close(s->env);
		free(s);
		return -EIO;
	}
	s->max_key = (uint32_t)mdb_env_get_maxkeysize(s->env);
	MDB_txn *txn;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) ||
	    (rc = mdb_dbi_open(txn, "catalog", MDB_CREATE, &s->catalog)) ||
	    (rc = mdb_dbi_open(txn, "data", MDB_CREATE, &s->data)) ||
	    (rc = mdb_txn_commit(txn))) {
		*why = mdb_strerror(rc);
		mdb_env_close(s->env);
		free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void mh_store_close(struct mh_store *s)
{
	if (!s)
		return;
	mdb_env_close(s->env);
	free(s);
}

uint32_t mh_store_max_key(const struct mh_store *s)
{
	return s->max_key - MH_KEY_PREFIX;
}

int mh_txn_begin(struct mh_store *s, bool write, struct mh_txn **out)
{
	struct mh_txn *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
	if (rc) {
		free(t);
		return mh_lmdb_error(s, "begin", rc);
	}
	t->s = s;
	t->write = write;
	*out = t;
	return 0;
}

struct mh_store *mh_txn_store(struct mh_txn *t)
{
	return t->s;
}

int mh_txn_begin_nested(struct mh_txn *parent, struct mh_txn **out)
{
	if (!parent->write)
		return -EINVAL;
	struct mh_txn *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	int rc = mdb_txn_begin(parent->s->env, parent->txn, 0, &t->txn);
	if (rc) {
		free(t);
		return mh_lmdb_error(parent->s, "begin statement", rc);
	}
	t->s = parent->s;
	t->write = true;
	*out = t;
	return 0;
}

void mh_txn_reset(struct mh_txn *t)
{
	if (!t->write)
		mdb_txn_reset(t->txn);
}

int mh_txn_renew(struct mh_txn *t)
{
	if (t->write)
		return -EINVAL;
	int rc = mdb_txn_renew(t->txn);
	return rc ? mh_lmdb_error(t->s, "renew", rc) : 0;
}

int mh_txn_commit(struct mh_txn *t)
{
	int rc = mdb_txn_commit(t->txn);
	struct mh_store *s = t->s;
	free(t);
	return rc ? mh_lmdb_error(s, "commit", rc) : 0;
}

void mh_txn_abort(struct mh_txn *t)
{
	if (!t)
		return;
	mdb_txn_abort(t->txn);
	free(t);
}

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

static int load_meta(struct mh_txn *t, const char *name, struct table_meta *meta)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(t->txn, t->s->catalog, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? -ENOENT : mh_lmdb_error(t->s, "catalog", rc);
	/* Our own bytes, but a store can be damaged: check before use. */
	if (v.mv_size != sizeof *meta)
		return mh_lmdb_error(t->s, "catalog entry has the wrong size", MDB_CORRUPTED);
	memcpy(meta, v.mv_data, sizeof *meta);
	if (meta->version != TABLE_META_VERSION || meta->nsec > MH_MAX_INDEXES)
		return mh_lmdb_error(t->s, "catalog entry of another version", MDB_CORRUPTED);
	return 0;
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
	int rc = load_meta(t, name, &meta);
	if (rc != -ENOENT)
		return rc ? rc : -EEXIST;
	/* A fresh id, never reused: a dropped table's databases are gone. */
	MDB_val k = { sizeof NEXT_ID_KEY - 1, (void *)NEXT_ID_KEY }, v;
	uint32_t id = 1;
	rc = mdb_get(t->txn, t->s->catalog, &k, &v);
	if (rc == 0 && v.mv_size == sizeof id)
		memcpy(&id, v.mv_data, sizeof id);
	uint32_t next = id + 1;
	v.mv_size = sizeof next;
	v.mv_data = &next;
	if ((rc = mdb_put(t->txn, t->s->catalog, &k, &v, 0)))
		return mh_lmdb_error(t->s, "catalog", rc);

	struct mh_table tb = { .t = t };
	memset(&tb.meta, 0, sizeof tb.meta);
	tb.meta.version = TABLE_META_VERSION;
	tb.meta.id = id;
	tb.meta.nsec = nsec;
	tb.meta.flags = hidden_pk ? META_HIDDEN_PK : 0;
	tb.meta.next_row_id = 1;
	tb.meta.next_autoinc = auto_increment ? auto_increment : 1;
	for (unsigned i = 0; i < nsec; i++)
		tb.meta.unique[i] = sec[i].unique;
	snprintf(tb.name, sizeof tb.name, "%s", name);
	return mh_meta_save(&tb);
}

int mh_meta_save(struct mh_table *tb)
{
	MDB_val k = { strlen(tb->name), tb->name }, v = { sizeof tb->meta, &tb->meta };
	int rc = mdb_put(tb->t->txn, tb->t->s->catalog, &k, &v, 0);
	return rc ? mh_lmdb_error(tb->t->s, "catalog", rc) : 0;
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
	int rc = load_meta(t, name, &tb->meta);
	if (rc) {
		free(tb);
		return rc;
	}
	*out = tb;
	return 0;
}

int mh_table_close(struct mh_table *tb)
{
	int rc = 0;
	if (tb && tb->meta_dirty && tb->t->write)
		rc = mh_meta_save(tb);
	free(tb);
	return rc;
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
	return tb->meta.bytes;
}

/* next_autoinc 0: UINT64_MAX was written, no value is left (a stored
 * counter is never 0 otherwise: it starts at 1 at the least). */
#define AUTOINC_EXHAUSTED 0

uint64_t mh_table_next_autoinc(const struct mh_table *tb)
{
	return tb->meta.next_autoinc == AUTOINC_EXHAUSTED ? UINT64_MAX : tb->meta.next_autoinc;
}

void mh_table_autoinc_seen(struct mh_table *tb, uint64_t value)
{
	uint64_t next = tb->meta.next_autoinc;
	if (value == 0 || next == AUTOINC_EXHAUSTED || value < next)
		return;
	tb->meta.next_autoinc = value == UINT64_MAX ? AUTOINC_EXHAUSTED : value + 1;
	tb->meta_dirty = true;
}

int mh_table_autoinc_first(struct mh_table *tb, uint64_t increment, uint64_t offset,
			   uint64_t *first)
{
	if (increment == 0)
		increment = 1;
	if (offset == 0 || offset > increment)
		offset = 1; /* MariaDB ignores an offset above the increment */
	uint64_t v = tb->meta.next_autoinc;
	if (v == AUTOINC_EXHAUSTED)
		return -ERANGE;
	/* Round up to offset + k * increment. */
	if (v < offset) {
		v = offset;
	} else if ((v - offset) % increment) {
		uint64_t up = increment - (v - offset) % increment;
		if (v > UINT64_MAX - up)
			return -ERANGE;
		v += up;
	}
	*first = v;
	return 0;
}

/* Delete every entry of table @id (all its indexes). */
static int delete_range(struct mh_txn *t, uint32_t id)
{
	unsigned char prefix[4] = { id >> 24, id >> 16, id >> 8, id };
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->s->data, &c);
	if (rc)
		return mh_lmdb_error(t->s, "cursor", rc);
	MDB_val k = { sizeof prefix, prefix }, v;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= sizeof prefix && !memcmp(k.mv_data, prefix, sizeof prefix)) {
		if ((rc = mdb_cursor_del(c, 0)))
			break;
		k.mv_size = sizeof prefix;
		k.mv_data = prefix;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);
	return rc && rc != MDB_NOTFOUND ? mh_lmdb_error(t->s, "delete table", rc) : 0;
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
	struct mh_table *tb;
	if (!t->write)
		return -EINVAL;
	int rc = mh_table_open(t, name, &tb);
	if (rc)
		return rc;
	rc = delete_range(t, tb->meta.id);
	MDB_val k = { strlen(name), (void *)name };
	if (!rc && (rc = mdb_del(t->txn, t->s->catalog, &k, NULL)))
		rc = mh_lmdb_error(t->s, "catalog", rc);
	free(tb);
	return rc;
}

int mh_table_rename(struct mh_txn *t, const char *from, const char *to)
{
	struct table_meta meta;
	if (!t->write || !name_ok(to))
		return -EINVAL;
	int rc = load_meta(t, from, &meta);
	if (rc)
		return rc;
	struct table_meta other;
	rc = load_meta(t, to, &other);
	if (rc != -ENOENT)
		return rc ? rc : -EEXIST;
	MDB_val k = { strlen(from), (void *)from }, nk = { strlen(to), (void *)to },
		v = { sizeof meta, &meta };
	/* The databases are named by id, so only the catalog key moves. */
	if ((rc = mdb_del(t->txn, t->s->catalog, &k, NULL)) ||
	    (rc = mdb_put(t->txn, t->s->catalog, &nk, &v, MDB_NOOVERWRITE)))
		return mh_lmdb_error(t->s, "catalog", rc);
	return 0;
}

int mh_table_truncate(struct mh_txn *t, struct mh_table *tb)
{
	if (!t->write)
		return -EINVAL;
	int rc = delete_range(t, tb->meta.id);
	if (rc)
		return rc;
	tb->meta.next_row_id = 1;
	tb->meta.next_autoinc = 1;
	tb->meta.rows = tb->meta.bytes = 0;
	return mh_meta_save(tb);
}

int mh_table_rows(struct mh_txn *t, struct mh_table *tb, uint64_t *rows)
{
	(void)t;
	*rows = tb->meta.rows;
	return 0;
}
