/* SPDX-License-Identifier: MIT */
/* Requests sent in FRAGMENT pieces, replies fetched with REPLY_NEXT. */
#include "pieces.h"

#include <errno.h>

#include <algorithm>

#include <vamos/mysql_protocol.h>

#include "bytes.h"

namespace vamos {

static std::string piece_header(uint64_t ctx)
{
	std::string b;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	h.ctx = ctx;
	put(&b, h);
	return b;
}

/* The request in pieces; the last piece's status and reply. */
static int send_pieces(const raw_call &raw, const piece_limits &lim, uint16_t op,
		       const std::string &req, uint64_t ctx, std::string *reply)
{
	size_t head = sizeof(vamos_mysql_req) + sizeof(vamos_mysql_fragment);
	if (lim.max_request <= head)
		return -EMSGSIZE;
	size_t room = lim.max_request - head;
	std::string piece;
	uint32_t seq = 0;
	for (size_t off = 0; off < req.size(); seq++) {
		size_t n = std::min(room, req.size() - off);
		piece = piece_header(ctx);
		vamos_mysql_fragment f = {};
		f.op = op;
		f.seq = seq;
		f.total = req.size();
		f.offset = off;
		put(&piece, f);
		piece.append(req, off, n);
		off += n;
		int st = raw(VAMOS_MYSQL_FRAGMENT, piece, reply);
		if (off == req.size() || st)
			return st;
	}
	return -EMSGSIZE; /* an empty request never needs pieces */
}

/* The rest of a VAMOS_MYSQL_MORE reply; @reply becomes the whole. */
static int fetch_rest(const raw_call &raw, const piece_limits &lim, uint64_t ctx,
		      std::string *reply)
{
	size_t off = 0;
	vamos_mysql_more m;
	if (!take(reply->data(), reply->size(), &off, &m) || m.total > lim.max_message ||
	    reply->size() - off > m.total)
		return -EPROTO;
	std::string whole;
	whole.reserve(m.total);
	whole.append(*reply, off, std::string::npos);
	std::string next, piece;
	while (whole.size() < m.total) {
		next = piece_header(ctx);
		vamos_mysql_next n = {};
		n.offset = whole.size();
		put(&next, n);
		int st = raw(VAMOS_MYSQL_REPLY_NEXT, next, &piece);
		if (st)
			return st;
		if (piece.empty() || piece.size() > m.total - whole.size())
			return -EPROTO;
		whole += piece;
	}
	reply->swap(whole);
	return m.status;
}

int call_in_pieces(const raw_call &raw, const piece_limits &lim, uint16_t op,
		   const std::string &req, std::string *reply)
{
	size_t off = 0;
	vamos_mysql_req h = {};
	take(req.data(), req.size(), &off, &h);
	std::string scratch;
	if (!reply)
		reply = &scratch;
	int st;
	if (req.size() <= lim.max_request)
		st = raw(op, req, reply);
	else if (!h.ctx || req.size() > lim.max_message)
		return -EMSGSIZE;
	else
		st = send_pieces(raw, lim, op, req, h.ctx, reply);
	return finish_reply(raw, lim, h.ctx, st, reply);
}

int finish_reply(const raw_call &raw, const piece_limits &lim, uint64_t ctx, int st,
		 std::string *reply)
{
	if (st == VAMOS_MYSQL_MORE)
		st = ctx ? fetch_rest(raw, lim, ctx, reply) : -EPROTO;
	return st;
}

} // namespace vamos
