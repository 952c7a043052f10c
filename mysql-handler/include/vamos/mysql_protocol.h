/* SPDX-License-Identifier: MIT */
/*
 * The MySQL handler protocol: what the guest engine ha_vamos asks vamosd's
 * mysql service (VAMOS_SERVICE_MYSQL) to do. Each request is one
 * vamos/protocol.h REQUEST with service VAMOS_SERVICE_MYSQL and op one of
 * enum vamos_mysql_op; its bytes start with struct vamos_mysql_req. The
 * REPLY's status is 0 or a negative errno (below); its bytes are the op's
 * reply struct, or on error an optional message (UTF-8, no NUL) — except
 * -EEXIST from WRITE and UPDATE, whose bytes are struct vamos_mysql_dup.
 * A context takes one request at a time (a guest connection is
 * synchronous): another one meanwhile gets -EBUSY.
 *
 * The host knows nothing of SQL types:
 *  - keys are byte strings the guest encoded so that memcmp order is index
 *    order and no key part's encoding is a prefix of another value's
 *    (big-endian integers with the sign bit flipped, collation weights for
 *    strings, a marker byte before every nullable part). A unique index
 *    whose key holds a NULL gets the primary key appended by the guest, so
 *    such keys never clash (SQL: NULLs are distinct).
 *  - rows are opaque bytes the guest packs (BLOBs included).
 *
 * Contexts and transactions. A context (CTX_OPEN) is one guest connection.
 * Reads run in the context's snapshot, taken at its first read and kept
 * until COMMIT/ROLLBACK (which release it, also in a context that only
 * read) or a request flagged VAMOS_MYSQL_FRESH_SNAPSHOT: REPEATABLE READ
 * as is, READ COMMITTED when the guest flags each statement's first
 * request;
 * reads flagged VAMOS_MYSQL_FOR_UPDATE read the latest rows and lock them.
 * The first write (or locking read, or SAVEPOINT) of a transaction gives
 * the context its own write transaction, from its snapshot; contexts write
 * at once, each row a transaction writes is locked until it ends, and a
 * context that wants a row another holds waits (on a host thread of its
 * own) and gets -ETIMEDOUT (lock wait timeout) after the host's limit, or
 * -EDEADLK at once when waiting would close a cycle (the guest then rolls
 * the whole transaction back). Readers are never blocked by writers.
 * STMT_COMMIT/STMT_ROLLBACK end a statement (a savepoint inside the
 * context's transaction), COMMIT/ROLLBACK the whole transaction; SQL
 * savepoints nest statements inside them. A committed transaction is on
 * disk before its reply.
 * Tables and contexts belong to the VM; a VM's contexts end
 * (their transactions roll back) when it detaches, or when a new ATTACH
 * with VAMOS_MYSQL_ATTACH_EXCLUSIVE comes from it (a restarted mariadbd).
 *
 * Errors: -ENOENT no such table/row, or no more rows; -EEXIST a table name
 * or unique key taken (struct vamos_mysql_dup says which index); -EBADF
 * unknown table handle or context; -EBUSY the context has a request in
 * progress; -ETIMEDOUT lock wait timeout; -EDEADLK deadlock (the
 * transaction must be rolled back); -ENOSPC the store is full;
 * -EINVAL a malformed request (a bad length, key, flag or name);
 * -EPROTONOSUPPORT another protocol version; -EMFILE too many contexts or
 * tables; -EIO the store failed (message in the reply bytes).
 *
 * All integers are little-endian; structs are naturally aligned and the
 * host copies them out of the request before use (requests need not be
 * aligned). Variable parts follow their struct in the order given.
 */
#ifndef VAMOS_MYSQL_PROTOCOL_H
#define VAMOS_MYSQL_PROTOCOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this protocol; every request carries it. */
#define VAMOS_MYSQL_VERSION 6u /* 2: AUTOINC reserves (seen, max), ANALYZE, CHECK, SNAPSHOT;
				  3: PREPARE, COMMIT_BY_XID, ROLLBACK_BY_XID, RECOVER;
				  4: READ's flags (READ_KEYS_ONLY);
				  5: the request flag STMT_ENDED;
				  6: AUTOINC and CLOSE give back a range (cached_next, cached_end) */

/** Most secondary indexes of a table (MariaDB's MAX_KEY is 64). */
#define VAMOS_MYSQL_MAX_INDEXES 64u
/** Longest table name in bytes (MariaDB's "db/table" path form fits). */
#define VAMOS_MYSQL_MAX_NAME 192u

enum vamos_mysql_op {
	/* -- session and contexts (ctx 0) -- */
	VAMOS_MYSQL_ATTACH = 1,      /**< vamos_mysql_attach -> vamos_mysql_welcome */
	VAMOS_MYSQL_CTX_OPEN = 2,    /**< nothing -> vamos_mysql_ctx */
	VAMOS_MYSQL_CTX_CLOSE = 3,   /**< ctx set; rolls its transaction back
				          (a prepared one is kept: see PREPARE) */
	/* -- tables (DDL runs in a transaction of its own and is durable at its
	 *    reply; ctx 0) -- */
	VAMOS_MYSQL_CREATE = 4,      /**< vamos_mysql_create + unique[nsec] + name */
	VAMOS_MYSQL_OPEN = 5,        /**< name -> vamos_mysql_table */
	VAMOS_MYSQL_CLOSE = 6,       /**< table set */
	VAMOS_MYSQL_DROP = 7,        /**< name */
	VAMOS_MYSQL_RENAME = 8,      /**< vamos_mysql_rename + from + to */
	VAMOS_MYSQL_INFO = 9,        /**< table set -> vamos_mysql_info */
	VAMOS_MYSQL_RECORDS_IN_RANGE = 10, /**< vamos_mysql_range + keys -> vamos_mysql_estimate */
	/* -- rows (ctx and table set) -- */
	VAMOS_MYSQL_TRUNCATE = 11,   /**< nothing; in the context's transaction */
	VAMOS_MYSQL_WRITE = 12,      /**< vamos_mysql_write + rows -> vamos_mysql_written */
	VAMOS_MYSQL_UPDATE = 13,     /**< vamos_mysql_update + keys + row */
	VAMOS_MYSQL_DELETE = 14,     /**< vamos_mysql_delete + pk */
	VAMOS_MYSQL_GET = 15,        /**< vamos_mysql_get + pk -> row bytes */
	VAMOS_MYSQL_READ = 16,       /**< vamos_mysql_read + keys -> vamos_mysql_rows */
	VAMOS_MYSQL_AUTOINC = 17,    /**< vamos_mysql_autoinc -> vamos_mysql_autoinc_range */
	/* -- transactions (ctx set) -- */
	VAMOS_MYSQL_STMT_COMMIT = 18,
	VAMOS_MYSQL_STMT_ROLLBACK = 19,
	VAMOS_MYSQL_COMMIT = 20,
	VAMOS_MYSQL_ROLLBACK = 21,
	/* -- messages larger than one channel record (ctx set) -- */
	VAMOS_MYSQL_FRAGMENT = 22,   /**< vamos_mysql_fragment + piece; the last
				          piece answers as the whole request's op */
	VAMOS_MYSQL_REPLY_NEXT = 23, /**< vamos_mysql_next -> the next piece of a
				          VAMOS_MYSQL_MORE reply */
	/* -- savepoints (ctx set; body struct vamos_mysql_savepoint) -- */
	/** SQL SAVEPOINT: mark the context's transaction (begun now if it has
	 *  none) under the guest's id, nonzero and new in the transaction. */
	VAMOS_MYSQL_SAVEPOINT = 24,
	/** ROLLBACK TO SAVEPOINT: undo what the transaction did since the
	 *  savepoint (rows, and the row locks taken since); it stays set,
	 *  later ones are gone. -ENOENT for an id not set. */
	VAMOS_MYSQL_ROLLBACK_TO_SAVEPOINT = 25,
	/** RELEASE SAVEPOINT: forget it and every later one (the work stays).
	 *  -ENOENT for an id not set. */
	VAMOS_MYSQL_RELEASE_SAVEPOINT = 26,
	/* -- table maintenance (ctx 0, table set, nothing after the header;
	 *    run on the worker pool in a transaction of their own) -- */
	/** ANALYZE TABLE: count the table's committed rows and bytes again
	 *  (exclusive against commits) and make them its counters. ->
	 *  vamos_mysql_info with the new counts. */
	VAMOS_MYSQL_ANALYZE = 62,
	/** CHECK TABLE: at a snapshot, every row's secondary entries exist
	 *  and every secondary entry names a row that holds its key. ->
	 *  vamos_mysql_check_report (status 0 also when it found damage). */
	VAMOS_MYSQL_CHECK = 63,
	/* -- two-phase commit: XA and the binary log's (at the top of the
	 *    range, below SNAPSHOT) -- */
	/** RECOVER (ctx 0): vamos_mysql_recover -> vamos_mysql_xids, the
	 *  XIDs of the VM's prepared transactions no context holds. */
	VAMOS_MYSQL_RECOVER = 123,
	/** ROLLBACK_BY_XID (ctx 0): vamos_mysql_xid + data. Roll back the
	 *  prepared transaction of that name no context holds; -ENOENT when
	 *  there is none. */
	VAMOS_MYSQL_ROLLBACK_BY_XID = 124,
	/** COMMIT_BY_XID (ctx 0): as ROLLBACK_BY_XID, committing it
	 *  (durable at the reply). */
	VAMOS_MYSQL_COMMIT_BY_XID = 125,
	/** PREPARE (ctx set): vamos_mysql_xid + data. Prepare the context's
	 *  write transaction under that name: durable at the reply, locks
	 *  kept; a context that only read has nothing to prepare (status 0).
	 *  The context then takes only COMMIT, ROLLBACK (as before), statement
	 *  ends (nothing to end) and CTX_CLOSE (-EINVAL for the rest).
	 *  CTX_CLOSE, the VM's detach, an exclusive ATTACH and a vamosd
	 *  restart do not roll it back: it waits, no longer the context's,
	 *  for COMMIT_BY_XID or ROLLBACK_BY_XID. -EEXIST when the VM has a
	 *  prepared transaction of that name already; -EMFILE when it has as
	 *  many prepared transactions as it may have contexts. */
	VAMOS_MYSQL_PREPARE = 126,
	/** Take the context's read snapshot now (START TRANSACTION WITH
	 *  CONSISTENT SNAPSHOT), not at its first read: a new one, or in a
	 *  write transaction outside a statement its snapshot renewed. No
	 *  body; kept until COMMIT/ROLLBACK. (At the top of the op range:
	 *  ops added meanwhile elsewhere may take the numbers below.) */
	VAMOS_MYSQL_SNAPSHOT = 127,
};

/**
 * Messages larger than one channel record. A request whose bytes
 * (vamos_mysql_req included) exceed welcome.max_request goes as FRAGMENT
 * requests of the same context, each vamos_mysql_req (ctx set, table and
 * flags 0) + vamos_mysql_fragment + the next piece of the whole request's
 * bytes, in order: seq 0, 1, 2, ...; offset the bytes sent before; total
 * and op the same in every piece. Pieces before the last get status 0 and
 * no bytes; when offset + piece reaches total the host runs the whole
 * request and the last piece gets its reply. The host holds one
 * reassembly per context, up to welcome.max_message bytes, and a bounded
 * amount per VM: a piece out of order (gap, overlap, repeated seq), past
 * total, with another op or total, a seq 0 while a reassembly is under
 * way, any other request of that context meanwhile, or a reassembly that
 * would exceed those bounds fails with -EINVAL (-EMSGSIZE for a total over
 * max_message, -ENOMEM over the VM's bound) and drops the reassembly.
 * CTX_CLOSE, an exclusive ATTACH and the VM's detach drop them too.
 *
 * A reply whose bytes exceed the record comes with status
 * VAMOS_MYSQL_MORE: its bytes are vamos_mysql_more + the first piece. The
 * guest then sends REPLY_NEXT with the bytes it has so far until it has
 * them all; each reply is status 0 and the next piece. Any other request
 * of the context drops what is left of the reply.
 */
#define VAMOS_MYSQL_MORE (-115) /* -EINPROGRESS: more pieces follow */

/** FRAGMENT: then the piece (at least 1 byte). */
struct vamos_mysql_fragment {
	uint16_t op;       /**< the whole request's op (never FRAGMENT/REPLY_NEXT) */
	uint16_t reserved; /**< zero */
	uint32_t seq;      /**< 0 for the first piece, then +1 */
	uint64_t total;    /**< the whole request's bytes, > max_request */
	uint64_t offset;   /**< bytes of the earlier pieces */
};

/** REPLY_NEXT's request body. */
struct vamos_mysql_next {
	uint64_t offset; /**< reply bytes received so far (the first piece's
			      included) */
};

/** First in a VAMOS_MYSQL_MORE reply, then the first piece. */
struct vamos_mysql_more {
	int32_t status;   /**< the whole reply's status (0 or -errno) */
	uint32_t reserved;
	uint64_t total;   /**< the whole reply's bytes */
};

/** Request flags (vamos_mysql_req.flags). */
enum vamos_mysql_req_flags {
	/** End the context's read snapshot and take a new one before this
	 *  request. The guest sets it on the first request of every
	 *  statement under READ COMMITTED: a snapshot per statement. In a
	 *  context with a write transaction, outside a statement (the
	 *  request, a read or a write, begins one), the transaction's
	 *  snapshot is renewed; its locks and writes stay. */
	VAMOS_MYSQL_FRESH_SNAPSHOT = 1u << 0,
	/** A read of a statement that writes (UPDATE, DELETE, SELECT ... FOR
	 *  UPDATE): READ and GET run in the context's write transaction, on
	 *  the latest committed rows and its own writes, not in its snapshot,
	 *  and lock every row they return until the transaction ends — so a
	 *  read-modify-write never works from a stale row. Like a write, it
	 *  begins the context's write transaction. */
	VAMOS_MYSQL_FOR_UPDATE = 1u << 1,
	/** struct vamos_mysql_lock_wait follows the header, before the op's
	 *  own bytes: how long this context's transaction may wait for a
	 *  row lock (MariaDB's session variable vamos_lock_wait_timeout).
	 *  ha_vamos sets it on the first write-capable request of each
	 *  transaction. vamosd's mysql service checks it and takes it off
	 *  before the executor sees the request, handing the value over
	 *  beside it (mx_call.lock_wait_ms): the transaction that request
	 *  begins waits that long, then -ETIMEDOUT. Without it, vamosd's
	 *  mysql_lock_wait_ms. */
	VAMOS_MYSQL_LOCK_WAIT = 1u << 2,
	/** The context's previous statement ended and is kept, as a
	 *  STMT_COMMIT would say: its writes join the transaction before
	 *  this request runs (a later STMT_ROLLBACK no longer undoes them).
	 *  ha_vamos sets it on the first request after a statement that
	 *  wrote inside a transaction, instead of sending STMT_COMMIT. Only
	 *  with a context; a context with no statement open ignores it. */
	VAMOS_MYSQL_STMT_ENDED = 1u << 3,
};

/** After a header flagged VAMOS_MYSQL_LOCK_WAIT. */
struct vamos_mysql_lock_wait {
	uint32_t ms;       /**< at least 1 */
	uint32_t reserved; /**< zero */
};

/** First in every request. */
struct vamos_mysql_req {
	uint16_t version; /**< VAMOS_MYSQL_VERSION */
	uint16_t flags;   /**< enum vamos_mysql_req_flags */
	uint32_t table;   /**< handle from OPEN, or 0 */
	uint64_t ctx;     /**< context from CTX_OPEN, or 0 */
};

enum vamos_mysql_attach_flags {
	/** End every other context of this VM (a restarted server). */
	VAMOS_MYSQL_ATTACH_EXCLUSIVE = 1u << 0,
};

struct vamos_mysql_attach {
	uint32_t flags;    /**< enum vamos_mysql_attach_flags */
	uint32_t reserved; /**< zero */
};

struct vamos_mysql_welcome {
	uint32_t version;      /**< VAMOS_MYSQL_VERSION */
	uint32_t max_key;      /**< longest stored index key (index key ++ pk
				    for a non-unique secondary) */
	uint32_t max_reply;    /**< largest reply payload the host sends */
	uint32_t max_indexes;  /**< VAMOS_MYSQL_MAX_INDEXES */
	uint64_t lock_wait_ms; /**< how long a writer waits before -ETIMEDOUT */
	uint32_t max_request;  /**< largest request payload (header included)
				    the channel takes: the bound of a WRITE batch
				    and of one FRAGMENT piece */
	uint32_t max_message;  /**< largest request or reply the host takes or
				    sends in pieces (vamosd's
				    mysql_max_request_mb); 0 from a host that
				    does not fragment */
};

struct vamos_mysql_ctx {
	uint64_t ctx; /**< never 0 */
};

enum vamos_mysql_create_flags {
	VAMOS_MYSQL_HIDDEN_PK = 1u << 0, /**< no primary key: 8-byte row ids */
};

/** CREATE: then uint8_t unique[nsec] (0/1), then the name (no NUL). */
struct vamos_mysql_create {
	uint32_t flags;          /**< enum vamos_mysql_create_flags */
	uint32_t nsec;           /**< secondary indexes */
	uint64_t auto_increment; /**< first AUTO_INCREMENT value (0: 1) */
};

struct vamos_mysql_table {
	uint32_t table; /**< handle for vamos_mysql_req.table */
	uint32_t nsec;
	uint32_t flags; /**< enum vamos_mysql_create_flags */
	uint32_t reserved;
};

/** RENAME: then from, then to (no NULs). */
struct vamos_mysql_rename {
	uint32_t from_len, to_len;
};

struct vamos_mysql_info {
	uint64_t rows;           /**< an estimate (RocksDB's sizes when the table
				      was first opened, then each commit's exact
				      deltas); never a reason to skip a scan */
	uint64_t data_bytes;     /**< bytes of primary records (as rows) */
	uint64_t next_autoinc;   /**< next AUTO_INCREMENT value */
};

/** MySQL's find flags (enum ha_rkey_function order). */
enum vamos_mysql_find {
	VAMOS_MYSQL_KEY_EXACT = 0,
	VAMOS_MYSQL_KEY_OR_NEXT = 1,
	VAMOS_MYSQL_KEY_OR_PREV = 2,
	VAMOS_MYSQL_AFTER_KEY = 3,
	VAMOS_MYSQL_BEFORE_KEY = 4,
	VAMOS_MYSQL_PREFIX = 5,
	VAMOS_MYSQL_PREFIX_LAST = 6,
	VAMOS_MYSQL_PREFIX_LAST_OR_PREV = 7,
};

/** RECORDS_IN_RANGE: then min key, then max key. A bound of length 0 is
 *  open. The flags are the find flags of MariaDB's key_range. The answer
 *  counts up to 4096 entries exactly; a longer range adds the table's rows
 *  times the share of the index's bytes on disk (RocksDB's approximate
 *  sizes) the rest of the range holds. */
struct vamos_mysql_range {
	uint32_t index;
	uint16_t min_len, max_len;
	uint8_t min_flag, max_flag; /**< enum vamos_mysql_find */
	uint8_t reserved[6];
};

struct vamos_mysql_estimate {
	uint64_t rows;
};

/** WRITE: @count rows, each a vamos_mysql_write_row, then
 *  uint16_t key_len[nsec], the pk, the nsec keys and the row bytes,
 *  padded to 8 bytes. */
struct vamos_mysql_write {
	uint32_t count;
	uint32_t reserved;
};

struct vamos_mysql_write_row {
	uint32_t row_len;
	uint16_t pk_len;   /**< 0 for a hidden-pk table */
	uint16_t nsec;     /**< the table's secondary count */
	uint64_t autoinc;  /**< AUTO_INCREMENT value written (0: none): the
			        next value moves past it */
};

/** WRITE's reply (also with -EEXIST: how many were written first). */
struct vamos_mysql_written {
	uint32_t written;
	uint32_t reserved;
	uint64_t last_hidden_id; /**< row id of the last row (hidden pk) */
};

/** -EEXIST's reply bytes. */
struct vamos_mysql_dup {
	int32_t index;      /**< 0: primary, i: secondary i (1-based) */
	uint32_t written;   /**< WRITE: rows written before the clash */
};

/** UPDATE: then uint16_t key_len[nsec], old pk, new pk, keys, row. */
struct vamos_mysql_update {
	uint32_t row_len;
	uint16_t old_pk_len, new_pk_len;
	uint16_t nsec;
	uint16_t reserved[3];
	uint64_t autoinc;
};

/** SAVEPOINT, ROLLBACK_TO_SAVEPOINT, RELEASE_SAVEPOINT. */
struct vamos_mysql_savepoint {
	uint64_t id; /**< the guest's name for it, nonzero */
};

/** DELETE and GET: then the pk. */
struct vamos_mysql_delete {
	uint32_t pk_len;
	uint32_t reserved;
};
#define vamos_mysql_get vamos_mysql_delete

/** Where a READ starts. */
enum vamos_mysql_start {
	VAMOS_MYSQL_START_FIRST = 0, /**< first entry of the index */
	VAMOS_MYSQL_START_LAST = 1,  /**< last entry */
	VAMOS_MYSQL_START_FIND = 2,  /**< find(key, find flag) */
	VAMOS_MYSQL_START_AFTER = 3, /**< the entry after stored key @key (a
					  previous reply's resume key) */
	VAMOS_MYSQL_START_BEFORE = 4,/**< the entry before it */
};

/** Where a READ stops (checked on every row after the first). */
enum vamos_mysql_stop {
	VAMOS_MYSQL_STOP_NONE = 0,
	VAMOS_MYSQL_STOP_PREFIX = 1, /**< at the first key not starting with stop key */
	VAMOS_MYSQL_STOP_LE = 2,     /**< past keys whose prefix <= stop key */
	VAMOS_MYSQL_STOP_LT = 3,     /**< at keys whose prefix >= stop key */
	VAMOS_MYSQL_STOP_GE = 4,     /**< backward: past keys whose prefix >= stop key */
	VAMOS_MYSQL_STOP_GT = 5,     /**< backward: at keys whose prefix <= stop key */
};

/** READ: then the start key (key_len), then the stop key (stop_len). The
 *  stop applies to the first row too unless it was found by an exact or
 *  prefix find. */
struct vamos_mysql_read {
	uint32_t index;     /**< 0: primary, i: secondary i */
	uint8_t start;      /**< enum vamos_mysql_start */
	uint8_t find;       /**< enum vamos_mysql_find, for START_FIND */
	uint8_t backward;   /**< 1: rows after the first go in descending order */
	uint8_t stop;       /**< enum vamos_mysql_stop */
	uint32_t max_rows;  /**< at least 1 */
	uint32_t max_bytes; /**< reply budget (0: 64 KiB; capped at max_reply); the first
			         row is always sent if it fits max_reply */
	uint16_t key_len, stop_len;
	uint32_t flags;     /**< enum vamos_mysql_read_flags */
};

enum vamos_mysql_read_flags {
	/** A covering read of a secondary index: each entry's row bytes are
	 *  the index entry's key (as the guest encoded it, without the
	 *  primary key that follows it in the entry); no row is read. Only
	 *  on a secondary index and not in a locking read (FOR_UPDATE),
	 *  which must read and lock each row: -EINVAL there. */
	VAMOS_MYSQL_READ_KEYS_ONLY = 1u << 0,
};

enum vamos_mysql_rows_flags {
	VAMOS_MYSQL_ROWS_END = 1u << 0, /**< nothing follows in this direction
					     (end of index or stop reached) */
};

/** READ's reply: @count rows, each vamos_mysql_row_entry + pk + row
 *  padded to 8 bytes, then the resume key (the last row's stored key).
 *  With VAMOS_MYSQL_READ_KEYS_ONLY "row" is the entry's index key. */
struct vamos_mysql_rows {
	uint32_t count;
	uint32_t flags;      /**< enum vamos_mysql_rows_flags */
	uint32_t resume_len;
	uint32_t reserved;
};

struct vamos_mysql_row_entry {
	uint32_t row_len;
	uint16_t pk_len;
	uint16_t reserved;
};

/** AUTOINC: reserve AUTO_INCREMENT values for this context's write
 *  transaction (it begins one). The table's counter moves past them at
 *  once and never back (a rollback leaves a gap): concurrent inserters
 *  each get values of their own and never wait for each other's
 *  transactions (InnoDB's "consecutive" lock mode). @seen first moves the
 *  counter past the largest explicit value the guest holds in rows not
 *  sent yet (a multi-row INSERT's batch), as writing them would. The
 *  counter never moves past max + 1 (as InnoDB's: the next value shown
 *  stays there); past 2^64 - 1 there is no value: -ERANGE. Before all
 *  that, the unused rest of the guest's cached range (cached_next up to
 *  cached_end) goes back if the counter is still at cached_end. */
struct vamos_mysql_autoinc {
	uint64_t count;     /**< values wanted (at least 1) */
	uint64_t increment; /**< auto_increment_increment (0: 1) */
	uint64_t offset;    /**< auto_increment_offset (0: 1) */
	uint64_t seen;      /**< largest value in unsent rows (0: none) */
	uint64_t max;       /**< the column's largest value (0: 2^64 - 1):
				 nothing past it is reserved */
	/* Values of an earlier reservation the guest kept and did not use
	 * (its range cache): they go back first, if the counter is still at
	 * @cached_end. 0, 0: none. */
	uint64_t cached_next; /**< the first value not used */
	uint64_t cached_end;  /**< the reservation's end (its last value + 1;
				   0: its last value was 2^64 - 1) */
};

/** CLOSE's optional body: the unused rest of the range the guest kept
 *  for the table (as vamos_mysql_autoinc's cached_*), given back as its
 *  handle closes (a RENAME, a FLUSH or a shutdown forgets the range). */
struct vamos_mysql_close {
	uint64_t cached_next;
	uint64_t cached_end;
};

struct vamos_mysql_autoinc_range {
	uint64_t first;  /**< first value */
	uint64_t count;  /**< values reserved: 1 to the count asked, fewer only
			      at max; 0 when first is past max (out of range) */
};

/** CHECK's reply: what it counted and the damage it found. */
struct vamos_mysql_check_report {
	uint64_t rows;     /**< primary records */
	uint64_t entries;  /**< secondary entries (all indexes) */
	uint64_t missing;  /**< a row's secondary entry absent or wrong */
	uint64_t orphans;  /**< an entry whose row is absent or holds another key */
	uint64_t bad_rows; /**< primary records or entries that do not parse */
	int32_t index;     /**< index of the first damage (0: primary,
			        i: secondary i), -1 when none */
	uint32_t reserved;
};

/** Longest gtrid and bqual of an XID (MariaDB's MAXGTRIDSIZE, MAXBQUALSIZE). */
#define VAMOS_MYSQL_XID_GTRID_MAX 64u
#define VAMOS_MYSQL_XID_BQUAL_MAX 64u

/** An XID as MariaDB's struct xid_t has it: then gtrid_len + bqual_len
 *  bytes of data (gtrid first). The host checks 1 <= gtrid_len <= 64,
 *  bqual_len <= 64, format_id != -1 (the null XID) and reserved 0. These
 *  bytes, exactly, name the prepared transaction. */
struct vamos_mysql_xid {
	int64_t format_id;
	uint16_t gtrid_len;
	uint16_t bqual_len;
	uint32_t reserved;
};

/** RECOVER's request body. */
struct vamos_mysql_recover {
	uint32_t max;      /**< XIDs wanted at most (at least 1) */
	uint32_t reserved; /**< zero */
};

/** RECOVER's reply: @count XIDs, each vamos_mysql_xid + data padded to 8
 *  bytes; fewer than all when max or the reply's room was reached. */
struct vamos_mysql_xids {
	uint32_t count;
	uint32_t reserved;
};

/* The wire layout is fixed: every struct's size, checked at compile time on
 * both sides (guest C++ and host C). */
#ifdef __cplusplus
#define VAMOS_MYSQL_STATIC_ASSERT static_assert
#else
#define VAMOS_MYSQL_STATIC_ASSERT _Static_assert
#endif
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_req) == 16, "req is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_attach) == 8, "attach is 8 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_welcome) == 32, "welcome is 32 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_ctx) == 8, "ctx is 8 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_create) == 16, "create is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_table) == 16, "table is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_rename) == 8, "rename is 8 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_info) == 24, "info is 24 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_range) == 16, "range is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_estimate) == 8, "estimate is 8 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_write) == 8, "write is 8 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_write_row) == 16, "write_row is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_written) == 16, "written is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_dup) == 8, "dup is 8 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_update) == 24, "update is 24 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_delete) == 8, "delete is 8 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_read) == 24, "read is 24 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_rows) == 16, "rows is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_row_entry) == 8, "row_entry is 8 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_autoinc) == 56, "autoinc is 56 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_autoinc_range) == 16, "autoinc_range is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_close) == 16, "close is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_check_report) == 48, "check_report is 48 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_xid) == 16, "xid is 16 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_recover) == 8, "recover is 8 bytes");
VAMOS_MYSQL_STATIC_ASSERT(sizeof(struct vamos_mysql_xids) == 8, "xids is 8 bytes");

#ifdef __cplusplus
}
#endif

#endif /* VAMOS_MYSQL_PROTOCOL_H */
