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

namespace vamos {

int xa_prepare(handlerton *hton, THD *thd, bool all);
int xa_commit_by_xid(handlerton *hton, XID *xid);
int xa_rollback_by_xid(handlerton *hton, XID *xid);
int xa_recover(handlerton *hton, XID *xid_list, uint len);

} // namespace vamos

#endif
