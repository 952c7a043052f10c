/* SPDX-License-Identifier: MIT */
/*
 * Transactions: one host context per connection (THD), opened at its first
 * request (CTX_OPEN) and closed with the connection (CTX_CLOSE). The
 * handlerton's commit/rollback end statements (STMT_COMMIT/STMT_ROLLBACK)
 * and transactions (COMMIT/ROLLBACK). A statement or transaction that only
 * read costs no round trip at its end: the COMMIT that frees the host's
 * snapshot is owed, and sent only if the connection stays idle
 * (idle_snapshots.h), so an idle connection holds no snapshot.
 *
 * Isolation, from the session's transaction_isolation: REPEATABLE READ
 * (and SERIALIZABLE) reads a transaction at the snapshot its first read
 * took; READ COMMITTED (and READ UNCOMMITTED) flags the first request of
 * every statement VAMOS_MYSQL_FRESH_SNAPSHOT, a snapshot per statement.
 */
#ifndef HA_VAMOS_TRX_H
#define HA_VAMOS_TRX_H

#include "server.h"

#include <stdint.h>

#include <atomic>
#include <string>

#include <vamos/mysql_protocol.h>

namespace vamos {

struct Trx {
	uint64_t ctx = 0;    /**< host context, 0: none yet */
	uint64_t epoch = 0;  /**< connection epoch ctx belongs to */
	bool stmt_wrote = false;
	bool txn_wrote = false;
	/** A statement that wrote ended inside the transaction: the next
	 *  request says so (VAMOS_MYSQL_STMT_ENDED), no STMT_COMMIT of its
	 *  own. */
	bool stmt_end_owed = false;
	bool fresh = false;  /**< next request takes a new snapshot */
	bool snap_held = false; /**< a request read in ctx since the last end */
	int64_t stmt_query_id = -1; /**< the statement trx_stmt_begin saw last */
	bool lost = false;   /**< vamosd lost a transaction that had written */
	uint64_t sp_next = 0; /**< the last savepoint id given to the host */
	/** The XID (protocol bytes) the host prepared the transaction under
	 *  (xa.h); empty: not prepared. */
	std::string prepared_xid;
	/* An owed end of a read-only transaction (idle_snapshots.h). */
	enum { IDLE_NONE, IDLE_OWED, IDLE_ENDING };
	std::atomic<int> idle_state{ IDLE_NONE };
	int64_t idle_since_ms = 0;
	Trx *idle_prev = nullptr, *idle_next = nullptr;
};

/** The connection's state (made on first use). */
Trx *trx_get(THD *thd, handlerton *hton);

/**
 * Make sure @t has a context of the current epoch (CTX_OPEN). Returns 0,
 * or a negative errno. If vamosd lost a context whose transaction had
 * written, sets t->lost (the caller fails the statement) and opens a new
 * one.
 */
int trx_ensure_ctx(Trx *t);

/** Register the statement (and, outside autocommit, the transaction);
 *  under READ COMMITTED a new statement reads at a new snapshot. Called
 *  for every table a statement uses: only its first call counts. */
void trx_register(THD *thd, handlerton *hton);

/** The request is a write: the statement and transaction end with a
 *  round trip. */
inline void trx_note_write(Trx *t)
{
	t->stmt_wrote = true;
	t->txn_wrote = true;
}

/** The flag a request of @t's context carries for a statement end it
 *  owes (VAMOS_MYSQL_STMT_ENDED or 0); owed no more once taken. */
inline uint16_t trx_take_stmt_end(Trx *t)
{
	uint16_t f = t->stmt_end_owed ? VAMOS_MYSQL_STMT_ENDED : 0;
	t->stmt_end_owed = false;
	return f;
}

/** Send @op + @body for @t's context (of the current epoch, else -EBADF
 *  unsent); the reply's bytes in @reply. */
int trx_request(Trx *t, uint16_t op, const std::string &body, std::string *reply);

/** A context a table handle owns (a SEQUENCE's, whose writes are not
 *  part of any transaction): end its transaction now, committing it if
 *  @commit, else rolling it back. */
int trx_end_own(Trx *t, bool commit);
/** Close such a context (nothing if it is of an older epoch or none). */
void trx_close_own(Trx *t);

int trx_commit(handlerton *hton, THD *thd, bool all);
int trx_rollback(handlerton *hton, THD *thd, bool all);
int trx_close_connection(handlerton *hton, THD *thd);

/** START TRANSACTION WITH CONSISTENT SNAPSHOT: under REPEATABLE READ (and
 *  SERIALIZABLE) the host takes the transaction's snapshot now, as InnoDB
 *  does, not at its first read; under READ COMMITTED every statement takes
 *  its own anyway. */
int trx_start_snapshot(handlerton *hton, THD *thd);

/** SQL savepoints (handlerton savepoint_set/_rollback/_release): @sv holds
 *  the id the host knows the savepoint by (savepoint_offset bytes). */
int trx_savepoint_set(handlerton *hton, THD *thd, void *sv);
int trx_savepoint_rollback(handlerton *hton, THD *thd, void *sv);
int trx_savepoint_release(handlerton *hton, THD *thd, void *sv);

} // namespace vamos

#endif
