/* SPDX-License-Identifier: MIT */
/* The process-wide client, ATTACH and re-ATTACH, counters. */
#include "connection.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include <vamos/client.h>
#include <vamos/mysql_protocol.h>

#include "bytes.h"
#include "pieces.h"

namespace vamos {

conn_counters conn_stats;

/* Set once connected (at plugin init, or lazily by the first statement
 * that needs vamosd if it was not up then); read by every connection. */
static std::atomic<vamos_client *> g_client{nullptr};
static std::mutex g_attach_mutex;
static std::atomic<uint64_t> g_epoch{0};
static std::atomic<bool> g_need_attach{false};
static vamos_mysql_welcome g_welcome;
static vamos_client_params g_params;
static bool g_params_set;
static thread_local char tl_error[512]; /* MariaDB shows up to 512 bytes */

/* Doorbells: each session's notification counter, last value seen. A
 * session may be shared by threads, so the delta is taken with an atomic
 * exchange on a per-session slot. */
struct bell_slot {
	std::atomic<const vamos_session *> session{nullptr};
	std::atomic<uint64_t> seen{0};
};
static bell_slot g_bells[256];

static void count_doorbells(const vamos_session *s)
{
	uint64_t now = vamos_session_stats(s).notifications_sent;
	size_t h = (reinterpret_cast<uintptr_t>(s) >> 6) % 256;
	for (size_t i = 0; i < 256; i++) {
		bell_slot &b = g_bells[(h + i) % 256];
		const vamos_session *cur = b.session.load();
		if (cur == nullptr) {
			if (!b.session.compare_exchange_strong(cur, s) && cur != s)
				continue;
		} else if (cur != s) {
			continue;
		}
		uint64_t before = b.seen.exchange(now);
		__atomic_add_fetch(&conn_stats.doorbells, (long long)(now - before),
				   __ATOMIC_RELAXED);
		return;
	}
}

/* Set per call by the handler: a pool thread may serve another session
 * next. */
static thread_local unsigned long tl_lock_wait_ms;

void conn_set_lock_wait(unsigned long ms)
{
	tl_lock_wait_ms = ms;
}

/* Words for a transport-level failure @st of @client's session. */
static void note_transport_error(vamos_client *client, int st)
{
	if (st == -ECONNRESET || st == -ECONNREFUSED || st == -EPROTO || st == -ETIMEDOUT ||
	    st == -EMSGSIZE || st == -EHOSTDOWN) {
		vamos_session *s = client ? vamos_session_get(client) : nullptr;
		const char *why = s ? vamos_session_error(s) : nullptr;
		if (!why && client)
			why = vamos_client_error(client);
		snprintf(tl_error, sizeof tl_error, "vamosd: %s (%s)", strerror(-st),
			 why ? why : "no details");
	}
}

/* How long a call waits for its reply, in ms. */
static int reply_timeout_ms()
{
	/* The host answers a lock wait with -ETIMEDOUT itself (after the
	 * session's wait, or its own default): wait longer. */
	unsigned long wait = std::max<unsigned long>(g_welcome.lock_wait_ms, tl_lock_wait_ms);
	return (int)std::min<unsigned long>(wait + 60000, INT32_MAX);
}

/* vamos_call_room's room: the reply string, sized to the reply. It is
 * not cleared first: resizing keeps the bytes already there and zero-fills
 * only growth, and the strings are reused for replies of like sizes, so
 * that is rare (clearing first would zero the whole reply each time). */
struct string_room_arg {
	std::string *s;
	bool given;
};

static void *string_room(void *arg, uint32_t len)
{
	string_room_arg *a = static_cast<string_room_arg *>(arg);
	a->s->resize(len);
	a->given = true;
	return &(*a->s)[0];
}

static int call_raw(uint16_t op, const void *req, uint32_t len, std::string *reply)
{
	static thread_local std::string unwanted;
	uint32_t cap = g_welcome.max_reply ? g_welcome.max_reply : 65536;
	if (cap < 65536)
		cap = 65536;
	int timeout = reply_timeout_ms();
	string_room_arg room = { reply ? reply : &unwanted, false };
	vamos_client *client = g_client.load();
	uint32_t got = 0;
	/* The reply goes from the ring straight into @reply: one copy. */
	int st = vamos_call_room(client, VAMOS_SERVICE_MYSQL, op, req, len, string_room, &room,
				 cap, &got, timeout);
	__atomic_add_fetch(&conn_stats.requests, 1, __ATOMIC_RELAXED);
	if (vamos_session *s = vamos_session_get(client))
		count_doorbells(s);
	/* No bytes, too many, or none delivered (a transport failure). */
	if (!room.given || got > cap || room.s->size() != got)
		room.s->clear();
	note_transport_error(client, st);
	return st;
}

static int attach(bool exclusive, std::string *why)
{
	std::string req;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	put(&req, h);
	vamos_mysql_attach a = {};
	a.flags = exclusive ? VAMOS_MYSQL_ATTACH_EXCLUSIVE : 0;
	put(&req, a);
	std::string reply;
	int st = call_raw(VAMOS_MYSQL_ATTACH, req.data(), (uint32_t)req.size(), &reply);
	if (st) {
		*why = std::string("ATTACH to vamosd's mysql service failed: ") +
		       (tl_error[0] ? tl_error : strerror(-st));
		if (st > -4096 && st != -ECONNRESET && reply.size())
			*why += ": " + reply;
		return st;
	}
	size_t off = 0;
	vamos_mysql_welcome w;
	if (!take(reply.data(), reply.size(), &off, &w) || w.version != VAMOS_MYSQL_VERSION) {
		*why = "vamosd's mysql service speaks another protocol version";
		return -EPROTONOSUPPORT;
	}
	g_welcome = w;
	/* A new epoch makes every handle and context reopen: not needed the
	 * first time (a lazy connect), when there are none yet. */
	static bool attached_before;
	if (attached_before)
		g_epoch.fetch_add(1);
	attached_before = true;
	return 0;
}

/* Connect and ATTACH; g_attach_mutex held (or plugin init). */
static int open_locked(std::string *why)
{
	const char *w = nullptr;
	vamos_client *c = nullptr;
	int rc = vamos_client_connect(g_params_set ? &g_params : nullptr, &c, &w);
	if (rc < 0) {
		*why = std::string("cannot reach vamosd: ") + (w ? w : strerror(-rc));
		return rc;
	}
	g_client.store(c);
	rc = attach(true, why);
	if (rc < 0) {
		g_client.store(nullptr);
		vamos_client_close(c);
	}
	return rc;
}

void conn_set_params(const vamos_client_params &p)
{
	g_params = p;
	g_params_set = true;
}

int conn_open(std::string *why)
{
	std::lock_guard<std::mutex> g(g_attach_mutex);
	return open_locked(why);
}

/* Connect now if plugin init could not (vamosd was not up yet). */
static int ensure_client()
{
	if (g_client.load())
		return 0;
	std::lock_guard<std::mutex> g(g_attach_mutex);
	if (g_client.load())
		return 0;
	std::string why;
	int rc = open_locked(&why);
	if (rc < 0)
		snprintf(tl_error, sizeof tl_error, "%s", why.c_str());
	return rc;
}

void conn_close()
{
	vamos_client *c = g_client.exchange(nullptr);
	if (c)
		vamos_client_close(c);
}

uint64_t conn_epoch()
{
	return g_epoch.load();
}

bool conn_handles_live(uint64_t epoch)
{
	return epoch == g_epoch.load() && !g_need_attach.load();
}

uint32_t conn_max_key()
{
	return g_welcome.max_key ? g_welcome.max_key : 511;
}

uint32_t conn_max_request()
{
	return g_welcome.max_request ? g_welcome.max_request : 65536;
}

uint32_t conn_max_reply()
{
	return g_welcome.max_reply ? g_welcome.max_reply : 65536;
}

const char *conn_last_error()
{
	return tl_error[0] ? tl_error : "vamosd: no error";
}

/* Re-ATTACH once for everyone that saw the loss in epoch @lost_in. */
static int reattach(uint64_t lost_in)
{
	std::lock_guard<std::mutex> g(g_attach_mutex);
	if (!g_need_attach.load() || g_epoch.load() != lost_in)
		return 0;
	std::string why;
	int rc = attach(true, &why);
	if (rc == 0) {
		g_need_attach.store(false);
		__atomic_add_fetch(&conn_stats.reattaches, 1, __ATOMIC_RELAXED);
	} else {
		snprintf(tl_error, sizeof tl_error, "%s", why.c_str());
	}
	return rc;
}

/* ---- requests sent ahead ---- */

/* This thread's request sent ahead, and then its reply until collected. */
struct ahead_slot {
	uint64_t ticket = 0; /* 0: none */
	uint64_t id = 0;     /* the client's id of the request */
	uint64_t ctx = 0;    /* its context (for a reply in pieces) */
	uint64_t epoch = 0;
	const void *owner = nullptr;
	bool in_flight = false;
	int status = 0;
	std::string reply;
};
static thread_local ahead_slot tl_ahead;
/* Tickets are unique in the process: a handler that moved to another
 * thread never takes that thread's reply for its own. */
static std::atomic<uint64_t> g_next_ticket{1};

/* Wait for the completion of request @id (the only one this thread has
 * in flight besides the late replies of ones given up). */
static int wait_completion(vamos_session *s, uint64_t id, std::string *reply)
{
	int timeout = reply_timeout_ms();
	for (;;) {
		vamos_completion c;
		int n = vamos_session_complete(s, &c, 1, timeout);
		if (n < 0)
			return n; /* -ETIMEDOUT, -EHOSTDOWN: its late reply is skipped below */
		if (n == 0)
			return -ECONNRESET; /* nothing in flight: it is gone */
		if (c.id != id)
			continue; /* the late reply of one given up before */
		reply->assign(c.data ? (const char *)c.data : "", c.len);
		return c.status;
	}
}

/* Take this thread's request sent ahead off the channel; its status and
 * reply stay in tl_ahead for conn_collect. */
static void settle_ahead()
{
	ahead_slot &a = tl_ahead;
	if (!a.in_flight)
		return;
	a.in_flight = false;
	vamos_client *client = g_client.load();
	vamos_session *s = client ? vamos_session_get(client) : nullptr;
	int st = s ? wait_completion(s, a.id, &a.reply) : -ECONNRESET;
	if (st == VAMOS_MYSQL_MORE) {
		piece_limits lim = { conn_max_request(), g_welcome.max_message };
		raw_call raw = [](uint16_t o, const std::string &r, std::string *rep) {
			return call_raw(o, r.data(), (uint32_t)r.size(), rep);
		};
		st = finish_reply(raw, lim, a.ctx, st, &a.reply);
	}
	note_transport_error(client, st);
	if (st == -ECONNRESET || st == -ECONNREFUSED || st == -EBADF)
		if (g_epoch.load() == a.epoch)
			g_need_attach.store(true);
	a.status = st;
}

void conn_settle_ahead()
{
	settle_ahead();
}

int conn_send_ahead(uint64_t epoch, uint16_t op, const std::string &req, const void *owner,
		    uint64_t *ticket)
{
	*ticket = 0;
	ahead_slot &a = tl_ahead;
	if (a.ticket && a.owner == owner)
		return -EBUSY;
	settle_ahead();
	a.ticket = 0; /* another connection's, never collected: stale */
	vamos_client *client = g_client.load();
	if (!client || g_need_attach.load() || epoch != g_epoch.load())
		return -EAGAIN; /* conn_call knows what to do first */
	if (req.size() > conn_max_request())
		return -EMSGSIZE;
	vamos_session *s = vamos_session_get(client);
	if (!s)
		return -ENOMEM;
	size_t off = 0;
	vamos_mysql_req h = {};
	take(req.data(), req.size(), &off, &h);
	uint64_t id;
	int st = vamos_session_submit(s, VAMOS_SERVICE_MYSQL, op, req.data(), (uint32_t)req.size(),
				      &id);
	if (st)
		return st;
	/* A failed flush fails the request: its completion says so. */
	vamos_session_flush(s);
	__atomic_add_fetch(&conn_stats.requests, 1, __ATOMIC_RELAXED);
	count_doorbells(s);
	a.ticket = g_next_ticket.fetch_add(1);
	a.id = id;
	a.ctx = h.ctx;
	a.epoch = epoch;
	a.owner = owner;
	a.in_flight = true;
	a.status = 0;
	a.reply.clear();
	*ticket = a.ticket;
	return 0;
}

bool conn_collect(uint64_t ticket, int *st, std::string *reply)
{
	ahead_slot &a = tl_ahead;
	if (!ticket || a.ticket != ticket)
		return false;
	settle_ahead();
	a.ticket = 0;
	*st = a.status;
	reply->swap(a.reply);
	return true;
}

void conn_discard(uint64_t ticket)
{
	ahead_slot &a = tl_ahead;
	if (!ticket || a.ticket != ticket)
		return;
	settle_ahead();
	a.ticket = 0;
}

int conn_call(uint64_t epoch, uint16_t op, const std::string &req, std::string *reply)
{
	/* One request of a context at a time: a reply still coming for this
	 * thread is taken first (and kept for its conn_collect). */
	settle_ahead();
	tl_error[0] = '\0';
	int rc = ensure_client();
	if (rc < 0)
		return -ENOTCONN; /* tl_error says why */
	if (g_need_attach.load()) {
		rc = reattach(g_epoch.load());
		if (rc < 0)
			return rc;
	}
	/* The caller's handles are from an older epoch: let it reopen them
	 * rather than send them (their -EBADF would look like a new loss). */
	if (epoch != g_epoch.load())
		return -EBADF;
	piece_limits lim = { conn_max_request(), g_welcome.max_message };
	raw_call raw = [](uint16_t o, const std::string &r, std::string *rep) {
		return call_raw(o, r.data(), (uint32_t)r.size(), rep);
	};
	int st = call_in_pieces(raw, lim, op, req, reply);
	if (st == -ECONNRESET || st == -ECONNREFUSED || st == -EBADF)
		if (g_epoch.load() == epoch)
			g_need_attach.store(true);
	return st;
}

} // namespace vamos
