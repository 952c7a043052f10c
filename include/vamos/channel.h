/* SPDX-License-Identifier: MIT */
/*
 * One channel interface for every libvamos transport.
 *
 * A channel carries records (a type and up to a few MiB of bytes) both ways
 * between two processes: the guest side sends requests and receives replies,
 * the host side the other way round. Whether the records travel through a
 * shared-memory ring (transport-ivshmem, vamos/ivshmem.h) or as framed
 * batches over a stream socket (transport-vsock, vamos/vsock.h), the calls
 * are the same:
 *
 *     void *p;
 *     vamos_chan_reserve(ch, len, &p);    fill p
 *     vamos_chan_commit(ch, type, len);   ... as many records as you like
 *     vamos_chan_flush(ch);               one batch, one notification at most
 *
 *     struct vamos_record in[32];
 *     int n = vamos_chan_poll(ch, in, 32);     never blocks
 *     ... use in[0..n) in place ...
 *     vamos_chan_release(ch);
 *     vamos_chan_wait(ch, timeout_ms);         blocks until records arrive
 *
 * Notifications: flush notifies the peer only when it sleeps (the ring's
 * need_wakeup handshake) — an eventfd write, a doorbell register write or,
 * for streams, the write of the batch itself. wait() spins briefly, then
 * sleeps on the channel's notification, or backs off while polling when the
 * channel has no notification path (vamos_chan_mode() says which).
 *
 * Errors are negative errno values, and the channel says why in words:
 *   -EAGAIN     reserve: no room until the peer consumes (flush, then wait)
 *   -EMSGSIZE   reserve: the record can never fit
 *   -ETIMEDOUT  wait: nothing arrived in time
 *   -ECONNRESET the peer went away (disconnected, closed, vanished)
 *   -EPROTO     the peer broke the protocol (garbage in the ring or stream);
 *               records validated before the break were still handed out
 *   -EIO        a system call failed (not sticky: the batch is kept)
 *   -ENOMEM     a stream transport could not grow a buffer (not sticky)
 * Once a channel reports -ECONNRESET or -EPROTO it stays that way;
 * vamos_chan_error() names the cause. A broken channel never reads outside
 * its memory and never crashes on what the peer wrote.
 *
 * Threads: one thread may receive while one other sends. The receive side is
 * poll, release, wait, prepare_sleep, awake and set_spin; the send side is
 * reserve, commit, abort, flush and room. Each side is one thread at a time
 * (the caller's lock, if several take turns); the two sides may run at once.
 * Any thread may read the failure, error and stats (they are atomic). Close
 * only once neither side is in a call.
 *
 * Errors: a negative errno, the failed object's ..._error() in words, or
 * why_out when no object exists yet (doc/errors.md, the one convention).
 */
#ifndef VAMOS_CHANNEL_H
#define VAMOS_CHANNEL_H

#include <stdint.h>

#include <vamos/ring.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How a channel learns that records arrived. */
enum vamos_notify_mode {
	/** Spin, then sleep on an eventfd (host, local peer) or on an MSI-X
	 *  interrupt delivered through VFIO (guest). */
	VAMOS_NOTIFY_INTERRUPT = 1,
	/** No notification path: spin, then poll with growing sleeps
	 *  (ivshmem-plain, or a guest without an IOMMU). The peer is never
	 *  asked to notify. */
	VAMOS_NOTIFY_POLL = 2,
	/** A stream socket: the kernel wakes the reader (transport-vsock). */
	VAMOS_NOTIFY_STREAM = 3,
};

/** Counters one channel keeps about itself; read with vamos_chan_stats().
 *  Each is written by one side only (sent/batches/notifications_sent: the
 *  send side; the rest: the receive side), as relaxed atomics. */
struct vamos_chan_stats {
	uint64_t records_sent;      /**< records committed and flushed */
	uint64_t records_received;  /**< records handed out by poll */
	uint64_t bytes_sent;        /**< payload bytes flushed */
	uint64_t bytes_received;    /**< payload bytes handed out */
	uint64_t batches_sent;      /**< flushes that carried records */
	uint64_t notifications_sent;     /**< doorbells/eventfd writes, or
					      stream writes, to the peer */
	uint64_t notifications_received; /**< notifications taken: the
					      doorbells an eventfd counted when
					      drained, or wakeups by one in
					      wait() (which need not drain),
					      or of a stream's wait() */
	uint64_t sleeps;            /**< times wait() went to sleep */
};

struct vamos_chan;

/** What a transport implements; applications use the vamos_chan_* calls. */
struct vamos_chan_ops {
	const char *transport; /**< "ivshmem", "vsock", "unix" */
	int (*reserve)(struct vamos_chan *ch, uint32_t len, void **payload);
	int (*commit)(struct vamos_chan *ch, uint16_t type, uint32_t len);
	void (*abort)(struct vamos_chan *ch);
	int (*flush)(struct vamos_chan *ch);
	int (*poll)(struct vamos_chan *ch, struct vamos_record *out, unsigned max);
	void (*release)(struct vamos_chan *ch);
	int (*wait)(struct vamos_chan *ch, int timeout_ms);
	int (*prepare_sleep)(struct vamos_chan *ch);
	void (*awake)(struct vamos_chan *ch);
	int (*fd)(const struct vamos_chan *ch);
	uint32_t (*max_payload)(const struct vamos_chan *ch);
	/** Optional (NULL: after a flush a record of max_payload always fits). */
	uint32_t (*room)(struct vamos_chan *ch);
	void (*close)(struct vamos_chan *ch);
};

/**
 * Common head of every transport's channel. Transports embed it first and
 * fill it; applications only read it through the calls below.
 */
struct vamos_chan {
	const struct vamos_chan_ops *ops;
	enum vamos_notify_mode mode;
	int failure;                  /**< 0, or the sticky -ECONNRESET/-EPROTO;
					   atomic: vamos_chan_failure_() */
	const char *error;            /**< why it failed, NULL while healthy;
					   atomic: vamos_chan_error() */
	struct vamos_chan_stats stats;
	int64_t spin_ns;              /**< wait() spins this long before it
					   sleeps; see vamos_chan_set_spin() */
};

/**
 * Reserve room for one record of up to @len payload bytes and point @payload
 * at it (8-byte aligned). Fill it, then commit or abort; one reservation may
 * be open at a time. Returns 0, -EAGAIN (no room now: flush and wait for the
 * peer), -EMSGSIZE (larger than vamos_chan_max_payload()), -EBUSY (one is
 * already open), or the channel's failure.
 */
static inline int vamos_chan_reserve(struct vamos_chan *ch, uint32_t len,
				     void **payload)
{
	return ch->ops->reserve(ch, len, payload);
}

/**
 * Close the open reservation as a record of @type (0 .. VAMOS_RECORD_TYPE_MAX)
 * with @len <= reserved payload bytes. It travels at the next flush.
 * Returns 0 or -EINVAL.
 */
static inline int vamos_chan_commit(struct vamos_chan *ch, uint16_t type,
				    uint32_t len)
{
	return ch->ops->commit(ch, type, len);
}

/** Reserve, copy @len bytes from @src, commit. Returns as reserve. */
static inline int vamos_chan_send(struct vamos_chan *ch, uint16_t type,
				  const void *src, uint32_t len)
{
	void *p;
	int rc = ch->ops->reserve(ch, len, &p);
	if (rc == 0) {
		if (len)
			__builtin_memcpy(p, src, len);
		rc = ch->ops->commit(ch, type, len);
	}
	return rc;
}

/** Drop the open reservation, if any. */
static inline void vamos_chan_abort(struct vamos_chan *ch)
{
	ch->ops->abort(ch);
}

/**
 * Send every committed record as one batch, notifying the peer only if it
 * sleeps (ivshmem) or with the one write the batch needs (stream).
 * Returns 0 or the channel's failure (-ECONNRESET, -EPROTO, -EIO).
 */
static inline int vamos_chan_flush(struct vamos_chan *ch)
{
	return ch->ops->flush(ch);
}

/**
 * Hand out up to @max received records, in order, without blocking. They
 * stay valid until vamos_chan_release(). Returns the count (0: none now) or
 * the channel's failure; records validated before a failure come first.
 * A ring peer can rewrite a record's bytes while you read them (never its
 * bounds): copy before validating where that matters.
 */
static inline int vamos_chan_poll(struct vamos_chan *ch,
				  struct vamos_record *out, unsigned max)
{
	return ch->ops->poll(ch, out, max);
}

/** Give back every record handed out so far; their memory may be reused. */
static inline void vamos_chan_release(struct vamos_chan *ch)
{
	ch->ops->release(ch);
}

/**
 * Block until vamos_chan_poll() has records, for at most @timeout_ms
 * (-1: no limit, 0: just look). Spins briefly first. Returns 1 when records
 * are there, -ETIMEDOUT, or the channel's failure (a peer that goes away
 * while we wait gives -ECONNRESET).
 */
static inline int vamos_chan_wait(struct vamos_chan *ch, int timeout_ms)
{
	return ch->ops->wait(ch, timeout_ms);
}

/**
 * For loops that sleep on many channels at once (poll/epoll on each
 * vamos_chan_fd()): announce that this side is about to sleep, then look
 * once more. Returns 1 if nothing is there (sleep: the peer will notify),
 * 0 if records arrived meanwhile (don't sleep; the announcement is
 * withdrawn), or the channel's failure. After sleeping, call
 * vamos_chan_awake(). Channels in VAMOS_NOTIFY_POLL mode return 1 without
 * announcing anything: sleep briefly and look again.
 */
static inline int vamos_chan_prepare_sleep(struct vamos_chan *ch)
{
	return ch->ops->prepare_sleep(ch);
}

/** Withdraw a sleep announcement (after waking, or on not sleeping). */
static inline void vamos_chan_awake(struct vamos_chan *ch)
{
	ch->ops->awake(ch);
}

/**
 * A file descriptor that becomes readable when records may have arrived, for
 * poll()/epoll loops over many channels (an eventfd or the socket), or -1 in
 * VAMOS_NOTIFY_POLL mode. Owned by the channel.
 */
static inline int vamos_chan_fd(const struct vamos_chan *ch)
{
	return ch->ops->fd(ch);
}

/** Largest payload one record may carry on this channel. */
static inline uint32_t vamos_chan_max_payload(const struct vamos_chan *ch)
{
	return ch->ops->max_payload(ch);
}

/**
 * The largest payload vamos_chan_reserve() would take now without waiting
 * for the peer: a sender that can cut what it sends (a batch of rows) sizes
 * it to this instead of waiting for room for all of it. A transport whose
 * reserve never waits for the peer answers vamos_chan_max_payload(). 0 while
 * a reservation is open, nothing fits or the channel failed.
 */
static inline int vamos_chan_failure_(const struct vamos_chan *ch);

static inline uint32_t vamos_chan_room(struct vamos_chan *ch)
{
	if (vamos_chan_failure_(ch))
		return 0;
	return ch->ops->room ? ch->ops->room(ch) : ch->ops->max_payload(ch);
}

/**
 * How long vamos_chan_wait() polls before it sleeps, in nanoseconds: 0
 * sleeps at once (every message then costs a wakeup), a large value never
 * sleeps (lowest latency, a whole core). The default is the transport's
 * (50 us for ivshmem: about a hundred shared-memory round trips, and
 * shorter than one eventfd wakeup on these machines; 0 for streams, whose
 * spin is a non-blocking read per turn).
 */
static inline void vamos_chan_set_spin(struct vamos_chan *ch, int64_t ns)
{
	ch->spin_ns = ns < 0 ? 0 : ns;
}

/** How this channel is notified; see enum vamos_notify_mode. */
static inline enum vamos_notify_mode vamos_chan_mode(const struct vamos_chan *ch)
{
	return ch->mode;
}

/** "ivshmem", "vsock" or "unix". */
static inline const char *vamos_chan_transport(const struct vamos_chan *ch)
{
	return ch->ops->transport;
}

/** Why the channel failed, or NULL while it is healthy. */
static inline const char *vamos_chan_error(const struct vamos_chan *ch)
{
	/* Acquire: pairs with the release in vamos_chan_fail_(), so the
	 * reason's bytes (static) are seen whole. */
	return __atomic_load_n(&ch->error, __ATOMIC_ACQUIRE);
}

/** This channel's counters so far (each read atomically; any thread). */
static inline struct vamos_chan_stats vamos_chan_stats(const struct vamos_chan *ch)
{
	const struct vamos_chan_stats *s = &ch->stats;
	struct vamos_chan_stats out = {
		.records_sent = __atomic_load_n(&s->records_sent, __ATOMIC_RELAXED),
		.records_received = __atomic_load_n(&s->records_received, __ATOMIC_RELAXED),
		.bytes_sent = __atomic_load_n(&s->bytes_sent, __ATOMIC_RELAXED),
		.bytes_received = __atomic_load_n(&s->bytes_received, __ATOMIC_RELAXED),
		.batches_sent = __atomic_load_n(&s->batches_sent, __ATOMIC_RELAXED),
		.notifications_sent = __atomic_load_n(&s->notifications_sent, __ATOMIC_RELAXED),
		.notifications_received =
			__atomic_load_n(&s->notifications_received, __ATOMIC_RELAXED),
		.sleeps = __atomic_load_n(&s->sleeps, __ATOMIC_RELAXED),
	};
	return out;
}

/** Close the channel and free it (NULL is fine). Unflushed records are lost. */
static inline void vamos_chan_close(struct vamos_chan *ch)
{
	if (ch)
		ch->ops->close(ch);
}

/** Name of a notify mode: "interrupt", "poll", "stream", or "unknown". */
static inline const char *vamos_notify_mode_name(enum vamos_notify_mode mode)
{
	switch (mode) {
	case VAMOS_NOTIFY_INTERRUPT: return "interrupt";
	case VAMOS_NOTIFY_POLL: return "poll";
	case VAMOS_NOTIFY_STREAM: return "stream";
	}
	return "unknown";
}

/**
 * For transports only: mark @ch failed with @err (-ECONNRESET or -EPROTO)
 * and @why (a static string), unless it already failed. Returns the sticky
 * failure. Inline, so that the channel glue lives in this header and no
 * library exports it.
 */
static inline int vamos_chan_fail_(struct vamos_chan *ch, int err, const char *why)
{
	const char *none = NULL;
	/* Either side may fail the channel: the first reason wins (CAS), and
	 * the failure is stored after it with release, so whoever sees the
	 * failure (acquire) sees its reason. */
	if (__atomic_compare_exchange_n(&ch->error, &none, why ? why : "the channel failed",
					0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		__atomic_store_n(&ch->failure, err, __ATOMIC_RELEASE);
	int f = __atomic_load_n(&ch->failure, __ATOMIC_ACQUIRE);
	/* The other side won the reason and has not stored its failure yet. */
	return f ? f : err;
}

/** For transports only: the sticky failure, 0 while healthy (any thread). */
static inline int vamos_chan_failure_(const struct vamos_chan *ch)
{
	return __atomic_load_n(&ch->failure, __ATOMIC_ACQUIRE);
}

/** For transports only: add @n to one counter of @ch. Only the side that
 *  owns the counter writes it, so a relaxed load and store suffice. */
static inline void vamos_chan_count_(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif

#endif /* VAMOS_CHANNEL_H */
