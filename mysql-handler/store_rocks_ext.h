/* SPDX-License-Identifier: MIT */
/* RocksDB transaction calls its C API lacks (store_rocks_ext.cc). */
#ifndef VAMOS_MYSQL_STORE_ROCKS_EXT_H
#define VAMOS_MYSQL_STORE_ROCKS_EXT_H

#include <stddef.h>
#include <stdint.h>

#include <rocksdb/c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Lock waits of @txn from now on: @ms (0: fail at once if held). */
void mh_rocks_set_lock_timeout(rocksdb_transaction_t *txn, int64_t ms);
/* Forget the newest savepoint, keeping what followed it (its locks and
 * writes then belong to the savepoint below). 0, or -1 if there is none. */
int mh_rocks_pop_savepoint(rocksdb_transaction_t *txn);
/* Call @fn for the key of every write @txn holds (a key written twice
 * comes twice); a nonzero return of @fn stops and is returned. 0, or -EIO
 * when the batch does not parse. */
int mh_rocks_each_written_key(rocksdb_transaction_t *txn,
			      int (*fn)(void *arg, const char *key, size_t len), void *arg);

/* Merge @val into @key in @txn's batch without locking the key (written
 * with the commit; no conflict is checked). 0, or -1 if refused. */
int mh_rocks_merge_untracked(rocksdb_transaction_t *txn, const char *key, size_t klen,
			     const char *val, size_t vlen);

#ifdef __cplusplus
}
#endif

#endif
