/* SPDX-License-Identifier: MIT */
/* Two-phase commit: preparing a write transaction under a name, and the
 * prepared transactions RocksDB recovers from its WAL at open. A
 * TransactionDB always runs with allow_2pc, so prepare is durable as a
 * commit is (the store's write options) and recovery keeps what was
 * prepared until it is committed or rolled back. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_rocks_ext.h"

int mh_txn_prepare(struct mh_txn *t, const void *name, size_t len)
{
	if (!t->write || t->parent || t->prepared || t->broken ||
	    len < 1 || len > MH_TXN_NAME_MAX)
		return -EINVAL;
	char *copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, len);
	/* The AUTO_INCREMENT values it took stay taken whatever its end: a
	 * commit after a crash (from the WAL) persists no floor of its own. */
	int rc = t->autoinc_moved ? mh_autoinc_persist_all(t->s) : 0;
	if (rc) {
		free(copy);
		return rc;
	}
	t->autoinc_moved = false;
	char *err = NULL;
	rocksdb_transaction_set_name(t->txn, copy, len, &err);
	if (err) {
		/* RocksDB refuses a name another transaction holds. */
		bool taken = strstr(err, "unique") != NULL;
		free(copy);
		if (taken) {
			free(err);
			return mh_store_fail(t->s, -EEXIST, "prepare: the name is taken");
		}
		return mh_rocks_error(t->s, "prepare: name", err);
	}
	rocksdb_transaction_prepare(t->txn, &err);
	if (err) {
		free(copy);
		return mh_rocks_error(t->s, "prepare", err);
	}
	t->prepared = true;
	t->name = copy;
	t->name_len = len;
	/* Durable before it is answered, as a commit (a failed sync fails
	 * the store). */
	return mh_store_sync(t->s);
}

bool mh_txn_prepared(const struct mh_txn *t)
{
	return t->prepared;
}

const void *mh_txn_name(const struct mh_txn *t, size_t *len)
{
	*len = t->prepared ? t->name_len : 0;
	return t->prepared ? t->name : NULL;
}

static int lock_key(void *arg, const char *key, size_t len)
{
	return mh_kv_lock(arg, (const unsigned char *)key, len);
}

/* RocksDB recovers a prepared transaction without its row locks: a
 * transaction of ours takes them again (no other holds any yet), so that
 * nobody writes its rows before it ends, as before the restart. */
static int relock(struct mh_txn *t)
{
	int rc = mh_txn_begin_write(t->s, 0, &t->holder);
	if (rc) {
		t->holder = NULL;
		return rc;
	}
	return mh_rocks_each_written_key(t->txn, lock_key, t->holder);
}

int mh_store_recovered(struct mh_store *s, struct mh_txn ***out, size_t *n)
{
	size_t cnt = 0;
	rocksdb_transaction_t **list = rocksdb_transactiondb_get_prepared_transactions(s->db, &cnt);
	*out = NULL;
	*n = 0;
	if (!list || !cnt) {
		free(list);
		return 0;
	}
	struct mh_txn **ts = calloc(cnt, sizeof *ts);
	int rc = ts ? 0 : -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		struct mh_txn *t = rc ? NULL : calloc(1, sizeof *t);
		size_t len = 0;
		char *name = t ? rocksdb_transaction_get_name(list[i], &len) : NULL;
		if (!t || !name) {
			/* Left prepared in the store: found again at the next open. */
			free(t);
			free(name);
			rocksdb_transaction_destroy(list[i]);
			if (!rc)
				rc = -ENOMEM;
			continue;
		}
		*t = (struct mh_txn){ .s = s, .txn = list[i], .write = true, .prepared = true,
				      .name = name, .name_len = len };
		ts[(*n)++] = t;
		if ((rc = relock(t)))
			mh_store_fail(s, rc, "recovered prepared transaction: cannot lock its rows");
	}
	free(list);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			mh_txn_forget(ts[i]);
		free(ts);
		*n = 0;
		return rc;
	}
	*out = ts;
	return 0;
}
