// SPDX-License-Identifier: MIT
// ha_vamos's side of messages larger than a channel record
// (mysql-handler/plugin/pieces.cc) against a scripted host: requests cut
// into FRAGMENT pieces with the right sequence, offsets and total; replies
// with VAMOS_MYSQL_MORE fetched whole; a host whose pieces do not add up
// is -EPROTO, and requests that cannot go in pieces are -EMSGSIZE.
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <string>
#include <vector>

#include <vamos/mysql_protocol.h>

#include "pieces.h"

using namespace vamos;

namespace {

struct sent {
	uint16_t op;
	std::string bytes;
};

/* A request of @len bytes for context @ctx: header, then byte i = i * 3. */
std::string request(uint64_t ctx, size_t len)
{
	std::string r(len, '\0');
	for (size_t i = 0; i < len; i++)
		r[i] = (char)(i * 3);
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	h.ctx = ctx;
	memcpy(&r[0], &h, sizeof h);
	return r;
}

template <typename T> T at(const std::string &b, size_t off)
{
	T v;
	cr_assert_geq(b.size(), off + sizeof v);
	memcpy(&v, b.data() + off, sizeof v);
	return v;
}

} // namespace

Test(pieces, a_small_request_goes_as_it_is)
{
	std::vector<sent> log;
	raw_call raw = [&](uint16_t op, const std::string &r, std::string *rep) {
		log.push_back({op, r});
		*rep = "ok";
		return 0;
	};
	std::string reply;
	cr_assert_eq(call_in_pieces(raw, {1000, 1 << 20}, VAMOS_MYSQL_GET, request(5, 1000), &reply),
		     0);
	cr_assert_eq(log.size(), 1u);
	cr_assert_eq(log[0].op, VAMOS_MYSQL_GET);
	cr_assert_eq(reply, "ok");
}

Test(pieces, a_large_request_goes_in_pieces_in_order)
{
	std::string req = request(5, 10000);
	std::vector<sent> log;
	raw_call raw = [&](uint16_t op, const std::string &r, std::string *rep) {
		log.push_back({op, r});
		*rep = "reply to piece " + std::to_string(log.size());
		return 0;
	};
	std::string reply;
	cr_assert_eq(call_in_pieces(raw, {1000, 1 << 20}, VAMOS_MYSQL_WRITE, req, &reply), 0);
	const size_t room = 1000 - sizeof(vamos_mysql_req) - sizeof(vamos_mysql_fragment);
	cr_assert_eq(log.size(), (req.size() + room - 1) / room);
	std::string whole;
	for (size_t i = 0; i < log.size(); i++) {
		cr_assert_eq(log[i].op, VAMOS_MYSQL_FRAGMENT);
		cr_assert_leq(log[i].bytes.size(), 1000u);
		auto h = at<vamos_mysql_req>(log[i].bytes, 0);
		auto f = at<vamos_mysql_fragment>(log[i].bytes, sizeof h);
		cr_assert(h.version == VAMOS_MYSQL_VERSION && h.ctx == 5 && h.table == 0 && h.flags == 0);
		cr_assert(f.op == VAMOS_MYSQL_WRITE && f.seq == i && f.total == req.size() &&
			  f.offset == whole.size() && f.reserved == 0);
		whole += log[i].bytes.substr(sizeof h + sizeof f);
	}
	cr_assert(whole == req);
	cr_assert(reply == "reply to piece " + std::to_string(log.size()), "the last piece's reply");
}

Test(pieces, a_failed_piece_stops_the_request)
{
	int calls = 0;
	raw_call raw = [&](uint16_t, const std::string &, std::string *rep) {
		rep->clear();
		return ++calls == 2 ? -EINVAL : 0;
	};
	cr_assert_eq(call_in_pieces(raw, {1000, 1 << 20}, VAMOS_MYSQL_WRITE, request(5, 10000),
				    nullptr),
		     -EINVAL);
	cr_assert_eq(calls, 2);
}

Test(pieces, requests_that_cannot_go_in_pieces)
{
	raw_call raw = [&](uint16_t, const std::string &, std::string *) -> int {
		cr_assert_fail("nothing may be sent");
		return 0;
	};
	std::string reply;
	cr_assert_eq(call_in_pieces(raw, {1000, 1 << 20}, VAMOS_MYSQL_WRITE, request(0, 5000), &reply),
		     -EMSGSIZE, "no context");
	cr_assert_eq(call_in_pieces(raw, {1000, 4096}, VAMOS_MYSQL_WRITE, request(5, 5000), &reply),
		     -EMSGSIZE, "over the host's max_message");
	cr_assert_eq(call_in_pieces(raw, {1000, 0}, VAMOS_MYSQL_WRITE, request(5, 5000), &reply),
		     -EMSGSIZE, "a host that takes no pieces");
}

/* A host whose GET reply is @total bytes (byte i = i * 5), the first piece
 * @first bytes, the next ones @step; @lie 1: an empty piece, 2: a piece
 * past the total, 3: a first piece past the total. */
static int fetch(uint64_t total, size_t first, size_t step, int lie, std::string *reply,
		 std::vector<sent> *log)
{
	std::string whole(total, '\0');
	for (size_t i = 0; i < total; i++)
		whole[i] = (char)(i * 5);
	raw_call raw = [&](uint16_t op, const std::string &r, std::string *rep) {
		log->push_back({op, r});
		if (op == VAMOS_MYSQL_GET) {
			vamos_mysql_more m = {};
			m.total = total;
			rep->assign((const char *)&m, sizeof m);
			*rep += whole.substr(0, first);
			if (lie == 3)
				*rep += "extra bytes past the total";
			return VAMOS_MYSQL_MORE;
		}
		auto n = at<vamos_mysql_next>(r, sizeof(vamos_mysql_req));
		*rep = whole.substr(n.offset, step);
		if (lie == 1)
			rep->clear();
		if (lie == 2)
			*rep += "extra bytes past the total";
		return 0;
	};
	return call_in_pieces(raw, {1000, 1 << 20}, VAMOS_MYSQL_GET, request(9, 100), reply);
}

Test(pieces, a_reply_in_pieces_is_fetched_whole)
{
	std::string reply;
	std::vector<sent> log;
	cr_assert_eq(fetch(5000, 984, 984, 0, &reply, &log), 0);
	cr_assert_eq(reply.size(), 5000u);
	for (size_t i = 0; i < reply.size(); i++)
		cr_assert_eq(reply[i], (char)(i * 5));
	cr_assert_eq(log.size(), 1 + (5000 - 984 + 983) / 984);
	uint64_t expect = 984;
	for (size_t i = 1; i < log.size(); i++) {
		cr_assert_eq(log[i].op, VAMOS_MYSQL_REPLY_NEXT);
		cr_assert_eq(at<vamos_mysql_req>(log[i].bytes, 0).ctx, 9u);
		cr_assert_eq(at<vamos_mysql_next>(log[i].bytes, sizeof(vamos_mysql_req)).offset, expect);
		expect += 984;
	}
}

Test(pieces, a_host_whose_pieces_do_not_add_up)
{
	std::string reply;
	std::vector<sent> log;
	cr_assert_eq(fetch(5000, 984, 984, 1, &reply, &log), -EPROTO, "an empty piece");
	cr_assert_eq(fetch(5000, 984, 984, 2, &reply, &log), -EPROTO, "a piece past the total");
	cr_assert_eq(fetch((1 << 20) + 1, 984, 984, 0, &reply, &log), -EPROTO,
		     "a total over max_message");
	cr_assert_eq(fetch(500, 984, 984, 3, &reply, &log), -EPROTO, "a first piece past the total");
}

/* A request sent some other way (ahead of its need, in one record): the
 * rest of its reply in pieces is fetched for its context; any other reply
 * is left as it came. */
Test(pieces, the_rest_of_a_reply_sent_ahead)
{
	std::string whole(3000, '\0');
	for (size_t i = 0; i < whole.size(); i++)
		whole[i] = (char)(i * 7);
	std::vector<sent> log;
	raw_call raw = [&](uint16_t op, const std::string &r, std::string *rep) {
		log.push_back({op, r});
		auto n = at<vamos_mysql_next>(r, sizeof(vamos_mysql_req));
		*rep = whole.substr(n.offset, 900);
		return 0;
	};
	vamos_mysql_more m = {};
	m.total = whole.size();
	std::string reply((const char *)&m, sizeof m);
	reply += whole.substr(0, 900);
	cr_assert_eq(finish_reply(raw, {1000, 1 << 20}, 12, VAMOS_MYSQL_MORE, &reply), 0);
	cr_assert_eq(reply, whole);
	cr_assert_eq(log.size(), 3u);
	for (const sent &s : log) {
		cr_assert_eq(s.op, VAMOS_MYSQL_REPLY_NEXT);
		cr_assert_eq(at<vamos_mysql_req>(s.bytes, 0).ctx, 12u);
	}

	log.clear();
	reply = "rows";
	cr_assert_eq(finish_reply(raw, {1000, 1 << 20}, 12, -ENOENT, &reply), -ENOENT);
	cr_assert_eq(reply, "rows");
	cr_assert_eq(finish_reply(raw, {1000, 1 << 20}, 0, VAMOS_MYSQL_MORE, &reply), -EPROTO,
		     "pieces need a context");
	cr_assert(log.empty());
}
