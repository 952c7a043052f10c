/* SPDX-License-Identifier: MIT */
/*
 * The storage under the MySQL handler layer: tables of opaque rows with a
 * primary index and any number of secondary indexes, on a pessimistic
 * RocksDB TransactionDB, one database per VM. It knows nothing of SQL
 * types: the guest engine encodes every key into a memcmp-comparable,
 * prefix-free byte string (MyRocks-style: big-endian integers with the sign
 * bit flipped, collation weights for strings, a NULL marker byte) and rows
 * travel as opaque bytes.
 *
 * Layout: one key space; every key starts with a table id (4 bytes BE) and
 * an index number (1 byte). Table id 0 is the catalog:
 *   0 . 0 . name   table name -> its definition (id, index flags)
 *   0 . 1          the next table id
 *   0 . 2 . id     the table's AUTO_INCREMENT floor
 * and every other id is a table's:
 *   id . 0 . pk          primary key -> secondary keys + row; the secondary
 *                        keys are kept with the row, so an update or a
 *                        delete removes exactly the index entries the write
 *                        made, whatever the guest says
 *   id . i . key ++ pk   secondary i -> key length; a unique index also
 *                        refuses a second entry starting with the same key
 * A table without a primary key gets a hidden one: an 8-byte big-endian
 * row id from a counter (restarting past the largest stored one).
 *
 * Transactions: any number of write transactions run at once. Every key a
 * write transaction writes or deletes, and every unique secondary key it
 * claims or gives up, is locked until it ends; a lock held by another
 * transaction is waited for (lock_wait_ms), then -ETIMEDOUT, or -EDEADLK
 * at once when waiting would close a cycle. Plain reads see a snapshot;
 * the reads that decide a write (does this key exist, the row being
 * updated) lock and read the latest committed version.
 *
 * Errors are negative errno values: -ENOENT (no such table or row, or a
 * cursor at its end), -EEXIST (a table name or a unique key taken:
 * *dup_index says which index, 0 for the primary), -EINVAL (bad arguments,
 * e.g. a key longer than mh_store_max_key()), -ETIMEDOUT, -EDEADLK, -EIO
 * (RocksDB failed; mh_store_error() says how).
 *
 * The executor (executor.h) serves the wire protocol on top of it.
 */
#ifndef VAMOS_MYSQL_STORE_H
#define VAMOS_MYSQL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MH_MAX_INDEXES 64
#define MH_HIDDEN_PK_LEN 8u
#define MH_NAME_MAX 192

struct mh_store;
struct mh_txn;
struct mh_table;
struct mh_cursor;

/** Bytes owned by someone else: the caller, or the store until the next
 *  call on the same transaction or cursor that returns bytes. */
struct mh_bytes {
	const void *data;
	uint32_t len;
};

/** Longest index key the store takes: a secondary key ++ its primary
 *  key (room for a 3072-byte MariaDB key and a 3072-byte primary key, with
 *  the encoding's marker bytes). */
#define MH_MAX_KEY 6400u

/** How a commit reaches the disk. */
enum mh_sync {
	MH_SYNC_FULL = 0, /**< the WAL is fsynced before a commit returns:
			       durable against any crash (the default);
			       concurrent commits share one fsync */
	MH_SYNC_OFF,      /**< the WAL is written, not fsynced: a vamosd crash
			       loses nothing, an OS crash may lose the last
			       commits (never corrupts) */
};

struct mh_shared;

/** What every store of a process shares: the background thread pool and
 *  the block cache. */
struct mh_shared_options {
	size_t block_cache;          /**< bytes; 0: 64 MiB */
	unsigned background_threads; /**< flushes and compactions; 0: 2 */
};
/** Make the shared resources (@o NULL: the defaults). */
int mh_shared_create(const struct mh_shared_options *o, struct mh_shared **out);
/** Free them, after every store using them is closed. */
void mh_shared_destroy(struct mh_shared *sh);

/** How a store is opened; zeroes are defaults. */
struct mh_store_options {
	enum mh_sync sync;
	unsigned lock_wait_ms;      /**< lock wait before -ETIMEDOUT; 0: 50 s */
	size_t write_buffer;        /**< memtable budget of the store; 0: 16 MiB */
	struct mh_shared *shared;   /**< NULL: the store makes its own */
};

/** Open (creating it) the store in directory @dir (@opt NULL: defaults).
 *  A directory holding an LMDB store of an older vamosd is refused
 *  (-ENOTSUP, nothing touched): @why says to dump and reload it. */
int mh_store_open(const char *dir, const struct mh_store_options *opt, struct mh_store **out,
		  const char **why);
void mh_store_close(struct mh_store *s);
/** Longest index key the store takes (MH_MAX_KEY). */
uint32_t mh_store_max_key(const struct mh_store *s);
/** Snapshots the store holds now (RocksDB's rocksdb.num-snapshots). */
uint64_t mh_store_snapshots(struct mh_store *s);
/** Writes that went to the store's WAL since it opened (RocksDB's DB
 *  statistics; exact below 10,000, rounded above), or 0 if unknown. */
uint64_t mh_store_wal_writes(struct mh_store *s);
/** Write the memtables to SST files and wait (RocksDB's sizes, hence the
 *  estimates, see only what is in SST files). */
int mh_store_flush(struct mh_store *s);

/** Begin a transaction with a snapshot taken now. A transaction is used
 *  by one thread at a time (any thread); write transactions run at once
 *  and wait only for each other's row locks. */
int mh_txn_begin(struct mh_store *s, bool write, struct mh_txn **out);
/** The store @t runs in. */
struct mh_store *mh_txn_store(struct mh_txn *t);
/** Begin a nested write transaction in @parent (a statement: a savepoint
 *  of it): its commit folds into @parent, its abort undoes only its own
 *  writes. @parent is not used until the child ends. */
int mh_txn_begin_nested(struct mh_txn *parent, struct mh_txn **out);
/** Begin an attempt in statement (or transaction) @parent that never
 *  waits: a row lock held by another transaction fails at once with
 *  -ETIMEDOUT instead of waiting, until mh_txn_try_end. Used like a
 *  nested transaction (@parent is not used until it ends). */
int mh_txn_try_begin(struct mh_txn *parent, struct mh_txn **out);
/** End attempt @a: with @keep its work folds into its parent; without,
 *  everything it did is undone (writes, row counts, the locks it took), so
 *  the same request can run again from the same state. Lock waits are the
 *  transaction's own again either way. */
int mh_txn_try_end(struct mh_txn *a, bool keep);
/** Release a read transaction's snapshot... */
void mh_txn_reset(struct mh_txn *t);
/** ...and take a new one in it (also a write transaction's: its plain
 *  reads then see what was committed since, e.g. per statement for READ
 *  COMMITTED). */
int mh_txn_renew(struct mh_txn *t);
/** Set a savepoint in write transaction @t (no statement open in it) and
 *  say its depth, the name mh_txn_rollback_to() and mh_txn_release() take.
 *  Statements (mh_txn_begin_nested) nest inside. */
int mh_txn_savepoint(struct mh_txn *t, unsigned *depth);
/** Undo what @t did since the savepoint of @depth (rows, counts, the locks
 *  taken since); that savepoint stays set, later ones are gone. -ENOENT
 *  when no savepoint of @depth is set. */
int mh_txn_rollback_to(struct mh_txn *t, unsigned depth);
/** Forget the savepoint of @depth and every later one (work kept). */
int mh_txn_release(struct mh_txn *t, unsigned depth);
/** Turn read transaction @t into a write transaction that keeps its
 *  snapshot (REPEATABLE READ from the first read, not the first write). */
int mh_txn_write(struct mh_txn *t);
/** The lock wait of write transactions @t begins from now on, in ms (the
 *  guest's session value); 0: the store's lock_wait_ms. Call before
 *  mh_txn_write(); mh_txn_begin_write() takes it at once. */
void mh_txn_set_lock_wait(struct mh_txn *t, unsigned ms);
/** mh_txn_begin(@s, true, @out) with a lock wait of @lock_wait_ms (0: the
 *  store's). */
int mh_txn_begin_write(struct mh_store *s, unsigned lock_wait_ms, struct mh_txn **out);
/** While @on, the cursors and gets of write transaction @t read the latest
 *  committed version and lock every row they return (SELECT ... FOR
 *  UPDATE); a row deleted before its lock is granted is skipped. */
void mh_txn_lock_reads(struct mh_txn *t, bool on);
/** Commit and free @t (durable on return per the store's sync). A failed
 *  commit rolled everything back. */
int mh_txn_commit(struct mh_txn *t);
/** Commit and free @t as mh_txn_commit, but never waiting: neither for
 *  the disk (with the store's sync full, the commit is durable once a
 *  later mh_store_sync returns; others may read it before), nor for a
 *  count of a table's rows that holds the store's commits off, nor
 *  through a write stall RocksDB is in (then -EWOULDBLOCK: nothing done,
 *  @t as before; a stall that begins during the commit is still slept
 *  through). */
int mh_txn_commit_unsynced(struct mh_txn *t);
/** Does a commit need mh_store_sync() to be durable (sync full)? */
bool mh_store_syncs(const struct mh_store *s);
/** Make every commit that returned before this call durable: one fsync of
 *  the WAL (with sync off: nothing). 0, or -EIO (the store has failed). */
int mh_store_sync(struct mh_store *s);
/** Roll back and free @t (NULL: nothing). */
void mh_txn_abort(struct mh_txn *t);

/* Two-phase commit. A prepared transaction is on disk (per the store's
 * sync) with its writes and row locks, under a name unique in the store;
 * it survives the store's close and a crash, and takes only
 * mh_txn_commit, mh_txn_abort or mh_txn_forget from then on. */

/** Longest name of a prepared transaction. */
#define MH_TXN_NAME_MAX 512u
/** Prepare root write transaction @t under name @name (1 to
 *  MH_TXN_NAME_MAX bytes, any bytes; no statement open in it). -EEXIST
 *  when a prepared transaction of the store has that name (@t is then
 *  as before), -EINVAL for a bad name or a transaction that cannot be
 *  prepared (read-only, nested, prepared already, a broken statement). */
int mh_txn_prepare(struct mh_txn *t, const void *name, size_t len);
/** Is @t prepared? */
bool mh_txn_prepared(const struct mh_txn *t);
/** A prepared transaction's name (NULL for any other). */
const void *mh_txn_name(const struct mh_txn *t, size_t *len);
/** Free prepared transaction @t's handle, neither committing nor rolling
 *  it back: it stays prepared in the store (found again by
 *  mh_store_recovered after the store is opened again). */
void mh_txn_forget(struct mh_txn *t);
/** The prepared transactions RocksDB recovered as the store opened
 *  (prepared before a crash or close, not yet committed or rolled back):
 *  a malloc'd array of *@n handles (the caller owns both), each
 *  mh_txn_prepared with its name. Call once, before any other transaction
 *  is prepared. Their row counts are not known: a table's counters stay
 *  estimates. */
int mh_store_recovered(struct mh_store *s, struct mh_txn ***out, size_t *n);

/** Secondary index definition. */
struct mh_index_def {
	bool unique;
};

/** Create table @name with @nsec secondary indexes; @hidden_pk when it
 *  has no primary key of its own. -EEXIST if the name is taken. */
int mh_table_create(struct mh_txn *t, const char *name, bool hidden_pk, unsigned nsec,
		    const struct mh_index_def *sec);
/** Create with a first AUTO_INCREMENT value (0: 1). */
int mh_table_create_ex(struct mh_txn *t, const char *name, bool hidden_pk, unsigned nsec,
		       const struct mh_index_def *sec, uint64_t auto_increment);
/** Open @name for use in @t (the handle is valid for that transaction). */
int mh_table_open(struct mh_txn *t, const char *name, struct mh_table **out);
/** Open @name, which the caller knows as table @id (a handle's), as
 *  mh_table_open does but reading no catalog when it can: the entry is
 *  cached per store from the latest committed catalog, until a DROP,
 *  RENAME or CREATE anywhere in the store. So a reader whose snapshot
 *  predates the table may find it (empty). -ESTALE if @name is another
 *  table now (dropped and created again). */
int mh_table_open_id(struct mh_txn *t, const char *name, uint32_t id, struct mh_table **out);
/** Close (0). The AUTO_INCREMENT floor a write transaction moved is
 *  persisted as it commits (and at mh_store_close), never on the way:
 *  only a commit writes the WAL. */
int mh_table_close(struct mh_table *tb);
/** The table's id (never reused in a store). */
uint32_t mh_table_id(const struct mh_table *tb);
/** Is secondary @i (1-based) unique? */
bool mh_table_unique(const struct mh_table *tb, unsigned i);
int mh_table_drop(struct mh_txn *t, const char *name);
int mh_table_rename(struct mh_txn *t, const char *from, const char *to);
/** Delete every row (keeps the definition; the hidden row id restarts). */
int mh_table_truncate(struct mh_txn *t, struct mh_table *tb);
unsigned mh_table_indexes(const struct mh_table *tb); /**< secondaries */
bool mh_table_hidden_pk(const struct mh_table *tb);
/** Rows in the table, an estimate: the committed ones (estimated from
 *  RocksDB's sizes when the table is first opened, exact for a table of a
 *  few thousand rows; no full scan), moved exactly by every commit since,
 *  plus @t's own. */
int mh_table_rows(struct mh_txn *t, struct mh_table *tb, uint64_t *rows);
/** RocksDB's approximate size on disk of index @index's entries from
 *  stored key @from to @to (an mh_entry's stored key or a key prefix;
 *  empty: the index's start or end). SST files only: rows still in
 *  memtables count nothing. */
uint64_t mh_index_bytes(struct mh_table *tb, unsigned index, struct mh_bytes from,
			struct mh_bytes to);
/** Bytes of stored primary records (an estimate, as mh_table_rows). */
uint64_t mh_table_bytes(const struct mh_table *tb);
/** The next AUTO_INCREMENT value (UINT64_MAX also once that value was
 *  written and none is left). Shared by every transaction, never moved
 *  back by a rollback, and never below a value a commit holds, also
 *  after a crash (gaps are possible then). */
uint64_t mh_table_next_autoinc(const struct mh_table *tb);
/** A value written to the AUTO_INCREMENT column: the next value moves
 *  past it; past UINT64_MAX there is none (mh_table_autoinc_reserve's
 *  -ERANGE). A value at or past the persisted floor makes the
 *  transaction's commit move the floor past it, also when another
 *  transaction reserved it. */
void mh_table_autoinc_seen(struct mh_table *tb, uint64_t value);
/** Values @from up to @to (excluded; 0: up to 2^64 - 1) that a
 *  reservation handed out and nobody used go back: the counter moves back
 *  to @from if it is still at @to (nothing reserved or written past it
 *  since); else nothing moves. */
void mh_table_autoinc_give_back(struct mh_table *tb, uint64_t from, uint64_t to);
/** The same for table id @id, outside a transaction (a handle's close). */
void mh_store_autoinc_give_back(struct mh_store *s, uint32_t id, uint64_t from, uint64_t to);
/** Reserve @count values (0: 1) of @tb's AUTO_INCREMENT counter in a
 *  write transaction: the first >= the next value with (v - @offset) a
 *  multiple of @increment, then every @increment-th, none past @max (the
 *  column's largest value). The counter moves past them at once, under a
 *  lock held only for the move (never until the transaction ends, as
 *  InnoDB's "consecutive" lock mode), so concurrent inserters never wait
 *  for each other and never share a value; values a rollback leaves unused
 *  are a gap. *@reserved is how many: fewer than @count only at @max, 0
 *  when *@first is past @max (the counter then stays). -ERANGE when no
 *  value is left below 2^64. The persisted floor follows before the
 *  transaction commits. */
int mh_table_autoinc_reserve(struct mh_table *tb, uint64_t increment, uint64_t offset,
			     uint64_t count, uint64_t max, uint64_t *first, uint64_t *reserved);

/** What mh_table_check() counted and found. */
struct mh_check {
	uint64_t rows;     /**< primary records */
	uint64_t entries;  /**< secondary entries, all indexes */
	uint64_t missing;  /**< a row's secondary entry absent or wrong */
	uint64_t orphans;  /**< an entry whose row is absent or holds another key */
	uint64_t bad;      /**< records or entries that do not parse */
	int index;         /**< index of the first damage (0: primary), -1: none */
};
/** CHECK TABLE: at @t's snapshot, every row of @tb has each of its
 *  secondary entries and every secondary entry names a row that holds its
 *  key. 0 with the findings in *@out (damage is counted, not an error), or
 *  an error of the store. */
int mh_table_check(struct mh_txn *t, struct mh_table *tb, struct mh_check *out);
/** ANALYZE TABLE: count @tb's committed rows and bytes again, exclusive
 *  against commits, and make the counts its counters. */
int mh_table_recount(struct mh_table *tb);

/**
 * Insert a row. @pk is ignored for a hidden-pk table (its new row id is
 * stored in *@hidden_id if not NULL). @sec holds one key per secondary
 * index. On a clash: -EEXIST and *@dup_index (0: primary, i: secondary i,
 * 1-based), nothing written.
 */
int mh_row_write(struct mh_txn *t, struct mh_table *tb, struct mh_bytes pk,
		 struct mh_bytes row, const struct mh_bytes *sec, uint64_t *hidden_id,
		 int *dup_index);
/** Replace the row at @old_pk with @row at @new_pk (may differ) and new
 *  secondary keys, all or nothing. */
int mh_row_update(struct mh_txn *t, struct mh_table *tb, struct mh_bytes old_pk,
		  struct mh_bytes new_pk, struct mh_bytes row, const struct mh_bytes *sec,
		  int *dup_index);
int mh_row_delete(struct mh_txn *t, struct mh_table *tb, struct mh_bytes pk);
int mh_row_get(struct mh_txn *t, struct mh_table *tb, struct mh_bytes pk,
	       struct mh_bytes *row);

/** MySQL's find flags (enum ha_rkey_function), for a key that may be a
 *  prefix of the index's keys (leading key parts). */
enum mh_find {
	MH_READ_KEY_EXACT,          /**< first entry starting with key */
	MH_READ_KEY_OR_NEXT,        /**< first entry >= key */
	MH_READ_KEY_OR_PREV,        /**< last entry starting with key, else last < key */
	MH_READ_AFTER_KEY,          /**< first entry past every one starting with key */
	MH_READ_BEFORE_KEY,         /**< last entry before key */
	MH_READ_PREFIX,             /**< as EXACT */
	MH_READ_PREFIX_LAST,        /**< last entry starting with key */
	MH_READ_PREFIX_LAST_OR_PREV,/**< as KEY_OR_PREV */
};

/** Where a cursor stands: the index key, the row's primary key, the row,
 *  and the entry's stored key (unique in its index: key ++ pk for a
 *  secondary), which mh_cursor_seek() takes to continue from there. */
struct mh_entry {
	struct mh_bytes key, pk, row, stored;
};

/** A cursor over index @index (0: primary, i: secondary i) in @t. */
int mh_cursor_open(struct mh_txn *t, struct mh_table *tb, unsigned index,
		   struct mh_cursor **out);
void mh_cursor_close(struct mh_cursor *c);
int mh_cursor_find(struct mh_cursor *c, struct mh_bytes key, enum mh_find flag,
		   struct mh_entry *out);
/** From now on the cursor's entries carry keys only (row empty): no row
 *  is read, and none locked, also in a locking read. For counting. */
void mh_cursor_keys_only(struct mh_cursor *c);
/** Does the cursor lock the rows it returns (a locking read)? */
bool mh_cursor_locks(const struct mh_cursor *c);
int mh_cursor_first(struct mh_cursor *c, struct mh_entry *out);
int mh_cursor_last(struct mh_cursor *c, struct mh_entry *out);
int mh_cursor_next(struct mh_cursor *c, struct mh_entry *out);
int mh_cursor_prev(struct mh_cursor *c, struct mh_entry *out);
/** Move to the first entry after (@after) or the last entry before stored
 *  key @stored (an mh_entry's): continues a scan in a later transaction. */
int mh_cursor_seek(struct mh_cursor *c, struct mh_bytes stored, bool after,
		   struct mh_entry *out);

/** Why this thread's last store error happened (RocksDB's words). */
const char *mh_store_error(const struct mh_store *s);

#endif
