/* SPDX-License-Identifier: MIT */
/*
 * Requests about a prepared transaction by its XID, without a context:
 * COMMIT_BY_XID, ROLLBACK_BY_XID and RECOVER. Used by the handlerton's
 * two-phase commit calls (xa.h) and by a transaction's end when vamosd
 * restarted since its prepare (trx.h).
 */
#ifndef HA_VAMOS_XID_REQUESTS_H
#define HA_VAMOS_XID_REQUESTS_H

#include <stdint.h>

#include <string>

namespace vamos {

/** Send @op (no context) with @body, once more if vamosd was attached
 *  again meanwhile; the reply's payload in @reply. 0 or -errno. */
int xid_request(uint16_t op, const std::string &body, std::string *reply);

/** End the prepared transaction named by @xid (the protocol's XID bytes):
 *  COMMIT_BY_XID for @commit, else ROLLBACK_BY_XID. 0 or -errno. */
int xid_end(const std::string &xid, bool commit);

} // namespace vamos

#endif
