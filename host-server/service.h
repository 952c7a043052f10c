/* SPDX-License-Identifier: MIT */
/*
 * Services: what vamosd dispatches requests to, by service id. A service
 * either answers at once on the channel's poller (it must never block), or
 * says it may block (a lock, the disk) and then runs on the blocking pool,
 * so that it never stalls the other channels of its VM.
 *
 * A handler writes at most one reply: reply_reserve() room for its bytes,
 * fill them, reply_commit() with a status. Returning without a commit
 * replies with the returned status and no bytes. A handler that runs on a
 * poller must reserve before doing anything that cannot be undone: when
 * the reply ring is full, reply_reserve() returns -EAGAIN, the handler
 * returns -EAGAIN, and the request is handed to it again later.
 *
 * The registry is RCU-protected (liburcu QSBR): pollers look services up
 * without a lock; registering is rare and waits for them.
 */
#ifndef VAMOSD_SERVICE_H
#define VAMOSD_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct reply;

struct service_request {
	uint64_t id;
	uint16_t service, op;
	const unsigned char *data; /* a private copy for blocking services;
				      in the ring (copy before validating)
				      for inline ones */
	uint32_t len;
	vm_id vm;                  /* the VM it came from (config.h); VM_NONE
				      from a stream session, which has none */
	uint32_t channel;
};

struct service {
	uint16_t id;
	const char *name;
	bool may_block;
	int (*handle)(void *ctx, const struct service_request *req, struct reply *rep);
	void *ctx;
};

/* Room for @len reply bytes; at most once per request. 0, -EAGAIN (ring
 * full: return -EAGAIN), -EMSGSIZE. */
int reply_reserve(struct reply *rep, uint32_t len, void **payload);
/* The whole reply at once: reserve @len bytes, copy them from @data and
 * commit with @status. Returns as reply_reserve() (nothing is sent unless 0). */
int reply_send(struct reply *rep, int status, const void *data, uint32_t len);
/* The most reply bytes reply_reserve() would give now without waiting for
 * the peer (at most max_payload): a handler that can cut its answer sizes
 * it to this rather than wait for room for all of it. */
uint32_t reply_room(const struct reply *rep);
/* Does reply_reserve() give room in the channel's ring itself (rather
 * than a buffer of that size)? Then reserving more than is used is free. */
bool reply_in_ring(const struct reply *rep);
/* Give back the room reply_reserve() gave, uncommitted and unused: the
 * handler may then reserve again or defer the reply. */
void reply_unreserve(struct reply *rep);
/* Finish the reply with @status and @len <= reserved bytes. */
void reply_commit(struct reply *rep, int status, uint32_t len);

/* A reply a poller-side service gives later, from any thread (a service
 * with its own threads). Returns the handle for deferred_reply_send(), or
 * NULL when the session already waits for SESSION_MAX_BLOCKING replies or
 * memory is short: then return -EAGAIN (the request is handed over again
 * later) having done nothing. After a successful defer the handler returns
 * 0 and commits nothing. */
struct deferred_reply *reply_defer(struct reply *rep);
/* Send the deferred reply (status, bytes); frees @d. Any thread. */
void deferred_reply_send(struct deferred_reply *d, int status, const void *data, uint32_t len);

/* Register @svc (copied); -EEXIST if its id is taken. Not from a poller. */
int services_register(const struct service *svc);
/* Look @id up; call from an RCU read side (a poller). NULL if none. */
const struct service *services_lookup(uint16_t id);
/* Free the registry at exit (after every poller stopped). */
void services_shutdown(void);

/* echo, noop and sleep (blocks op milliseconds, on the pool). */
int services_register_builtin(void);

#endif
