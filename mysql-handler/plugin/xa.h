/* SPDX-License-Identifier: MIT */
/*
 * Two-phase commit: the handlerton's prepare, commit_by_xid,
 * rollback_by_xid and recover, for XA transactions and for the binary
 * log's (MariaDB with log_bin prepares every transaction that wrote
 * VAMOS tables, writes the binlog, then commits; after a crash it commits
 * the prepared transactions the binlog holds and rolls back the others).
 * A transaction prepared on the host survives the connection's close,
 * mariadbd's and vamosd's restarts until one of the by-XID calls ends it.
 * XIDs go as MariaDB's XID struct: formatID, the gtrid and bqual lengths,
 * the data.
 */
#ifndef HA_VAMOS_XA_H
#define HA_VAMOS_XA_H

#include "server.h"

#include <string>

namespace vamos {

struct Trx;

int xa_prepare(handlerton *hton, THD *thd, bool all);
int xa_commit_by_xid(handlerton *hton, XID *xid);
int xa_rollback_by_xid(handlerton *hton, XID *xid);
int xa_recover(handlerton *hton, XID *xid_list, uint len);

/** End @t's prepared transaction by its XID (COMMIT_BY_XID or
 *  ROLLBACK_BY_XID for @commit): its context is gone (vamosd restarted
 *  since the prepare), the host kept the transaction. 0 or -errno. */
int xa_end_by_saved_xid(Trx *t, bool commit);

} // namespace vamos

#endif
