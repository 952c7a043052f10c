/* SPDX-License-Identifier: MIT */
/* The handlerton's two-phase commit calls (xa.h). */
#include "xa.h"

#include <errno.h>

#include <vamos/mysql_protocol.h>

#include "bytes.h"
#include "connection.h"
#include "trx.h"
#include "xid_requests.h"

namespace vamos {

/* The XA specification's answers of a resource manager (MariaDB's server
 * ignores what commit_by_xid and rollback_by_xid return; its headers do not
 * define them for engines). */
enum { XA_UNKNOWN_XID = -4 /* XAER_NOTA */, XA_FAILED = -3 /* XAER_RMERR */ };

/* @x as the protocol's vamos_mysql_xid + data; false for an XID the host
 * would refuse (MariaDB never makes one). */
static bool xid_bytes(const XID *x, std::string *out)
{
	if (x->is_null() || x->gtrid_length < 1 || x->gtrid_length > VAMOS_MYSQL_XID_GTRID_MAX ||
	    x->bqual_length < 0 || x->bqual_length > VAMOS_MYSQL_XID_BQUAL_MAX)
		return false;
	vamos_mysql_xid w = {};
	w.format_id = x->formatID;
	w.gtrid_len = (uint16_t)x->gtrid_length;
	w.bqual_len = (uint16_t)x->bqual_length;
	out->clear();
	put(out, w);
	put_bytes(out, x->data, (size_t)(x->gtrid_length + x->bqual_length));
	return true;
}

int xa_prepare(handlerton *hton, THD *thd, bool all)
{
	Trx *t = trx_get(thd, hton);
	/* Inside a transaction a statement's end prepares nothing: the
	 * whole transaction is prepared at its end (as InnoDB does). */
	if (!all && thd_test_options(thd, OPTION_NOT_AUTOCOMMIT | OPTION_BEGIN))
		return 0;
	if (!t->txn_wrote)
		return 0; /* nothing on the host to prepare: commit or rollback as usual */
	XID xid;
	thd_get_xid(thd, reinterpret_cast<MYSQL_XID *>(&xid));
	std::string body, reply;
	if (!xid_bytes(&xid, &body)) {
		sql_print_error("VAMOS: PREPARE: an XID the host cannot take");
		return HA_ERR_INTERNAL_ERROR;
	}
	int st = trx_request(t, VAMOS_MYSQL_PREPARE, body, &reply);
	if (st) {
		sql_print_error("VAMOS: PREPARE failed: %s (%s)", strerror(-st), conn_last_error());
		return HA_ERR_INTERNAL_ERROR;
	}
	t->prepared_xid = body;
	return 0;
}

static int end_by_xid(XID *xid, bool commit)
{
	std::string body;
	if (!xid_bytes(xid, &body))
		return XA_UNKNOWN_XID;
	int st = xid_end(body, commit);
	if (st == -ENOENT)
		return XA_UNKNOWN_XID; /* not prepared here (another engine's only) */
	if (st) {
		sql_print_error("VAMOS: %s by XID failed: %s (%s)", commit ? "COMMIT" : "ROLLBACK",
				strerror(-st), conn_last_error());
		return XA_FAILED;
	}
	return 0;
}

int xa_commit_by_xid(handlerton *, XID *xid)
{
	return end_by_xid(xid, true);
}

int xa_rollback_by_xid(handlerton *, XID *xid)
{
	return end_by_xid(xid, false);
}

int xa_recover(handlerton *, XID *xid_list, uint len)
{
	if (!len || !xid_list)
		return 0;
	std::string body, reply;
	vamos_mysql_recover r = {};
	r.max = len;
	put(&body, r);
	int st = xid_request(VAMOS_MYSQL_RECOVER, body, &reply);
	if (st) {
		sql_print_error("VAMOS: RECOVER failed: %s (%s)", strerror(-st), conn_last_error());
		return 0;
	}
	size_t off = 0;
	vamos_mysql_xids head;
	if (!take(reply.data(), reply.size(), &off, &head))
		return 0;
	uint n = 0;
	for (; n < head.count && n < len; n++) {
		vamos_mysql_xid w;
		if (!take(reply.data(), reply.size(), &off, &w))
			break;
		size_t data = (size_t)w.gtrid_len + w.bqual_len;
		/* The host's answer is checked like any peer's. */
		if (w.gtrid_len > VAMOS_MYSQL_XID_GTRID_MAX || w.bqual_len > VAMOS_MYSQL_XID_BQUAL_MAX ||
		    reply.size() - off < data)
			break;
		XID *x = &xid_list[n];
		x->formatID = (long)w.format_id;
		x->gtrid_length = w.gtrid_len;
		x->bqual_length = w.bqual_len;
		memcpy(x->data, reply.data() + off, data);
		off += (data + 7) & ~(size_t)7;
		if (off > reply.size())
			off = reply.size();
	}
	return (int)n;
}

} // namespace vamos
