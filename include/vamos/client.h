/* SPDX-License-Identifier: MIT */
/*
 * libvamos-client: the guest library. It connects to vamosd over the best
 * transport there is, gives each thread a session (one channel of its own),
 * sends batches of requests with one flush and matches replies by id.
 *
 *     struct vamos_client *c;
 *     const char *why;
 *     if (vamos_client_connect(NULL, &c, &why) < 0) die(why);
 *     printf("%s\n", vamos_client_describe(c));   // which transport, and why
 *
 *     // synchronous
 *     char out[64]; uint32_t n;
 *     int st = vamos_call(c, VAMOS_SERVICE_ECHO, 0, "hi", 2, out, sizeof out, &n, 1000);
 *
 *     // batched
 *     struct vamos_session *s = vamos_session_get(c);
 *     for (i = 0; i < 64; i++) vamos_session_submit(s, VAMOS_SERVICE_ECHO, 0, buf, len, &id[i]);
 *     // or: vamos_session_submit_many(s, reqs, 64, &first_id), ids first_id + i
 *     vamos_session_flush(s);                    // one batch, one doorbell at most
 *     struct vamos_completion done[64];
 *     int k = vamos_session_complete(s, done, 64, 1000);
 *
 * Transport choice (vamos_client_params.transport, or the environment
 * variable VAMOS_TRANSPORT = auto|ivshmem|local|vsock|unix, which wins):
 *   auto     the ivshmem PCI device if this machine has one, else vsock;
 *   ivshmem  the in-VM device (vamos/ivshmem.h guest side);
 *   local    a host process joining vamosd's ivshmem server socket as a
 *            local peer (VAMOS_LOCAL_SOCKET, VAMOS_LOCAL_VECTORS);
 *   vsock    AF_VSOCK to the host (VAMOS_VSOCK_CID, default 2; VAMOS_VSOCK_PORT);
 *   unix     vamosd's stream socket (VAMOS_UNIX_SOCKET).
 * vamos_client_describe() always says which one was taken and why.
 * With VAMOS_CLIENT_NO_ENV in vamos_client_params.flags the environment is
 * not read at all (an application that resolved it itself, e.g. ha_vamos's
 * system variables).
 *
 * Threads and sessions: vamos_session_get() hands the calling thread its
 * own session on first use and the same one afterwards (thread-local, no
 * lock). With ivshmem the pool is the region's channels; with stream
 * transports it is @channels connections. When threads outnumber them, a
 * thread shares a session with others (round robin) and every call on a
 * shared session takes that session's mutex; a session with one thread
 * never locks. A thread of a shared session never holds the mutex while it
 * waits: one of them at a time waits on the channel and routes the replies
 * that come to their threads, the others sleep until theirs is routed, so
 * each thread's requests stay in flight while another waits. vamos_session_get() says which through
 * vamos_session_shared().
 *
 * Failures: a session whose peer went away (vamosd stopped, crashed or
 * restarted, the VM's device reset) fails every request still in flight
 * with status -ECONNRESET, delivered as completions — none is lost
 * silently and none is sent again, so none runs twice. The next submit
 * reconnects (within the client's timeout) and starts a new session; if
 * vamosd is not back, it returns -ECONNREFUSED ("host gone"). A peer that
 * breaks the protocol gives -EPROTO ("channel broken"); waiting too long
 * gives -ETIMEDOUT. vamos_session_error() and vamos_client_error() say
 * what happened in words.
 *
 * A hung host: over ivshmem (IVSHMEM, LOCAL) vamosd advances a heartbeat
 * in the region's header while it is healthy. A wait (vamos_call,
 * vamos_session_complete) that sees it stand still for @stale_ms (default
 * 5000; VAMOS_STALE_MS) gives up with -EHOSTDOWN and the session's error
 * "vamosd on the host has not answered for N s": vamosd is alive but
 * stuck (stopped, deadlocked, a hung disk). The session stays open, and a
 * reply that comes later for a call given up is dropped. A host that
 * publishes no heartbeat (0) is waited for until the timeout. Stream
 * transports (vsock, unix) have no region: they rely on the timeout.
 *
 * All functions return 0 or a count on success and a negative errno value
 * on failure.
 *
 * Errors: a negative errno, the failed object's ..._error() in words, or
 * why_out when no object exists yet (doc/errors.md, the one convention).
 */
#ifndef VAMOS_CLIENT_H
#define VAMOS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <vamos/channel.h>
#include <vamos/protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vamos_transport_kind {
	VAMOS_TRANSPORT_AUTO = 0,
	VAMOS_TRANSPORT_IVSHMEM = 1,
	VAMOS_TRANSPORT_LOCAL = 2,
	VAMOS_TRANSPORT_VSOCK = 3,
	VAMOS_TRANSPORT_UNIX = 4,
};

/** Default vsock port vamosd listens on. */
#define VAMOS_DEFAULT_VSOCK_PORT 7800u

struct vamos_client_params {
	enum vamos_transport_kind transport;
	const char *local_socket;  /**< LOCAL: vamosd's ivshmem socket for this "VM" */
	uint32_t local_vectors;    /**< LOCAL: the server's vectors (0: learned
					from the server) */
	const char *unix_path;     /**< UNIX: vamosd's stream socket */
	uint32_t vsock_cid;        /**< VSOCK: 0 means the host (CID 2) */
	uint32_t vsock_port;       /**< VSOCK: 0 means VAMOS_DEFAULT_VSOCK_PORT */
	uint32_t channels;         /**< stream transports: sessions in the pool
					(0: 4); ivshmem uses the region's */
	int timeout_ms;            /**< connect/reconnect and vamos_call default
					(0: 5000) */
	int irq;                   /**< IVSHMEM: enum vamos_guest_irq */
	int stale_ms;              /**< LOCAL/IVSHMEM: fail a wait with
					-EHOSTDOWN once vamosd's heartbeat has
					stood still this long (0: 5000, < 0:
					never; an idle vamosd beats about once
					a second, so keep it above 2000);
					VAMOS_STALE_MS wins (0: never) */
	unsigned flags;            /**< enum vamos_client_flags */
	int poll_us;               /**< LOCAL/IVSHMEM: a thread waiting for a
					reply polls its reply ring at most this
					many us before it sleeps (and the host
					must interrupt it); the budget adapts
					to how long recent replies took (0: 400,
					< 0: off, at most 1000000); VAMOS_POLL_US
					wins (0: off) */
};

/** vamos_client_params.flags. */
enum vamos_client_flags {
	/** Read no VAMOS_* environment variable: the params alone decide. */
	VAMOS_CLIENT_NO_ENV = 1u << 0,
};

struct vamos_client;
struct vamos_session;

/** A reply matched to its request. @data stays valid until the next
 *  complete/call on the session. */
struct vamos_completion {
	uint64_t id;      /**< the request's id */
	int status;       /**< the service's status, or -ECONNRESET if the
			       session died with the request in flight */
	const void *data; /**< reply bytes (NULL if none) */
	uint32_t len;
};

/**
 * Connect with @params (NULL: all defaults, i.e. auto). Environment
 * variables override (see the file comment). Returns 0, or a negative errno
 * with @why_out naming what was missing ("no ivshmem device and no vsock:
 * ...").
 */
int vamos_client_connect(const struct vamos_client_params *params,
			 struct vamos_client **out, const char **why_out);

/** Which transport is in use and why, e.g. "ivshmem (0000:00:02.0, interrupt:
 *  MSI-X through VFIO, 2 vectors)" or "vsock (no ivshmem device)". */
const char *vamos_client_describe(const struct vamos_client *c);

/** The transport in use. */
enum vamos_transport_kind vamos_client_transport(const struct vamos_client *c);

/** Why the client failed as a whole (e.g. "host gone"), or NULL. */
const char *vamos_client_error(const struct vamos_client *c);

/**
 * The calling thread's session: its own on first use, the same afterwards.
 * Returns NULL only if the pool could not be set up (see
 * vamos_client_error()).
 */
struct vamos_session *vamos_session_get(struct vamos_client *c);

/** Whether other threads share this session (and so it locks; it keeps
 *  locking until every thread that used it has exited). */
bool vamos_session_shared(const struct vamos_session *s);

/**
 * Queue one request (not sent until flush). Reconnects first if the
 * session died. Returns 0 and the request's id in @id; -EAGAIN if the
 * channel is full (flush and complete some first); -EMSGSIZE; -ECONNREFUSED
 * if vamosd is not there; -EPROTO.
 */
int vamos_session_submit(struct vamos_session *s, uint16_t service, uint16_t op,
			 const void *data, uint32_t len, uint64_t *id);

/** One request of a batch for vamos_session_submit_many(). */
struct vamos_request {
	uint16_t service;
	uint16_t op;
	uint32_t len;
	const void *data; /**< @len bytes (NULL if none) */
};

/**
 * Queue @n requests (not sent until flush) with the work of one submit:
 * what vamos_session_submit() does once per request (the session's lock
 * or busy mark, the thread's token, the look whether the host went away,
 * reopening a dead session) is done once, before the first. Their ids are
 * consecutive: the first in @first_id (may be NULL), the i-th is that
 * plus i. Returns how many were queued, from the front (1..@n); fewer
 * than @n when the next could not be (the channel is full, it is too
 * large, its data is NULL with a length, or the session died: those
 * queued then complete with -ECONNRESET), and calling again with the
 * rest says why. Returns a negative errno, as vamos_session_submit(),
 * when not even the first was queued; -EINVAL for @n 0.
 */
int vamos_session_submit_many(struct vamos_session *s, const struct vamos_request *reqs,
			      unsigned n, uint64_t *first_id);

/** Send every queued request as one batch (one doorbell at most). */
int vamos_session_flush(struct vamos_session *s);

/**
 * Wait up to @timeout_ms (-1: forever, 0: just look) for replies and hand
 * out up to @max of them. Only the calling thread's requests: on a shared
 * session each thread completes its own. Returns the count (>= 1); 0 if
 * nothing is in flight (there is nothing to wait for); -ETIMEDOUT if
 * requests are in flight and none completed in time; -EHOSTDOWN if
 * vamosd's heartbeat stood still meanwhile (they stay in flight). A session that died completes its
 * in-flight requests with status -ECONNRESET. Replies to ids this session
 * does not have in flight (a timed-out vamos_call's) are dropped.
 */
int vamos_session_complete(struct vamos_session *s, struct vamos_completion *out,
			   unsigned max, int timeout_ms);

/** Requests the calling thread submitted and did not complete yet. */
unsigned vamos_session_in_flight(const struct vamos_session *s);

/**
 * Why the session failed last, or NULL. Called from a thread that uses the
 * session (vamos_session_get), the string is that thread's own copy, valid
 * until its next vamos_session_error() on this client: other threads of a
 * shared session never rewrite it. From any other thread: the session's
 * reason if no thread shares it, else a general sentence.
 */
const char *vamos_session_error(const struct vamos_session *s);

/**
 * How long the session's next wait polls its reply ring before it sleeps,
 * in ns (LOCAL/IVSHMEM; 0 for streams or with polling off): the adaptive
 * budget bounded by params.poll_us / VAMOS_POLL_US.
 */
int64_t vamos_session_poll_ns(const struct vamos_session *s);

/** The session's channel counters (notifications = doorbells rung). */
struct vamos_chan_stats vamos_session_stats(const struct vamos_session *s);

/**
 * One request, one reply, on the calling thread's session: copies up to
 * @reply_cap reply bytes to @reply and their count to @reply_len (may be
 * NULL). Returns the service's status (0, or its negative errno), or
 * -ETIMEDOUT / -EHOSTDOWN (vamosd's heartbeat stood still: see the file
 * comment; the request is forgotten, its late reply dropped) /
 * -ECONNRESET / -ECONNREFUSED / -EPROTO / -EMSGSIZE (reply
 * larger than @reply_cap; its bytes dropped, @reply_len says how many it
 * had; or a request larger than the session takes). Completions of other
 * requests this thread submitted meanwhile are kept for its next
 * vamos_session_complete(). @timeout_ms < 0 uses the client's default.
 */
int vamos_call(struct vamos_client *c, uint16_t service, uint16_t op,
	       const void *req, uint32_t req_len, void *reply, uint32_t reply_cap,
	       uint32_t *reply_len, int timeout_ms);

/**
 * Where vamos_call_room() puts a reply: called with the reply's length
 * (1 to reply_cap) before its bytes are copied; returns room for them, or
 * NULL when there is none (the call then returns -ENOMEM). Called at most
 * once per call, on the calling thread.
 */
typedef void *(*vamos_reply_room_fn)(void *arg, uint32_t len);

/**
 * vamos_call, with the reply's bytes copied once, straight into the room
 * @room(@room_arg, len) gives once their length is known (e.g. a growable
 * buffer the caller sizes then): no copy through a buffer of @reply_cap
 * bytes. A reply of no bytes does not call @room.
 */
int vamos_call_room(struct vamos_client *c, uint16_t service, uint16_t op,
		    const void *req, uint32_t req_len, vamos_reply_room_fn room, void *room_arg,
		    uint32_t reply_cap, uint32_t *reply_len, int timeout_ms);

/** Close every session and the transport. In-flight requests are dropped. */
void vamos_client_close(struct vamos_client *c);

#ifdef __cplusplus
}
#endif

#endif /* VAMOS_CLIENT_H */
