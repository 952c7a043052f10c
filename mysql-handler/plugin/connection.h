/* SPDX-License-Identifier: MIT */
/*
 * The one connection of this mariadbd to vamosd's mysql service: one
 * libvamos-client per process (transport from the vamos_* system
 * variables, settings.h), ATTACHed exclusively at plugin init, so
 * contexts left by an earlier mariadbd end. Requests and replies larger
 * than one channel record go in pieces (pieces.h).
 *
 * Restarts: when a request fails with -ECONNRESET (vamosd went away) or
 * -EBADF (vamosd no longer knows our handles: it restarted while we were
 * idle), the next request first ATTACHes again and bumps the epoch. Table
 * handles and contexts carry the epoch they were made in; an older one is
 * reopened by its owner (ha_vamos, trx.cc).
 */
#ifndef HA_VAMOS_CONNECTION_H
#define HA_VAMOS_CONNECTION_H

#include <stdint.h>
#include <string>

#include <vamos/client.h>

namespace vamos {

/** The transport to use from now on (settings.h; copied, its strings
 *  must stay valid). Before conn_open. */
void conn_set_params(const vamos_client_params &p);

/** Connect and ATTACH; on failure @why says why. */
int conn_open(std::string *why);
void conn_close();

/** Current epoch (bumped by every re-ATTACH); 0 until attached. */
uint64_t conn_epoch();

/** Are handles and contexts of @epoch still vamosd's? False once the
 * connection they were opened on is known lost (before the re-ATTACH
 * that moves the epoch): releasing them then needs no request, and must
 * not wait for a vamosd that may be gone (a server shutting down closes
 * every table). */
bool conn_handles_live(uint64_t epoch);

/** Longest stored index key the host takes (its welcome). */
uint32_t conn_max_key();

/** Largest request payload the channel takes (its welcome). */
uint32_t conn_max_request();
/** Largest reply payload the host sends (its welcome). */
uint32_t conn_max_reply();

/**
 * One request to the mysql service (@req starts with vamos_mysql_req;
 * the caller filled it with handles of epoch @epoch). Re-ATTACHes first if
 * the connection was lost; returns -EBADF without sending if @epoch is not
 * the current one (reopen and retry). The reply bytes go to @reply
 * (resized). Returns the status: 0 or a negative errno; a transport
 * failure is also remembered for conn_last_error().
 */
int conn_call(uint64_t epoch, uint16_t op, const std::string &req, std::string *reply);
/**
 * Requests sent ahead: a request whose reply is wanted later, while this
 * thread does other work. A thread has at most one; before it sends any
 * other request (conn_call, or another conn_send_ahead) the reply is
 * taken off the channel and kept, so the host never sees two requests of
 * one context at a time and no reply is left for another request to meet.
 *
 * conn_send_ahead: send @req (one channel record, vamos_mysql_req first,
 * handles of epoch @epoch) for @owner (the connection, THD) and return at
 * once with a @ticket. Returns 0, or a negative errno when it was not
 * sent: -EBUSY while @owner's earlier one is not collected or discarded
 * (the first keeps its place: its work is never thrown away for a later
 * one), or no connection, a re-ATTACH due, an older epoch, a full channel,
 * a request that needs pieces; send it with conn_call instead. An earlier
 * one of another owner (a connection this thread served before) is
 * dropped.
 */
int conn_send_ahead(uint64_t epoch, uint16_t op, const std::string &req, const void *owner,
		    uint64_t *ticket);
/**
 * The reply of the request sent ahead with @ticket, waiting for it if it
 * has not come: true with its status (as conn_call's) in @st and its bytes
 * in @reply; false if this thread no longer has it (another was sent ahead
 * since, or the caller moved to another thread): send the request again.
 */
bool conn_collect(uint64_t ticket, int *st, std::string *reply);
/** Take this thread's request sent ahead, if any, off the channel now
 *  (waiting for its reply, which stays for conn_collect): before its
 *  context may be used from another thread (an owed end, idle_snapshots.h). */
void conn_settle_ahead();
/** Drop the request sent ahead with @ticket: wait for its reply (the
 *  host may still be running it) and throw it away. */
void conn_discard(uint64_t ticket);

/** The row lock wait of the session this thread serves now, in ms (its
 *  vamos_lock_wait_timeout): a call waits for the host that long plus a
 *  minute before it gives up (the host answers a lock wait itself). */
void conn_set_lock_wait(unsigned long ms);

/** Words for the last transport-level failure of this thread. */
const char *conn_last_error();

/** Counters for SHOW STATUS (plugin.cc). */
struct conn_counters {
	long long requests;  /**< requests sent */
	long long doorbells; /**< notifications the guest rang */
	long long reattaches;
	long long idle_ends; /**< owed snapshot ends sent for idle connections */
};
extern conn_counters conn_stats;

} // namespace vamos

#endif
