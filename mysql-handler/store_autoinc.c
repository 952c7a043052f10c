/* SPDX-License-Identifier: MIT */
/*
 * Persisting the AUTO_INCREMENT floors: a commit that moved a counter
 * carries the floors in its own write batch (mh_autoinc_floors_stage), and
 * a prepare (or the store's close) writes them on their own
 * (mh_autoinc_persist_all). Floors are merges taking the larger value
 * (mh_floor_merge_operator; 0, exhausted, is the highest): concurrent
 * commits write theirs in whatever order the WAL gets them, and a floor
 * never goes down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_rocks_ext.h"

/* ---- the merge operator: the highest floor ---- */

/* Floor @a above floor @b? 0 is the highest: the counter is exhausted
 * (UINT64_MAX was handed out). */
static bool above(uint64_t a, uint64_t b)
{
	return b != 0 && (a == 0 || a > b);
}

/* Fold value @v into floor *@x (*@have: one seen yet). A value that is not
 * 8 bytes (none is written so) is left out. */
static void fold(const char *v, size_t len, uint64_t *x, bool *have)
{
	uint64_t y;
	if (!v || len != sizeof y)
		return;
	memcpy(&y, v, sizeof y);
	if (!*have || above(y, *x))
		*x = y;
	*have = true;
}

static char *max_of(const char *existing, size_t elen, const char *const *ops,
		    const size_t *lens, int n, unsigned char *ok, size_t *len)
{
	uint64_t x = 1; /* the lowest floor, if nothing valid came */
	bool have = false;
	fold(existing, elen, &x, &have);
	for (int i = 0; i < n; i++)
		fold(ops[i], lens[i], &x, &have);
	char *out = malloc(sizeof x);
	*ok = out != NULL;
	*len = out ? sizeof x : 0;
	if (out)
		memcpy(out, &x, sizeof x);
	return out;
}

static char *full_merge(void *state, const char *key, size_t klen, const char *existing,
			size_t elen, const char *const *ops, const size_t *lens, int n,
			unsigned char *ok, size_t *len)
{
	(void)state, (void)key, (void)klen;
	return max_of(existing, elen, ops, lens, n, ok, len);
}

static char *partial_merge(void *state, const char *key, size_t klen, const char *const *ops,
			   const size_t *lens, int n, unsigned char *ok, size_t *len)
{
	(void)state, (void)key, (void)klen;
	return max_of(NULL, 0, ops, lens, n, ok, len);
}

static void delete_value(void *state, const char *v, size_t len)
{
	(void)state, (void)len;
	free((void *)v);
}

static const char *merge_name(void *state)
{
	(void)state;
	return "vamos.floor.max64"; /* stored in the options: never rename */
}

static void no_state(void *state)
{
	(void)state; /* RocksDB calls it as it drops the operator: none to free */
}

rocksdb_mergeoperator_t *mh_floor_merge_operator(void)
{
	return rocksdb_mergeoperator_create(NULL, no_state, full_merge, partial_merge,
					    delete_value, merge_name);
}

/* ---- writing floors ---- */

int mh_autoinc_persist_all(struct mh_store *s)
{
	int rc = 0;
	/* One persister at a time, each writing what the counters say now.
	 * The write reaches the WAL before the commit that called it does,
	 * so a commit that survives a crash finds a floor above its values. */
	pthread_mutex_lock(&s->floor_lock);
	pthread_mutex_lock(&s->counters_lock);
	/* Counters are only ever added at the head and freed at close: the
	 * list from this head on stays as it is. */
	struct mh_counters *head = s->counters;
	pthread_mutex_unlock(&s->counters_lock);
	for (struct mh_counters *c = head; c && !rc; c = c->next) {
		pthread_mutex_lock(&s->counters_lock);
		uint64_t next = c->next_autoinc, floor = c->autoinc_floor;
		pthread_mutex_unlock(&s->counters_lock);
		if (floor == 0 || (next != 0 && next <= floor))
			continue; /* exhausted and persisted so, or not passed */
		unsigned char k[MH_KEY_PREFIX + 4];
		mh_floor_key(c->id, k);
		char *err = NULL;
		rocksdb_transactiondb_merge(s->db, s->wo_nosync, (const char *)k, sizeof k,
					    (const char *)&next, sizeof next, &err);
		if (err) {
			rc = mh_rocks_error(s, "AUTO_INCREMENT floor", err);
		} else {
			pthread_mutex_lock(&s->counters_lock);
			if (next == 0 || next > c->autoinc_floor)
				c->autoinc_floor = next;
			pthread_mutex_unlock(&s->counters_lock);
		}
	}
	pthread_mutex_unlock(&s->floor_lock);
	return rc;
}

int mh_autoinc_floors_stage(struct mh_txn *t, struct mh_floor_note **notes, unsigned *count)
{
	struct mh_store *s = t->s;
	unsigned n = 0, cap = 0;
	struct mh_floor_note *v = NULL;
	pthread_mutex_lock(&s->counters_lock);
	struct mh_counters *head = s->counters;
	pthread_mutex_unlock(&s->counters_lock);
	for (struct mh_counters *c = head; c; c = c->next) {
		pthread_mutex_lock(&s->counters_lock);
		uint64_t next = c->next_autoinc, floor = c->autoinc_floor;
		pthread_mutex_unlock(&s->counters_lock);
		if (floor == 0 || (next != 0 && next <= floor))
			continue; /* exhausted and persisted so, or not passed */
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			struct mh_floor_note *m = realloc(v, cap * sizeof *m);
			if (!m) {
				free(v);
				return -ENOMEM;
			}
			v = m;
		}
		unsigned char k[MH_KEY_PREFIX + 4];
		mh_floor_key(c->id, k);
		/* Untracked: no lock on the floor's key, so inserters of one
		 * table never wait for each other's commits. */
		if (mh_rocks_merge_untracked(t->txn, (const char *)k, sizeof k,
					     (const char *)&next, sizeof next)) {
			free(v);
			return mh_store_fail(s, -EIO, "AUTO_INCREMENT floor: merge refused");
		}
		v[n++] = (struct mh_floor_note){ c, next };
	}
	*notes = v;
	*count = n;
	return 0;
}

void mh_autoinc_floors_written(struct mh_store *s, struct mh_floor_note *notes, unsigned count)
{
	pthread_mutex_lock(&s->counters_lock);
	for (unsigned i = 0; i < count; i++) {
		struct mh_counters *c = notes[i].c;
		/* 0: the counter was exhausted (UINT64_MAX written). */
		if (notes[i].value == 0 || notes[i].value > c->autoinc_floor)
			c->autoinc_floor = notes[i].value;
	}
	pthread_mutex_unlock(&s->counters_lock);
	free(notes);
}
