/* SPDX-License-Identifier: MIT */
/* Requests by XID, without a context (xid_requests.h). */
#include "xid_requests.h"

#include <errno.h>

#include <vamos/mysql_protocol.h>

#include "bytes.h"
#include "connection.h"

namespace vamos {

int xid_request(uint16_t op, const std::string &body, std::string *reply)
{
	for (int attempt = 0;; attempt++) {
		std::string req;
		vamos_mysql_req h = {};
		h.version = VAMOS_MYSQL_VERSION;
		put(&req, h);
		req += body;
		int st = conn_call(conn_epoch(), op, req, reply);
		if (st != -EBADF || attempt)
			return st;
	}
}

int xid_end(const std::string &xid, bool commit)
{
	std::string reply;
	return xid_request(commit ? VAMOS_MYSQL_COMMIT_BY_XID : VAMOS_MYSQL_ROLLBACK_BY_XID, xid,
			   &reply);
}

} // namespace vamos
