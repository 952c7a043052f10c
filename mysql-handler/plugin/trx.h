/* SPDX-License-Identifier: MIT */
/*
 * Transactions: one host context per connection (THD), opened at its first
 * request (CTX_OPEN) and closed with the connection (CTX_CLOSE). The
 * handlerton's commit/rollback end statements (STMT_COMMIT/STMT_ROLLBACK)
 * and transactions (COMMIT/ROLLBACK). Only what wrote costs a round trip:
 * a read-only transaction ends by flagging the context's next request
 * VAMOS_MYSQL_FRESH_SNAPSHOT instead.
 */
#ifndef HA_VAMOS_TRX_H
#define HA_VAMOS_TRX_H

#include "server.h"

#include <stdint.h>

namespace vamos {

struct Trx {
	uint64_t ctx = 0;    /**< host context, 0: none yet */
	uint64_t epoch = 0;  /**< connection epoch ctx belongs to */
	bool stmt_wrote = false;
	bool txn_wrote = false;
	bool fresh = false;  /**< next request takes a new snapshot */
	bool lost = false;   /**< vamosd lost a transaction that had written */
	uint64_t sp_next = 0; /**< the last savepoint id given to the host */
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

/** Register the statement (and, outside autocommit, the transaction). */
void trx_register(THD *thd, handlerton *hton);

/** The request is a write: the statement and transaction end with a
 *  round trip. */
inline void trx_note_write(Trx *t)
{
	t->stmt_wrote = true;
	t->txn_wrote = true;
}

/** A context a table handle owns (a SEQUENCE's, whose writes are not
 *  part of any transaction): end its transaction now, committing it if
 *  @commit, else rolling it back. */
int trx_end_own(Trx *t, bool commit);
/** Close such a context (nothing if it is of an older epoch or none). */
void trx_close_own(Trx *t);

int trx_commit(handlerton *hton, THD *thd, bool all);
int trx_rollback(handlerton *hton, THD *thd, bool all);
int trx_close_connection(handlerton *hton, THD *thd);

/** SQL savepoints (handlerton savepoint_set/_rollback/_release): @sv holds
 *  the id the host knows the savepoint by (savepoint_offset bytes). */
int trx_savepoint_set(handlerton *hton, THD *thd, void *sv);
int trx_savepoint_rollback(handlerton *hton, THD *thd, void *sv);
int trx_savepoint_release(handlerton *hton, THD *thd, void *sv);

} // namespace vamos

#endif
