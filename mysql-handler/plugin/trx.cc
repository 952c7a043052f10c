/* SPDX-License-Identifier: MIT */
/* Per-connection host contexts and the handlerton's transaction calls. */
#include "trx.h"

#include <errno.h>

#include <algorithm>
#include <string>

#include <vamos/mysql_protocol.h>

#include "bytes.h"
#include "connection.h"
#include "idle_snapshots.h"
#include "sysvars.h"
#include "xid_requests.h"

namespace vamos {

Trx *trx_get(THD *thd, handlerton *hton)
{
	Trx *t = static_cast<Trx *>(thd_get_ha_data(thd, hton));
	if (!t) {
		t = new Trx;
		thd_set_ha_data(thd, hton, t);
	}
	return t;
}

static int ctx_request(uint16_t op, uint64_t ctx, uint64_t epoch, std::string *reply,
		       uint16_t flags = 0)
{
	std::string req;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	h.flags = flags;
	h.ctx = ctx;
	put(&req, h);
	return conn_call(epoch, op, req, reply);
}

int trx_ensure_ctx(Trx *t)
{
	idle_claim(t); /* no owed end may cross this connection's requests */
	uint64_t now = conn_epoch();
	if (t->ctx && t->epoch == now)
		return 0;
	if (t->ctx) {
		/* vamosd restarted: the context and its transaction are gone. */
		if (t->txn_wrote)
			t->lost = true;
		t->ctx = 0;
		t->stmt_wrote = t->txn_wrote = t->stmt_end_owed = false;
		t->fresh = t->snap_held = false;
	}
	std::string reply;
	int st = ctx_request(VAMOS_MYSQL_CTX_OPEN, 0, now, &reply);
	if (st == -EBADF) { /* re-ATTACHed meanwhile: once more */
		now = conn_epoch();
		st = ctx_request(VAMOS_MYSQL_CTX_OPEN, 0, now, &reply);
	}
	if (st)
		return st;
	size_t off = 0;
	vamos_mysql_ctx c;
	if (!take(reply.data(), reply.size(), &off, &c) || c.ctx == 0)
		return -EPROTO;
	t->ctx = c.ctx;
	t->epoch = now;
	return 0;
}

int trx_end_own(Trx *t, bool commit)
{
	t->stmt_wrote = t->txn_wrote = false;
	uint16_t flags = trx_take_stmt_end(t);
	if (!t->ctx || t->epoch != conn_epoch())
		return 0;
	std::string reply;
	return ctx_request(commit ? VAMOS_MYSQL_COMMIT : VAMOS_MYSQL_ROLLBACK, t->ctx, t->epoch,
			   &reply, flags);
}

void trx_close_own(Trx *t)
{
	if (t->ctx && conn_handles_live(t->epoch)) {
		std::string reply;
		ctx_request(VAMOS_MYSQL_CTX_CLOSE, t->ctx, t->epoch, &reply);
	}
	t->ctx = 0;
}

void trx_register(THD *thd, handlerton *hton)
{
	Trx *t = trx_get(thd, hton);
	if (t->stmt_query_id != (int64_t)thd->query_id) {
		t->stmt_query_id = (int64_t)thd->query_id;
		/* READ UNCOMMITTED reads as READ COMMITTED (committed rows only),
		 * SERIALIZABLE as REPEATABLE READ (a snapshot, no read locks). */
		if (thd_tx_isolation(thd) <= ISO_READ_COMMITTED)
			t->fresh = true;
	}
	trans_register_ha(thd, false, hton, 0);
	if (thd_test_options(thd, OPTION_NOT_AUTOCOMMIT | OPTION_BEGIN))
		trans_register_ha(thd, true, hton, 0);
}

static bool ends_transaction(THD *thd, bool all)
{
	return all || !thd_test_options(thd, OPTION_NOT_AUTOCOMMIT | OPTION_BEGIN);
}

/* Does @t have a context of the current epoch to send an op for? */
static bool end_request_ok(const Trx *t)
{
	return t->ctx && t->epoch == conn_epoch();
}

/* Send @op for @t's context (with the statement end it owes); a context
 * of an older epoch has nothing left to end on the host. */
static int end_request(Trx *t, uint16_t op)
{
	idle_claim(t);
	uint16_t flags = trx_take_stmt_end(t);
	if (!t->ctx || t->epoch != conn_epoch())
		return -EBADF;
	std::string reply;
	return ctx_request(op, t->ctx, t->epoch, &reply, flags);
}

int trx_request(Trx *t, uint16_t op, const std::string &body, std::string *reply)
{
	idle_claim(t);
	if (!t->ctx || t->epoch != conn_epoch())
		return -EBADF;
	std::string req;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	h.flags = trx_take_stmt_end(t);
	h.ctx = t->ctx;
	put(&req, h);
	req += body;
	return conn_call(t->epoch, op, req, reply);
}

static int report(int st, const char *what)
{
	if (st == 0)
		return 0;
	if (st == -EBADF) {
		sql_print_error("VAMOS: %s failed: vamosd restarted and lost the transaction", what);
		return HA_ERR_INTERNAL_ERROR;
	}
	sql_print_error("VAMOS: %s failed: %s (%s)", what, strerror(-st), conn_last_error());
	return HA_ERR_INTERNAL_ERROR;
}

/* End @t's transaction on the host with @op (COMMIT or ROLLBACK) if it
 * wrote or read there: either way the host's snapshot goes with it, so a
 * connection idle between transactions pins no old row versions. */
static int end_transaction(Trx *t, uint16_t op)
{
	int st = 0;
	bool wrote = t->txn_wrote;
	if (!t->prepared_xid.empty()) {
		st = end_request_ok(t) ? end_request(t, op) : -EBADF;
		/* vamosd restarted since the prepare: it kept the transaction,
		 * not the context. */
		if (st == -EBADF || st == -ECONNRESET || st == -ECONNREFUSED)
			st = xid_end(t->prepared_xid, op == VAMOS_MYSQL_COMMIT);
	} else if (wrote)
		st = end_request(t, op);
	else if (t->snap_held && end_request_ok(t)) {
		/* The owed end goes from another thread: nothing of this one
		 * may still be in flight on the context then. */
		conn_settle_ahead();
		idle_owe(t); /* sent only if the connection stays idle */
	}
	t->prepared_xid.clear();
	t->stmt_end_owed = false; /* went with the end, or the context is gone */
	/* The next transaction reads at a new snapshot, whether or not the
	 * owed end gets sent. */
	t->fresh = !wrote && t->snap_held;
	t->snap_held = false;
	t->txn_wrote = t->stmt_wrote = false;
	/* A read-only transaction has nothing to lose on the host. */
	return wrote ? st : 0;
}

int trx_commit(handlerton *hton, THD *thd, bool all)
{
	Trx *t = trx_get(thd, hton);
	int st = 0;
	if (ends_transaction(thd, all)) {
		st = end_transaction(t, VAMOS_MYSQL_COMMIT);
		return report(st, "COMMIT");
	}
	/* No round trip: the next request of the context says the statement
	 * ended (VAMOS_MYSQL_STMT_ENDED), before anything else runs there. */
	if (t->stmt_wrote)
		t->stmt_end_owed = true;
	t->stmt_wrote = false;
	return report(st, "statement commit");
}

int trx_rollback(handlerton *hton, THD *thd, bool all)
{
	Trx *t = trx_get(thd, hton);
	int st = 0;
	if (ends_transaction(thd, all)) {
		st = end_transaction(t, VAMOS_MYSQL_ROLLBACK);
		t->lost = false;
	} else {
		if (t->stmt_wrote)
			st = end_request(t, VAMOS_MYSQL_STMT_ROLLBACK);
		t->stmt_wrote = false;
	}
	/* A context vamosd lost has nothing to roll back. */
	return st == -EBADF ? 0 : report(st, "ROLLBACK");
}

/* Send savepoint op @op for id @id in @t's context. */
/* A savepoint op; @lock_wait_ms (nonzero) goes with it when it may begin
 * the transaction (VAMOS_MYSQL_LOCK_WAIT), as with a first write. */
static int savepoint_request(Trx *t, uint16_t op, uint64_t id, unsigned long lock_wait_ms)
{
	idle_claim(t);
	std::string req, reply;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	h.ctx = t->ctx;
	h.flags = trx_take_stmt_end(t);
	if (lock_wait_ms)
		h.flags |= VAMOS_MYSQL_LOCK_WAIT;
	put(&req, h);
	if (lock_wait_ms) {
		vamos_mysql_lock_wait w = {};
		w.ms = (uint32_t)std::min<unsigned long>(lock_wait_ms, UINT32_MAX);
		put(&req, w);
	}
	vamos_mysql_savepoint sv = {};
	sv.id = id;
	put(&req, sv);
	return conn_call(t->epoch, op, req, &reply);
}

int trx_savepoint_set(handlerton *hton, THD *thd, void *sv)
{
	Trx *t = trx_get(thd, hton);
	int st = trx_ensure_ctx(t);
	uint64_t id = ++t->sp_next;
	memcpy(sv, &id, sizeof id);
	unsigned long wait = vamos::lock_wait_timeout(thd) * 1000;
	conn_set_lock_wait(wait);
	if (st == 0)
		st = savepoint_request(t, VAMOS_MYSQL_SAVEPOINT, id, t->txn_wrote ? 0 : wait);
	if (st == 0)
		t->txn_wrote = true; /* the host now holds a write transaction: COMMIT ends it */
	return report(st, "SAVEPOINT");
}

/* ROLLBACK TO or RELEASE of the savepoint whose id MariaDB keeps in @sv. */
static int savepoint_end(handlerton *hton, THD *thd, void *sv, uint16_t op, const char *what)
{
	Trx *t = trx_get(thd, hton);
	uint64_t id;
	memcpy(&id, sv, sizeof id);
	int st = end_request_ok(t) ? savepoint_request(t, op, id, 0) : -EBADF;
	return report(st, what);
}

int trx_savepoint_rollback(handlerton *hton, THD *thd, void *sv)
{
	return savepoint_end(hton, thd, sv, VAMOS_MYSQL_ROLLBACK_TO_SAVEPOINT,
			     "ROLLBACK TO SAVEPOINT");
}

int trx_savepoint_release(handlerton *hton, THD *thd, void *sv)
{
	return savepoint_end(hton, thd, sv, VAMOS_MYSQL_RELEASE_SAVEPOINT, "RELEASE SAVEPOINT");
}

int trx_start_snapshot(handlerton *hton, THD *thd)
{
	if (thd_tx_isolation(thd) <= ISO_READ_COMMITTED)
		return 0;
	Trx *t = trx_get(thd, hton);
	/* Registered, so that the transaction's end releases the snapshot
	 * even if it never uses a VAMOS table. */
	trans_register_ha(thd, true, hton, 0);
	int st = trx_ensure_ctx(t);
	if (st == 0) {
		std::string reply;
		st = ctx_request(VAMOS_MYSQL_SNAPSHOT, t->ctx, t->epoch, &reply,
				 trx_take_stmt_end(t));
	}
	if (st == 0) {
		t->snap_held = true;
		t->fresh = false;
	}
	return report(st, "START TRANSACTION WITH CONSISTENT SNAPSHOT");
}

int trx_close_connection(handlerton *hton, THD *thd)
{
	Trx *t = static_cast<Trx *>(thd_get_ha_data(thd, hton));
	if (!t)
		return 0;
	idle_forget(t);
	/* A prepared transaction (XA PREPARE, then the client left) stays
	 * on the host after CTX_CLOSE, for XA COMMIT or ROLLBACK by XID. */
	if (t->ctx && conn_handles_live(t->epoch)) {
		std::string reply;
		ctx_request(VAMOS_MYSQL_CTX_CLOSE, t->ctx, t->epoch, &reply);
	}
	delete t;
	thd_set_ha_data(thd, hton, nullptr);
	return 0;
}

} // namespace vamos
