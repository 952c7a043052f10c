/* SPDX-License-Identifier: MIT */
/* Serving a session on its poller: the HELLO/WELCOME handshake, checking
 * every request, dispatching it to its service (inline or on the blocking
 * pool) and flushing the replies. */
#ifndef VAMOSD_SERVE_H
#define VAMOSD_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

/*
 * Serve what the channel holds now, within the session's budget for one
 * turn (session.h: a batch of records, or SESSION_BUDGET_BYTES; records
 * taken and not handled wait for the next turn), and flush replies. With @take_new false (draining at shutdown), only records
 * already taken are finished. Returns the number of records handled (0:
 * idle), or -1 once the session has failed (see s->failure; it stays
 * failed).
 */
int session_serve(struct session *s, uint64_t boot_id, bool take_new);

#endif
