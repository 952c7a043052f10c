/* SPDX-License-Identifier: MIT */
/* SQL savepoints on RocksDB's savepoint stack. A committed statement
 * leaves its savepoint on the stack (the C API cannot pop one), so a
 * savepoint is known by its depth, and rolling back to it pops every
 * savepoint above it, then sets it again. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int mh_txn_savepoint(struct mh_txn *t, unsigned *depth)
{
	if (!t->write || t->parent || t->broken)
		return -EINVAL;
	if (t->nsaved == t->cap_saved) {
		unsigned cap = t->cap_saved ? 2 * t->cap_saved : 4;
		struct mh_saved *s = realloc(t->saved, cap * sizeof *s);
		if (!s)
			return -ENOMEM;
		t->saved = s;
		t->cap_saved = cap;
	}
	struct mh_saved *s = &t->saved[t->nsaved];
	s->deltas = NULL;
	s->ndeltas = t->ndeltas;
	if (t->ndeltas) {
		if (!(s->deltas = malloc(t->ndeltas * sizeof *s->deltas)))
			return -ENOMEM;
		memcpy(s->deltas, t->deltas, t->ndeltas * sizeof *s->deltas);
	}
	rocksdb_transaction_set_savepoint(t->txn);
	s->depth = ++t->depth;
	t->nsaved++;
	*depth = s->depth;
	return 0;
}

/* Forget the saved savepoints from index @from on. */
static void drop_from(struct mh_txn *t, unsigned from)
{
	for (unsigned i = from; i < t->nsaved; i++)
		free(t->saved[i].deltas);
	t->nsaved = from < t->nsaved ? from : t->nsaved;
}

static int find(const struct mh_txn *t, unsigned depth)
{
	for (unsigned i = 0; i < t->nsaved; i++)
		if (t->saved[i].depth == depth)
			return (int)i;
	return -ENOENT;
}

int mh_txn_rollback_to(struct mh_txn *t, unsigned depth)
{
	if (!t->write || t->parent)
		return -EINVAL;
	int i = find(t, depth);
	if (i < 0)
		return i;
	/* Pop down to the savepoint itself: each pop undoes what came after
	 * the savepoint it pops. */
	while (t->depth >= depth) {
		char *err = NULL;
		rocksdb_transaction_rollback_to_savepoint(t->txn, &err);
		if (err) {
			t->broken = true; /* part undone: the transaction cannot go on */
			return mh_rocks_error(t->s, "rollback to savepoint", err);
		}
		t->depth--;
	}
	rocksdb_transaction_set_savepoint(t->txn); /* it stays set */
	t->depth++;
	struct mh_saved *s = &t->saved[i];
	free(t->deltas);
	t->deltas = s->deltas;
	t->ndeltas = t->cap_deltas = s->ndeltas;
	s->deltas = NULL;
	if (s->ndeltas && !(s->deltas = malloc(s->ndeltas * sizeof *s->deltas))) {
		t->broken = true;
		return -ENOMEM;
	}
	if (s->ndeltas)
		memcpy(s->deltas, t->deltas, s->ndeltas * sizeof *s->deltas);
	drop_from(t, (unsigned)i + 1);
	return 0;
}

int mh_txn_release(struct mh_txn *t, unsigned depth)
{
	if (!t->write || t->parent)
		return -EINVAL;
	int i = find(t, depth);
	if (i < 0)
		return i;
	drop_from(t, (unsigned)i);
	return 0;
}
