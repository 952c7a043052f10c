/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of idle connections. A transaction that only read ends with
 * nothing to commit, but the host still holds the snapshot it read at;
 * ending it there at once would cost every autocommit SELECT a second
 * round trip. Instead its end is *owed*: if the connection's next
 * statement comes soon, that statement takes a fresh snapshot anyway and
 * nothing is sent; if the connection stays idle, a background thread of
 * the plugin sends the COMMIT that releases the snapshot (after
 * IDLE_SNAPSHOT_MS), from its own session. A connection never has a
 * request on its context in flight while that COMMIT is: it claims its
 * context before each request, and waits if the COMMIT is being sent.
 */
#ifndef HA_VAMOS_IDLE_SNAPSHOTS_H
#define HA_VAMOS_IDLE_SNAPSHOTS_H

#include "trx.h"

namespace vamos {

/* How long a connection is idle before its snapshot is released. */
constexpr int IDLE_SNAPSHOT_MS = 100;

/** @t's transaction ended having read only: its snapshot's end is owed. */
void idle_owe(Trx *t);
/** Before any request on @t's context: take the owed end back (nothing
 *  will be sent for it), or wait until the one being sent is done. */
void idle_claim(Trx *t);
/** Before @t is freed. */
void idle_forget(Trx *t);

/** The background thread (plugin init and deinit). */
int idle_start();
void idle_stop();

} // namespace vamos

#endif
