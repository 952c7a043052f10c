/* SPDX-License-Identifier: MIT */
/*
 * Private state of the store (store.h), shared by its files:
 *
 *   store_db.c       opening and closing the database, shared resources
 *   store_error.c    errors and their words
 *   store_keys.c     the stored keys
 *   store_txn.c      transactions, key-value access, counters' deltas
 *   store_savepoint.c  SQL savepoints
 *   store_stats.c    RocksDB's statistics: sizes on disk, snapshots, flush
 *   store_autoinc.c  persisting AUTO_INCREMENT floors
 *   store.c          the catalog of tables, and their counters
 *   rows.c           rows with their indexes kept in step
 *   cursor.c         reading in index order
 *   store_check.c    CHECK TABLE
 *   store_walk.c     visiting every entry under a key prefix
 *   store_prepared.c prepared (two-phase) transactions, kept and recovered
 *   store_rocks_ext.cc  RocksDB calls its C API lacks
 */
#ifndef VAMOS_MYSQL_STORE_INTERNAL_H
#define VAMOS_MYSQL_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <rocksdb/c.h>

#include "store.h"

/* Every stored key starts with the table id (4 bytes, big-endian) and the
 * index number (1 byte), so a table's entries are one key range and an
 * index's one range inside it. Table id 0 is the catalog's. */
#define MH_KEY_PREFIX 5u
/* Longest stored key: prefix + secondary key ++ primary key. */
#define MH_STORED_MAX (MH_KEY_PREFIX + MH_MAX_KEY)

/* Catalog "index numbers" (under table id 0). */
#define CAT_TABLE 0u   /* ++ name -> struct table_meta */
#define CAT_NEXT_ID 1u /* -> next table id (uint32) */
#define CAT_AUTOINC 2u /* ++ id (BE) -> AUTO_INCREMENT floor (uint64) */

/* A table's catalog entry, as stored (host-written; still size-checked).
 * Only DDL writes it: the moving counters live in struct mh_counters. */
struct table_meta {
	uint32_t version; /* TABLE_META_VERSION */
	uint32_t id;
	uint32_t nsec;
	uint32_t flags;   /* META_HIDDEN_PK */
	uint64_t first_autoinc;
	uint8_t unique[MH_MAX_INDEXES];
};
#define TABLE_META_VERSION 3u
#define META_HIDDEN_PK 1u

/* A table's counters, shared by every transaction of the store (under
 * mh_store.counters_lock). Made when the table is first opened, rows and
 * bytes from an estimate (exact for a small table), then moved by the
 * exact deltas of every commit. */
struct mh_counters {
	struct mh_counters *next;
	uint32_t id;
	uint64_t next_row_id;  /* hidden primary key: never handed out twice */
	uint64_t next_autoinc; /* 0: exhausted (UINT64_MAX was written) */
	uint64_t autoinc_floor;/* persisted: never hands out below it */
	int64_t rows;  /* may dip below 0 after a low estimate: read as 0 */
	int64_t bytes;
	/* The table's catalog entry as last read at the latest version, kept
	 * so that opening the table for a request reads no catalog (under
	 * counters_lock; valid while meta_gen is the store's ddl_gen). */
	bool meta_ok;
	uint64_t meta_gen;
	struct table_meta meta;
	char name[MH_NAME_MAX + 1];
};

struct mh_shared {
	rocksdb_env_t *env;
	rocksdb_cache_t *cache;
};

struct mh_store {
	rocksdb_transactiondb_t *db;
	rocksdb_options_t *opts;
	rocksdb_transactiondb_options_t *topts;
	rocksdb_block_based_table_options_t *table_opts;
	/* Every write: never an fsync inside RocksDB's write group (a
	 * commit that must be durable syncs the WAL after it: mh_store_sync),
	 * so a writer that joins a group never waits there for a disk. */
	rocksdb_writeoptions_t *wo_nosync;
	bool sync_wal;                     /* MH_SYNC_FULL */
	rocksdb_transaction_options_t *txo;
	unsigned lock_wait_ms;             /* txo's lock timeout */
	struct mh_shared *own;             /* shared resources made for it */
	/* Commits hold it shared (they run concurrently and share WAL
	 * fsyncs); loading a table's counters holds it exclusive, so a count
	 * and the deltas of commits never miss or double each other. */
	pthread_rwlock_t commit_lock;
	pthread_mutex_t counters_lock;
	/* Moves at each DROP or RENAME and at the end of their transaction:
	 * every cached catalog entry (mh_counters.meta) is then stale. */
	_Atomic uint64_t ddl_gen;
	/* Writers of AUTO_INCREMENT floors on their own (prepares, the
	 * store's close) take turns; a commit's floors ride in its own batch
	 * (mh_autoinc_floors_stage). Either way a floor is a merge keeping
	 * the higher value. counters_lock is never held across a write, so a
	 * reservation on a poller never waits for the WAL. */
	pthread_mutex_t floor_lock;
	/* WAL syncs (mh_store_sync), numbered: a caller waits for the first
	 * one that starts after its call, and callers that meet while one
	 * runs share the next (RocksDB's SyncWAL would make one each). */
	pthread_mutex_t sync_lock;
	pthread_cond_t sync_done_cond;
	uint64_t syncs_started, syncs_done;
	bool syncing;
	bool sync_failed; /* once an fsync failed, the WAL's state is unknown */
	struct mh_counters *counters;
};

/* Rows and bytes a transaction moved in one table (applied at commit). */
struct mh_delta {
	uint32_t id;
	int64_t rows, bytes;
};

/* A savepoint of a transaction: its depth on RocksDB's savepoint stack,
 * and the row-count deltas to go back to. */
struct mh_saved {
	unsigned depth;
	struct mh_delta *deltas;
	unsigned ndeltas;
};

struct mh_txn {
	struct mh_store *s;
	struct mh_txn *parent;        /* a statement's: its transaction */
	rocksdb_transaction_t *txn;   /* write: the RocksDB transaction */
	const rocksdb_snapshot_t *snap;
	rocksdb_readoptions_t *ro;     /* reads at the snapshot */
	rocksdb_readoptions_t *latest; /* locking reads: latest committed */
	bool write;
	bool broken;                  /* a statement commit failed */
	bool lock_reads;              /* mh_txn_lock_reads (on the root) */
	bool attempt;                 /* mh_txn_try_begin's */
	bool autoinc_moved;           /* (root) floors to persist before commit */
	bool did_ddl;                 /* (root) dropped or renamed a table */
	bool prepared;                /* (root) mh_txn_prepare'd: commit or roll back only */
	char *name;                   /* a prepared one's name (name_len bytes) */
	size_t name_len;
	struct mh_txn *holder;        /* a recovered prepared one's row locks
					 (RocksDB recovers it without any) */
	unsigned lock_wait_ms;        /* 0: the store's (s->txo) */
	struct mh_delta *deltas;
	unsigned ndeltas, cap_deltas;
	char *val;                    /* the last value a get returned */
	unsigned depth;               /* RocksDB savepoints on the stack */
	struct mh_saved *saved;       /* mh_txn_savepoint's, oldest first */
	unsigned nsaved, cap_saved;
};

struct mh_table {
	struct mh_txn *t;
	char name[MH_NAME_MAX + 1];
	struct table_meta meta;
	struct mh_counters *cnt;
};

/* A table was dropped or renamed (or such a transaction ended): every
 * cached catalog entry is stale from now on. */
static inline void mh_catalog_changed(struct mh_store *s)
{
	atomic_fetch_add_explicit(&s->ddl_gen, 1, memory_order_acq_rel);
}

/* RocksDB's error string @err (freed) as a negative errno, with words kept:
 * -ETIMEDOUT for a lock wait timeout, -EDEADLK for a deadlock, -ENOSPC,
 * else -EIO. */
int mh_rocks_error(struct mh_store *s, const char *what, char *err);

/* What a prefix walk's visitor returns to end the walk without an error. */
#define MH_WALK_STOP 1

/* A prefix walk's visitor of one entry (@key, @val valid only during the
 * call): 0 to go on, MH_WALK_STOP, or a negative errno that ends the walk
 * and is its result. */
typedef int (*mh_visit_fn)(void *arg, const char *key, size_t klen, const char *val,
			   size_t vlen);

/* Visit, in key order from @from (NULL: from @prefix), the entries of @it
 * whose keys start with @prefix (@plen bytes) and are longer than it, until
 * the first key past them or @visit ends the walk. Destroys @it. 0, the
 * visitor's error, or the iterator's through mh_rocks_error(@s, @what). */
int mh_walk_prefix(struct mh_store *s, rocksdb_iterator_t *it, const void *prefix,
		   size_t plen, const void *from, size_t from_len, const char *what,
		   mh_visit_fn visit, void *arg);
/* Set the store's error words and return @rc. */
int mh_store_fail(struct mh_store *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The stored key of (@index, @key ++ @tail) of table @id in @buf
 * (MH_STORED_MAX bytes); its length, or -EINVAL if too long. */
int mh_key_build(uint32_t id, unsigned index, struct mh_bytes key, struct mh_bytes tail,
		 unsigned char *buf);
/* The catalog key of table @id's AUTO_INCREMENT floor. */
void mh_floor_key(uint32_t id, unsigned char buf[MH_KEY_PREFIX + 4]);

/* Split a primary record into its stored secondary keys and row. Returns
 * 0, or -EIO for a record that does not parse (corrupt store). */
int mh_record_parse(const void *data, size_t size, uint32_t nsec, struct mh_bytes *sec,
		    struct mh_bytes *row);

/* How a read sees the store. */
enum mh_read {
	MH_AT_SNAPSHOT, /* the transaction's snapshot */
	MH_AT_LATEST,   /* the latest committed version, no lock */
	MH_LOCKED,      /* write transactions: lock the key, then the latest */
};
/* Key-value access inside a transaction (a write transaction's reads also
 * see its own writes). mh_kv_get's value is malloc'd (the caller frees);
 * -ENOENT when absent. */
int mh_kv_get(struct mh_txn *t, const unsigned char *key, size_t klen, enum mh_read how,
	      char **val, size_t *vlen);
int mh_kv_put(struct mh_txn *t, const unsigned char *key, size_t klen, const void *val,
	      size_t vlen);
int mh_kv_del(struct mh_txn *t, const unsigned char *key, size_t klen);
/* Lock @key (which need not exist) for the rest of the transaction. */
int mh_kv_lock(struct mh_txn *t, const unsigned char *key, size_t klen);
/* An iterator in @t: at the snapshot, or with @latest at the latest
 * committed version; a write transaction's own writes are seen. */
rocksdb_iterator_t *mh_kv_iter(struct mh_txn *t, bool latest);

/* Does @t read with locks (mh_txn_lock_reads on it or its root)? */
static inline bool mh_txn_locking(const struct mh_txn *t)
{
	return t->write && (t->parent ? t->parent : t)->lock_reads;
}

/* The table's counters, made on first use (estimate_rows: no full scan). */
int mh_counters_get(struct mh_txn *t, const struct table_meta *meta,
		    struct mh_counters **out);
/* Record rows/bytes moved by @t in table @id. */
int mh_txn_delta(struct mh_txn *t, uint32_t id, int64_t rows, int64_t bytes);
/* The sum of @t's (and its parents') deltas for table @id. */
void mh_txn_delta_sum(const struct mh_txn *t, uint32_t id, int64_t *rows, int64_t *bytes);

/* RocksDB's approximate size on disk of keys [@lo, @hi) (SST files only;
 * 0 when it has none). */
uint64_t mh_range_bytes(struct mh_store *s, const unsigned char *lo, size_t lo_len,
			const unsigned char *hi, size_t hi_len);

/* Persist the AUTO_INCREMENT floor of every table whose counter passed
 * it (an unsynced write, ordered before the commit that follows). */
int mh_autoinc_persist_all(struct mh_store *s);
/* The same floors, staged into write transaction @t's own batch (written
 * with its commit); @notes (malloc'd, @count of them) for
 * mh_autoinc_floors_written once the commit succeeded, else free(). */
struct mh_floor_note {
	struct mh_counters *c;
	uint64_t value;
};
int mh_autoinc_floors_stage(struct mh_txn *t, struct mh_floor_note **notes, unsigned *count);
void mh_autoinc_floors_written(struct mh_store *s, struct mh_floor_note *notes, unsigned count);
/* The merge operator of floors (the larger value), for the options. */
rocksdb_mergeoperator_t *mh_floor_merge_operator(void);

static inline void mh_be32(uint32_t v, unsigned char *p)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

#endif
