/* SPDX-License-Identifier: MIT */
/* Transactions (statements as savepoints), key-value access inside them,
 * and the tables' shared counters that commits move. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_rocks_ext.h"

static void free_txn(struct mh_txn *t)
{
	if (!t->parent) {
		if (t->txn)
			rocksdb_transaction_destroy(t->txn);
		if (t->snap)
			rocksdb_transactiondb_release_snapshot(t->s->db, t->snap);
		if (t->ro)
			rocksdb_readoptions_destroy(t->ro);
		if (t->latest)
			rocksdb_readoptions_destroy(t->latest);
	}
	for (unsigned i = 0; i < t->nsaved; i++)
		free(t->saved[i].deltas);
	free(t->saved);
	free(t->deltas);
	free(t->val);
	free(t->name);
	/* A recovered prepared transaction's locks go with it, after its end. */
	mh_txn_abort(t->holder);
	free(t);
}

void mh_txn_forget(struct mh_txn *t)
{
	/* Destroying the handle neither commits nor rolls back: a prepared
	 * transaction stays in the WAL, and RocksDB keeps that WAL. */
	free_txn(t);
}

static int take_snapshot(struct mh_txn *t)
{
	t->snap = rocksdb_transactiondb_create_snapshot(t->s->db);
	if (!t->snap)
		return mh_store_fail(t->s, -ENOMEM, "snapshot: out of memory");
	rocksdb_readoptions_set_snapshot(t->ro, t->snap);
	return 0;
}

/* Begin @t's RocksDB transaction, with its own lock wait if it has one
 * (RocksDB copies the options into the transaction at begin). */
static rocksdb_transaction_t *begin_rocks(struct mh_txn *t)
{
	if (!t->lock_wait_ms)
		return rocksdb_transaction_begin(t->s->db, t->s->wo_nosync, t->s->txo, NULL);
	rocksdb_transaction_options_t *o = rocksdb_transaction_options_create();
	if (!o)
		return NULL;
	rocksdb_transaction_options_set_lock_timeout(o, t->lock_wait_ms);
	rocksdb_transaction_options_set_deadlock_detect(o, 1);
	rocksdb_transaction_t *txn = rocksdb_transaction_begin(t->s->db, t->s->wo_nosync, o, NULL);
	rocksdb_transaction_options_destroy(o);
	return txn;
}

static int txn_begin(struct mh_store *s, bool write, unsigned lock_wait_ms,
		     struct mh_txn **out);

void mh_txn_set_lock_wait(struct mh_txn *t, unsigned ms)
{
	t->lock_wait_ms = ms;
}

int mh_txn_begin(struct mh_store *s, bool write, struct mh_txn **out)
{
	return txn_begin(s, write, 0, out);
}

int mh_txn_begin_write(struct mh_store *s, unsigned lock_wait_ms, struct mh_txn **out)
{
	return txn_begin(s, true, lock_wait_ms, out);
}

static int txn_begin(struct mh_store *s, bool write, unsigned lock_wait_ms,
			       struct mh_txn **out)
{
	/* RocksDB's per-thread perf counters are on by default and cost a
	 * thread-local access each time they count: off, for this thread
	 * (the setting is thread-local too; setting it again is one store). */
	rocksdb_set_perf_level(rocksdb_disable);
	struct mh_txn *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->s = s;
	t->write = write;
	t->lock_wait_ms = lock_wait_ms;
	t->ro = rocksdb_readoptions_create();
	t->latest = rocksdb_readoptions_create();
	if (!t->ro || !t->latest) {
		free_txn(t);
		return -ENOMEM;
	}
	int rc = take_snapshot(t);
	if (!rc && write) {
		/* No snapshot in the RocksDB transaction itself: its locking
		 * reads then see the latest committed version, as InnoDB's do. */
		t->txn = begin_rocks(t);
		if (!t->txn)
			rc = mh_store_fail(s, -ENOMEM, "begin: out of memory");
	}
	if (rc) {
		free_txn(t);
		return rc;
	}
	*out = t;
	return 0;
}

struct mh_store *mh_txn_store(struct mh_txn *t)
{
	return t->s;
}

int mh_txn_begin_nested(struct mh_txn *parent, struct mh_txn **out)
{
	if (!parent->write || parent->broken || parent->prepared)
		return -EINVAL;
	struct mh_txn *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	*t = (struct mh_txn){ .s = parent->s, .parent = parent, .txn = parent->txn,
			      .snap = parent->snap, .ro = parent->ro, .latest = parent->latest,
			      .write = true };
	/* A statement is a savepoint: its abort rolls back to here. */
	rocksdb_transaction_set_savepoint(parent->txn);
	parent->depth++;
	*out = t;
	return 0;
}

static int fold_deltas(struct mh_txn *t, struct mh_txn *into);

int mh_txn_try_begin(struct mh_txn *parent, struct mh_txn **out)
{
	if (!parent->write || parent->broken || parent->attempt || parent->prepared)
		return -EINVAL;
	struct mh_txn *a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	*a = (struct mh_txn){ .s = parent->s, .parent = parent, .txn = parent->txn,
			      .snap = parent->snap, .ro = parent->ro, .latest = parent->latest,
			      .write = true, .attempt = true };
	/* Where an attempt that would wait goes back to. It never stays on
	 * the stack (mh_txn_try_end pops it), so the depths of statements
	 * and SQL savepoints are not moved. */
	rocksdb_transaction_set_savepoint(parent->txn);
	mh_rocks_set_lock_timeout(parent->txn, 0);
	*out = a;
	return 0;
}

int mh_txn_try_end(struct mh_txn *a, bool keep)
{
	struct mh_txn *root = a->parent;
	while (root->parent)
		root = root->parent;
	mh_rocks_set_lock_timeout(a->txn, root->lock_wait_ms ? root->lock_wait_ms
							     : a->s->lock_wait_ms);
	int rc = 0;
	char *err = NULL;
	if (keep) {
		/* Its writes and locks now belong to the parent's savepoint. */
		if (mh_rocks_pop_savepoint(a->txn) || (rc = fold_deltas(a, a->parent))) {
			a->parent->broken = true;
			rc = rc ? rc : mh_store_fail(a->s, -EIO, "attempt: no savepoint to pop");
		}
	} else {
		rocksdb_transaction_rollback_to_savepoint(a->txn, &err);
		if (err) {
			a->parent->broken = true; /* its writes could not be undone */
			rc = mh_rocks_error(a->s, "rollback", err);
		}
	}
	free_txn(a);
	return rc;
}

void mh_txn_reset(struct mh_txn *t)
{
	if (t->write || !t->snap)
		return;
	rocksdb_readoptions_set_snapshot(t->ro, NULL);
	rocksdb_transactiondb_release_snapshot(t->s->db, t->snap);
	t->snap = NULL;
}

int mh_txn_renew(struct mh_txn *t)
{
	if (t->parent)
		return -EINVAL;
	if (t->snap) {
		rocksdb_readoptions_set_snapshot(t->ro, NULL);
		rocksdb_transactiondb_release_snapshot(t->s->db, t->snap);
		t->snap = NULL;
	}
	return take_snapshot(t);
}

int mh_txn_write(struct mh_txn *t)
{
	if (t->write || t->parent)
		return -EINVAL;
	int rc = t->snap ? 0 : take_snapshot(t);
	if (rc)
		return rc;
	t->txn = begin_rocks(t);
	if (!t->txn)
		return mh_store_fail(t->s, -ENOMEM, "begin: out of memory");
	t->write = true;
	return 0;
}

void mh_txn_lock_reads(struct mh_txn *t, bool on)
{
	(t->parent ? t->parent : t)->lock_reads = on;
}

/* Fold @t's deltas into @into's. */
static int fold_deltas(struct mh_txn *t, struct mh_txn *into)
{
	for (unsigned i = 0; i < t->ndeltas; i++) {
		int rc = mh_txn_delta(into, t->deltas[i].id, t->deltas[i].rows, t->deltas[i].bytes);
		if (rc)
			return rc;
	}
	return 0;
}

static void apply_deltas(struct mh_txn *t)
{
	struct mh_store *s = t->s;
	pthread_mutex_lock(&s->counters_lock);
	for (unsigned i = 0; i < t->ndeltas; i++)
		for (struct mh_counters *c = s->counters; c; c = c->next)
			if (c->id == t->deltas[i].id) {
				c->rows += t->deltas[i].rows;
				c->bytes += t->deltas[i].bytes;
			}
	pthread_mutex_unlock(&s->counters_lock);
}

/* Does RocksDB hold writes back now (too many memtables or level-0 files
 * waiting for a flush or compaction)? A commit would sleep in it. */
static bool writes_held_back(struct mh_store *s)
{
	uint64_t stopped = 0, delayed = 0;
	return rocksdb_transactiondb_property_int(s->db, "rocksdb.is-write-stopped", &stopped) ||
	       stopped ||
	       rocksdb_transactiondb_property_int(s->db, "rocksdb.actual-delayed-write-rate",
						  &delayed) ||
	       delayed;
}

/* Commit @t into the memtable and the WAL's file, not synced; @wait: for
 * the commit lock and through a write stall (else -EWOULDBLOCK when a
 * count holds the lock or RocksDB holds writes back, @t as before). Frees
 * @t unless -EWOULDBLOCK. */
static int commit_unsynced(struct mh_txn *t, bool wait)
{
	int rc = 0;
	/* The AUTO_INCREMENT floors this commit carries in its own batch. */
	struct mh_floor_note *notes = NULL;
	unsigned nnotes = 0;
	if (t->parent) {
		/* The savepoint stays on RocksDB's stack (its C API cannot pop
		 * one); only a later statement's abort would roll back to it,
		 * and that statement set its own after it. */
		if ((rc = fold_deltas(t, t->parent)))
			t->parent->broken = true;
		free_txn(t);
		return rc;
	}
	if (t->write) {
		char *err = NULL;
		if (t->broken) {
			rocksdb_transaction_rollback(t->txn, &err);
			free(err);
			rc = mh_store_fail(t->s, -EIO, "commit: a statement could not be kept");
		} else if (!wait && (writes_held_back(t->s) ||
				     pthread_rwlock_tryrdlock(&t->s->commit_lock))) {
			return -EWOULDBLOCK; /* nothing done */
		} else {
			if (wait)
				pthread_rwlock_rdlock(&t->s->commit_lock);
			if (t->autoinc_moved && (rc = mh_autoinc_floors_stage(t, &notes, &nnotes))) {
				rocksdb_transaction_rollback(t->txn, &err);
				free(err);
				err = NULL;
			} else {
				rocksdb_transaction_commit(t->txn, &err);
				if (!err)
					apply_deltas(t);
			}
			pthread_rwlock_unlock(&t->s->commit_lock);
			if (err)
				rc = mh_rocks_error(t->s, "commit", err);
			if (!rc && nnotes)
				mh_autoinc_floors_written(t->s, notes, nnotes);
			else
				free(notes);
		}
	}
	if (t->did_ddl) /* committed or not: what was cached meanwhile goes */
		mh_catalog_changed(t->s);
	free_txn(t);
	return rc;
}

int mh_txn_commit(struct mh_txn *t)
{
	struct mh_store *s = t->s;
	bool wrote = !t->parent && t->write;
	int rc = commit_unsynced(t, true);
	return rc == 0 && wrote ? mh_store_sync(s) : rc;
}

int mh_txn_commit_unsynced(struct mh_txn *t)
{
	return commit_unsynced(t, false);
}

void mh_txn_abort(struct mh_txn *t)
{
	if (!t)
		return;
	char *err = NULL;
	if (t->parent) {
		rocksdb_transaction_rollback_to_savepoint(t->txn, &err);
		t->parent->depth--;
	} else if (t->write) {
		rocksdb_transaction_rollback(t->txn, &err);
		if (t->did_ddl)
			mh_catalog_changed(t->s);
		/* A prepared one's end is in the WAL: durable before it is
		 * answered, as its prepare was. */
		if (!err && t->prepared)
			mh_store_sync(t->s);
	}
	if (err) {
		if (t->parent)
			t->parent->broken = true; /* its writes could not be undone */
		mh_rocks_error(t->s, "rollback", err);
	}
	free_txn(t);
}

int mh_kv_get(struct mh_txn *t, const unsigned char *key, size_t klen, enum mh_read how,
	      char **val, size_t *vlen)
{
	char *err = NULL, *v;
	rocksdb_readoptions_t *ro = how == MH_AT_SNAPSHOT ? t->ro : t->latest;
	if (t->write && how == MH_LOCKED)
		v = rocksdb_transaction_get_for_update(t->txn, ro, (const char *)key, klen, vlen, 1,
						       &err);
	else if (t->write)
		v = rocksdb_transaction_get(t->txn, ro, (const char *)key, klen, vlen, &err);
	else
		v = rocksdb_transactiondb_get(t->s->db, ro, (const char *)key, klen, vlen, &err);
	if (err)
		return mh_rocks_error(t->s, how == MH_LOCKED ? "lock" : "get", err);
	if (!v)
		return -ENOENT;
	*val = v;
	return 0;
}

int mh_kv_lock(struct mh_txn *t, const unsigned char *key, size_t klen)
{
	char *v = NULL;
	size_t vlen;
	int rc = mh_kv_get(t, key, klen, MH_LOCKED, &v, &vlen);
	free(v);
	return rc == -ENOENT ? 0 : rc;
}

int mh_kv_put(struct mh_txn *t, const unsigned char *key, size_t klen, const void *val,
	      size_t vlen)
{
	char *err = NULL;
	rocksdb_transaction_put(t->txn, (const char *)key, klen, val, vlen, &err);
	return err ? mh_rocks_error(t->s, "put", err) : 0;
}

int mh_kv_del(struct mh_txn *t, const unsigned char *key, size_t klen)
{
	char *err = NULL;
	rocksdb_transaction_delete(t->txn, (const char *)key, klen, &err);
	return err ? mh_rocks_error(t->s, "delete", err) : 0;
}

rocksdb_iterator_t *mh_kv_iter(struct mh_txn *t, bool latest)
{
	rocksdb_readoptions_t *ro = latest ? t->latest : t->ro;
	if (t->write)
		return rocksdb_transaction_create_iterator(t->txn, ro);
	return rocksdb_transactiondb_create_iterator(t->s->db, ro);
}

int mh_txn_delta(struct mh_txn *t, uint32_t id, int64_t rows, int64_t bytes)
{
	for (unsigned i = 0; i < t->ndeltas; i++)
		if (t->deltas[i].id == id) {
			t->deltas[i].rows += rows;
			t->deltas[i].bytes += bytes;
			return 0;
		}
	if (t->ndeltas == t->cap_deltas) {
		unsigned cap = t->cap_deltas ? 2 * t->cap_deltas : 4;
		struct mh_delta *d = realloc(t->deltas, cap * sizeof *d);
		if (!d)
			return -ENOMEM;
		t->deltas = d;
		t->cap_deltas = cap;
	}
	t->deltas[t->ndeltas++] = (struct mh_delta){ id, rows, bytes };
	return 0;
}

void mh_txn_delta_sum(const struct mh_txn *t, uint32_t id, int64_t *rows, int64_t *bytes)
{
	*rows = *bytes = 0;
	for (; t; t = t->parent)
		for (unsigned i = 0; i < t->ndeltas; i++)
			if (t->deltas[i].id == id) {
				*rows += t->deltas[i].rows;
				*bytes += t->deltas[i].bytes;
			}
}

static struct mh_counters *find_counters(struct mh_store *s, uint32_t id)
{
	for (struct mh_counters *c = s->counters; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Counting a table's primary entries, up to a limit. */
struct row_count {
	uint64_t rows, limit;
	int64_t bytes;
	char *edge; /* the first key past the limit (malloc'd), if any */
	size_t edge_len;
};

static int count_entry(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct row_count *c = arg;
	(void)v;
	if (c->rows == c->limit) {
		if ((c->edge = malloc(kl))) {
			memcpy(c->edge, k, kl);
			c->edge_len = kl;
		}
		return MH_WALK_STOP;
	}
	c->rows++;
	c->bytes += (int64_t)vl;
	return 0;
}

/* Count table @id's committed rows and bytes at the latest committed
 * version (@ro), up to @c->limit rows. */
static int count_rows(struct mh_store *s, rocksdb_readoptions_t *ro, uint32_t id,
		      struct row_count *c)
{
	unsigned char lo[MH_KEY_PREFIX];
	mh_be32(id, lo);
	lo[4] = 0;
	return mh_walk_prefix(s, rocksdb_transactiondb_create_iterator(s->db, ro), lo, sizeof lo,
			      NULL, 0, "count rows", count_entry, c);
}

/* The sample a table's counters start from: its first entries are
 * counted, and a table no longer than this is counted exactly. */
#define COUNT_SAMPLE 4096u

/* The largest hidden row id of table @id (0: none), from its last primary
 * entry: one seek, not a scan. */
static int last_row_id(struct mh_store *s, rocksdb_readoptions_t *ro, uint32_t id,
		       uint64_t *out)
{
	unsigned char past[MH_KEY_PREFIX + MH_HIDDEN_PK_LEN + 1];
	mh_be32(id, past);
	past[4] = 0;
	memset(past + MH_KEY_PREFIX, 0xff, sizeof past - MH_KEY_PREFIX);
	rocksdb_iterator_t *it = rocksdb_transactiondb_create_iterator(s->db, ro);
	*out = 0;
	rocksdb_iter_seek_for_prev(it, (const char *)past, sizeof past);
	if (rocksdb_iter_valid(it)) {
		size_t kl;
		const char *k = rocksdb_iter_key(it, &kl);
		/* Our own keys; one not of a hidden row id is ignored. */
		if (kl == MH_KEY_PREFIX + MH_HIDDEN_PK_LEN && !memcmp(k, past, MH_KEY_PREFIX))
			for (unsigned i = 0; i < MH_HIDDEN_PK_LEN; i++)
				*out = *out << 8 | (unsigned char)k[MH_KEY_PREFIX + i];
	}
	char *err = NULL;
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	return err ? mh_rocks_error(s, "last row id", err) : 0;
}

/* Table @meta's committed rows and bytes, without reading the whole
 * table: its first COUNT_SAMPLE primary entries are counted (all of a
 * small table: exact), and a longer table is scaled from RocksDB's size of
 * its primary range against the size of the sampled part. */
static int estimate_rows(struct mh_store *s, rocksdb_readoptions_t *ro, uint32_t id,
			 struct mh_counters *c)
{
	unsigned char lo[MH_KEY_PREFIX], hi[MH_KEY_PREFIX];
	mh_be32(id, lo);
	lo[4] = 0;
	mh_be32(id, hi);
	hi[4] = 1; /* past the primary index */
	struct row_count n = { .limit = COUNT_SAMPLE };
	int rc = count_rows(s, ro, id, &n);
	if (rc) {
		free(n.edge);
		return rc;
	}
	uint64_t rows = n.rows;
	int64_t bytes = n.bytes;
	char *edge = n.edge;
	size_t edge_len = n.edge_len;
	if (edge) {
		uint64_t whole = mh_range_bytes(s, lo, sizeof lo, hi, sizeof hi);
		uint64_t part = mh_range_bytes(s, lo, sizeof lo, (unsigned char *)edge, edge_len);
		/* Rows not yet in SST files are in neither size: the sample
		 * stays a lower bound then. */
		if (part && whole > part) {
			double scale = (double)whole / (double)part;
			rows = (uint64_t)((double)rows * scale);
			bytes = (int64_t)((double)bytes * scale);
		}
	}
	free(edge);
	c->rows = (int64_t)rows;
	c->bytes = bytes;
	return 0;
}

/* Table @meta's counters: its rows and bytes (estimate_rows), largest
 * hidden row id and AUTO_INCREMENT floor, at the latest committed
 * version. */
static int load_counters(struct mh_store *s, const struct table_meta *meta,
			 struct mh_counters *c)
{
	unsigned char key[MH_KEY_PREFIX + 4];
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	if (!ro)
		return -ENOMEM;
	c->id = meta->id;
	int rc = estimate_rows(s, ro, meta->id, c);
	uint64_t last = 0;
	if (!rc && (meta->flags & META_HIDDEN_PK))
		rc = last_row_id(s, ro, meta->id, &last);
	if (rc) {
		rocksdb_readoptions_destroy(ro);
		return rc;
	}
	c->next_row_id = last + 1;
	char *err = NULL;
	mh_be32(0, key);
	key[4] = CAT_AUTOINC;
	mh_be32(meta->id, key + MH_KEY_PREFIX);
	size_t vl;
	char *v = rocksdb_transactiondb_get(s->db, ro, (const char *)key, sizeof key, &vl, &err);
	rocksdb_readoptions_destroy(ro);
	if (err)
		return mh_rocks_error(s, "AUTO_INCREMENT floor", err);
	c->next_autoinc = meta->first_autoinc ? meta->first_autoinc : 1;
	if (v && vl == sizeof c->autoinc_floor) { /* else never persisted */
		memcpy(&c->autoinc_floor, v, vl);
		c->next_autoinc = c->autoinc_floor;
	} else {
		c->autoinc_floor = c->next_autoinc;
	}
	free(v);
	return 0;
}

int mh_counters_get(struct mh_txn *t, const struct table_meta *meta, struct mh_counters **out)
{
	struct mh_store *s = t->s;
	pthread_mutex_lock(&s->counters_lock);
	struct mh_counters *c = find_counters(s, meta->id);
	pthread_mutex_unlock(&s->counters_lock);
	if (c) {
		*out = c;
		return 0;
	}
	/* Exclusive against commits: the count and their deltas meet once. */
	pthread_rwlock_wrlock(&s->commit_lock);
	pthread_mutex_lock(&s->counters_lock);
	c = find_counters(s, meta->id);
	pthread_mutex_unlock(&s->counters_lock);
	int rc = 0;
	if (!c) {
		if (!(c = calloc(1, sizeof *c)))
			rc = -ENOMEM;
		else if ((rc = load_counters(s, meta, c))) {
			free(c);
		} else {
			pthread_mutex_lock(&s->counters_lock);
			c->next = s->counters;
			s->counters = c;
			pthread_mutex_unlock(&s->counters_lock);
		}
	}
	pthread_rwlock_unlock(&s->commit_lock);
	if (!rc)
		*out = c;
	return rc;
}

int mh_table_recount(struct mh_table *tb)
{
	struct mh_store *s = tb->t->s;
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	if (!ro)
		return -ENOMEM;
	/* Exclusive against commits (they hold it shared while their deltas
	 * move the counters): the count replaces counters that no commit is
	 * moving, and every later commit moves the new ones. */
	pthread_rwlock_wrlock(&s->commit_lock);
	struct row_count n = { .limit = UINT64_MAX };
	int rc = count_rows(s, ro, tb->meta.id, &n);
	if (rc == 0) {
		pthread_mutex_lock(&s->counters_lock);
		tb->cnt->rows = (int64_t)n.rows;
		tb->cnt->bytes = n.bytes;
		pthread_mutex_unlock(&s->counters_lock);
	}
	pthread_rwlock_unlock(&s->commit_lock);
	rocksdb_readoptions_destroy(ro);
	return rc;
}
