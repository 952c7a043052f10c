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
