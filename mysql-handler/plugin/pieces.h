/* SPDX-License-Identifier: MIT */
/*
 * Requests and replies larger than one channel record
 * (vamos/mysql_protocol.h: VAMOS_MYSQL_FRAGMENT, VAMOS_MYSQL_MORE): a
 * request is sent as FRAGMENT pieces, a reply in pieces is fetched with
 * REPLY_NEXT and handed over whole. No server headers: unit-testable.
 */
#ifndef HA_VAMOS_PIECES_H
#define HA_VAMOS_PIECES_H

#include <stdint.h>

#include <functional>
#include <string>

namespace vamos {

/** One request of one channel record: status, reply bytes into @reply. */
using raw_call = std::function<int(uint16_t op, const std::string &req, std::string *reply)>;

/** The channel's and the host's limits (the welcome). */
struct piece_limits {
	uint32_t max_request; /**< largest request payload of one record */
	uint32_t max_message; /**< largest whole request or reply (0: the
				   host does not take pieces) */
};

/**
 * Send request @req (vamos_mysql_req first) of op @op through @raw, in
 * pieces if it exceeds one record, and fetch its reply whole into @reply.
 * Returns the request's status; -EMSGSIZE if it exceeds max_message (or
 * needs pieces and has no context), -EPROTO if the host's pieces do not
 * add up, or a piece's failure.
 */
int call_in_pieces(const raw_call &raw, const piece_limits &lim, uint16_t op,
		   const std::string &req, std::string *reply);

/**
 * The end of call_in_pieces for a request of context @ctx sent some other
 * way (in one record): its status @st and @reply as they came. A
 * VAMOS_MYSQL_MORE reply is fetched whole into @reply; any other is left
 * as it is. Returns the request's status, as call_in_pieces.
 */
int finish_reply(const raw_call &raw, const piece_limits &lim, uint64_t ctx, int st,
		 std::string *reply);

} // namespace vamos

#endif
