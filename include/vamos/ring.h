/* SPDX-License-Identifier: MIT */
/*
 * libvamos-ring: single-producer/single-consumer rings of variable-length
 * records in memory shared between two processes or a guest and its host.
 *
 * A *region* is one block of shared memory: a header (magic, layout version,
 * sizes, feature bits, per-side state) followed by N *channels*. A channel is
 * two rings: requests flow guest -> host, replies flow host -> guest. Each
 * side maps the region wherever it likes; the layout holds offsets only.
 *
 * Every handle below lives in the caller's private memory (stack or heap),
 * never in the shared region: what a side believes about the ring (its own
 * position, the peer's last checked position, the capacities) cannot be
 * changed by the peer. Everything read from shared memory is read once,
 * checked, and a bad value makes the handle *broken*: the call returns
 * -EPROTO, vamos_*_error() says what was wrong, and the handle stays broken.
 *
 * The data path (reserve/commit/publish, peek/release) never allocates and
 * never makes a system call. Doorbells are the caller's business: publish
 * tells whether one is needed, prepare_sleep tells whether it may sleep.
 *
 * Typical producer:
 *
 *     void *p;
 *     while (have_work && vamos_producer_reserve(&ch.tx, len, &p) == 0) {
 *             fill(p, len);
 *             vamos_producer_commit(&ch.tx, MY_TYPE, len);
 *     }
 *     if (vamos_producer_publish(&ch.tx) > 0)
 *             ring_doorbell();
 *
 * or, with records already built in private memory, many per call:
 *
 *     struct vamos_msg m[32];      // data, len, type of each
 *     int n = vamos_producer_send_burst(&ch.tx, m, 32);  // 1..32 went in
 *     if (vamos_producer_publish(&ch.tx) > 0)
 *             ring_doorbell();
 *
 * or, with messages of one fixed size, many as one *array record* (one
 * header, one copy; the consumer takes them with vamos_consumer_peek_arrays
 * and vamos_record_elements):
 *
 *     struct my_msg m[32];
 *     int n = vamos_producer_send_array(&ch.tx, MY_TYPE, m, sizeof m[0], 32);
 *
 * Typical consumer:
 *
 *     struct vamos_record recs[32];
 *     for (;;) {
 *             int n = vamos_consumer_peek(&ch.rx, recs, 32);
 *             if (n < 0) handle_broken(vamos_consumer_error(&ch.rx));
 *             for (int i = 0; i < n; i++) use(recs[i].data, recs[i].len);
 *             vamos_consumer_release(&ch.rx);
 *             if (n == 0 && spun_long_enough &&
 *                 vamos_consumer_prepare_sleep(&ch.rx) == 1) {
 *                     wait_for_doorbell();
 *                     vamos_consumer_awake(&ch.rx);
 *             }
 *     }
 *
 * All functions return 0 or a positive count on success and a negative errno
 * value on failure, as liburing does.
 *
 * Errors: a negative errno, the failed object's ..._error() in words, or
 * why_out when no object exists yet (doc/errors.md, the one convention).
 */
#ifndef VAMOS_RING_H
#define VAMOS_RING_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** First 8 bytes of a region: "VAMOSRG1" read as a little-endian integer. */
#define VAMOS_REGION_MAGIC 0x314752534f4d4156ull
/** Layout version this library writes and accepts. */
#define VAMOS_REGION_LAYOUT_VERSION 1u
/** Feature bits this library understands (none yet); others are refused. */
#define VAMOS_REGION_KNOWN_FEATURES 0ull

/** Bytes in front of every record: 32-bit length, 16-bit type, 16-bit
 *  element size (0: a plain record; else an array record, see
 *  vamos_producer_send_array). */
#define VAMOS_RECORD_HEADER_SIZE 8u
/** Records start at multiples of this. */
#define VAMOS_RECORD_ALIGN 8u
/** Largest type an application may use; 0xffff marks padding. */
#define VAMOS_RECORD_TYPE_MAX 0xfffeu
/** Largest element of an array record (its header holds the size in 16 bits). */
#define VAMOS_ARRAY_ELEM_MAX 0xffffu

/** Smallest and largest ring capacity in bytes (each a power of two). */
#define VAMOS_RING_MIN_CAPACITY 64u
#define VAMOS_RING_MAX_CAPACITY (1u << 30)
/** Most channels one region may hold. */
#define VAMOS_REGION_MAX_CHANNELS 4096u

/** Which end of every channel a process plays. */
enum vamos_side {
	VAMOS_SIDE_HOST = 0,  /**< consumes requests, produces replies */
	VAMOS_SIDE_GUEST = 1, /**< produces requests, consumes replies */
};

/** Liveness a side publishes about itself in the region header. */
enum vamos_side_state {
	VAMOS_STATE_ABSENT = 0, /**< never attached, or memory not yet laid out */
	VAMOS_STATE_READY = 1,  /**< attached and serving */
	VAMOS_STATE_CLOSED = 2, /**< detached cleanly */
};

/** Shape of a region, chosen by its creator (the host). */
struct vamos_region_params {
	uint32_t channel_count;    /**< 1 .. VAMOS_REGION_MAX_CHANNELS */
	uint32_t request_capacity; /**< bytes per request ring, power of two */
	uint32_t reply_capacity;   /**< bytes per reply ring, power of two */
};

/**
 * A mapped region as this process sees it. Filled by vamos_region_init() or
 * vamos_region_attach(); the params are this process's checked copy and are
 * never re-read from shared memory.
 */
struct vamos_region {
	unsigned char *base;               /**< where this process mapped it */
	size_t size;                       /**< bytes laid out (<= mapped) */
	struct vamos_region_params params; /**< checked copy */
	uint64_t epoch;                    /**< creator's epoch at init/attach */
	uint32_t generation;               /**< host's generation at init/attach */
	const char *error;                 /**< why the last init/attach failed */
};

/**
 * One record handed out by vamos_consumer_peek() or
 * vamos_consumer_peek_arrays(). @elem_size sits in what was the struct's
 * tail padding, so its size and layout did not change. A library that has
 * vamos_record_elements() (symbol version LIBVAMOS_RING_0.3) fills it in
 * both peeks, and that function reads it for you.
 */
struct vamos_record {
	void *data;         /**< payload, in shared memory, 8-byte aligned */
	uint32_t len;       /**< payload bytes */
	uint16_t type;      /**< application type, 0 .. VAMOS_RECORD_TYPE_MAX */
	uint16_t elem_size; /**< 0: a plain record; else an array record of
			         len / elem_size elements of this many bytes
			         (checked: a whole number, at least one) */
};

struct vamos_ring_ctrl; /* shared control block, see ring/layout.h */

/** Producer end of one ring. Fields are private to the library. */
struct vamos_producer {
	struct vamos_ring_ctrl *ctrl;
	unsigned char *data;
	uint32_t capacity;
	uint32_t mask;
	uint64_t tail;        /* next free byte, counts committed records */
	uint64_t published;   /* tail as last stored to shared memory */
	uint64_t cached_head; /* consumer position, last value checked */
	uint64_t open_at;     /* position of the open reservation */
	uint32_t open_len;    /* its payload capacity */
	bool open;            /* a reservation awaits commit or abort */
	const char *broken;   /* NULL while healthy */
};

/** Consumer end of one ring. Fields are private to the library. */
struct vamos_consumer {
	struct vamos_ring_ctrl *ctrl;
	unsigned char *data;
	uint32_t capacity;
	uint32_t mask;
	uint64_t head;        /* position last released to the producer */
	uint64_t cursor;      /* next record to hand out */
	uint64_t cached_tail; /* producer position, last value checked */
	const char *broken;   /* NULL while healthy */
};

/** A channel as one side sees it: what it sends and what it receives. */
struct vamos_channel {
	struct vamos_producer tx; /**< host: replies;  guest: requests */
	struct vamos_consumer rx; /**< host: requests; guest: replies  */
};

/**
 * Bytes a region with these params occupies, or 0 if the params are invalid
 * (zero or too many channels, a capacity that is not a power of two in
 * [VAMOS_RING_MIN_CAPACITY, VAMOS_RING_MAX_CAPACITY], or a size overflow).
 */
size_t vamos_region_size(const struct vamos_region_params *params);

/**
 * Lay out a fresh region in @mem (@mem_size bytes, 8-byte aligned) as its
 * creator, zeroing every ring, bumping the epoch, and marking the host side
 * READY last (so an attaching guest never sees a half-written header).
 * Returns 0, -EINVAL for bad params or alignment, -ENOSPC if @mem_size is too
 * small. On failure @out->error says why.
 */
int vamos_region_init(void *mem, size_t mem_size,
		      const struct vamos_region_params *params,
		      struct vamos_region *out);

/**
 * Attach to a region laid out by the peer. Reads each header field once and
 * checks it. Returns 0; -EAGAIN if the creator has not finished laying it
 * out; -ENOTSUP for another layout version or unknown feature bits; -ENOSPC
 * if the laid-out size exceeds @mem_size; -EPROTO for any other bad field.
 * On failure @out->error says why.
 */
int vamos_region_attach(void *mem, size_t mem_size, struct vamos_region *out);

/** Publish this process's liveness for @side in the region header. */
void vamos_region_set_state(const struct vamos_region *region,
			    enum vamos_side side, enum vamos_side_state state);

/**
 * Read the liveness @side published. The value is the peer's word: anything
 * outside enum vamos_side_state comes back as -EPROTO.
 */
int vamos_region_state(const struct vamos_region *region, enum vamos_side side);

/**
 * For the host: advance its heartbeat in the region header, saying it is
 * alive and serving. A host calls it periodically (vamosd: every 200 ms,
 * at least once a second when idle, while its pollers make progress). The word is 0 after every
 * vamos_region_init() ("no heartbeat published") and never returns to 0
 * once advanced. It sits in what layout version 1 left as padding: guests
 * that know nothing of it attach as before.
 */
void vamos_region_beat(const struct vamos_region *region);

/**
 * For a guest watching its host: the host's heartbeat now. 0 means the host
 * publishes none (a host without heartbeats, ivshmem-plain, or not yet);
 * otherwise a counter that moves while the host is healthy. One relaxed
 * read of a word the peer writes: compare it for change only.
 */
uint64_t vamos_region_heartbeat(const struct vamos_region *region);

/**
 * Whether the region is still the one this process attached to: 1 if the
 * host side is READY with the same epoch and generation, 0 if it closed,
 * laid the region out anew (every channel opened before is stale), or a
 * new host process took it over after the last one died (the rings are
 * intact but requests in flight may have been lost: fail them and attach
 * again), -EPROTO for a state word outside enum vamos_side_state. For a
 * guest watching its host.
 */
int vamos_region_current(const struct vamos_region *region);

/**
 * For a host process that takes over a region whose previous host died
 * (rather than handing over cleanly): bump the host's generation, so that
 * every guest attached before sees vamos_region_current() turn 0, fails
 * what it had in flight and attaches again, on the rings as they stand.
 */
void vamos_region_bump_generation(struct vamos_region *region);

/**
 * Whether the region still has the layout this process attached to (the
 * same epoch), whatever the host's state: after the host closed it, true
 * means the rings still hold what the host published before it left.
 */
bool vamos_region_same_layout(const struct vamos_region *region);

/**
 * Open channel @index of @region for @side. Positions start where the shared
 * control block says (so a side can re-open after a restart); they are
 * checked like any other value the peer could have written. Returns 0,
 * -EINVAL for a bad index or side, -EPROTO if the positions are inconsistent.
 */
int vamos_channel_open(const struct vamos_region *region, uint32_t index,
		       enum vamos_side side, struct vamos_channel *out);

/** Largest payload a ring of @capacity bytes can carry in one record. */
static inline uint32_t vamos_ring_max_payload(uint32_t capacity)
{
	return capacity - VAMOS_RECORD_HEADER_SIZE;
}

/** Ring bytes one record with @len payload bytes occupies. */
static inline uint64_t vamos_record_size(uint32_t len)
{
	return ((uint64_t)len + VAMOS_RECORD_HEADER_SIZE + VAMOS_RECORD_ALIGN - 1) &
	       ~(uint64_t)(VAMOS_RECORD_ALIGN - 1);
}

/** A record header as the one little-endian word both sides read and
 *  write: bits 0-31 payload length, 32-47 type, 48-63 element size (zero
 *  for a plain record). */
static inline uint64_t vamos_record_header(uint32_t len, uint16_t type)
{
	return (uint64_t)len | ((uint64_t)type << 32);
}

/** The header of an array record: @len payload bytes, a whole number of
 *  elements of @elem_size (1 .. VAMOS_ARRAY_ELEM_MAX) bytes each. */
static inline uint64_t vamos_array_header(uint32_t len, uint16_t type,
					  uint16_t elem_size)
{
	return vamos_record_header(len, type) | ((uint64_t)elem_size << 48);
}

/* ---------------------------------------------------------------- producer */

/* Library-internal: write the header of the record at ring position @pos.
 * A plain store, like the payload's: publish's release orders both before
 * the tail that makes them visible. */
static inline void vamos_producer_put_header_(struct vamos_producer *p,
					      uint64_t pos, uint32_t len,
					      uint16_t type)
{
	uint64_t word = vamos_record_header(len, type);
	__builtin_memcpy(p->data + (pos & p->mask), &word, sizeof word);
}

/* Out-of-line part of vamos_producer_reserve(): padding, refreshing the
 * consumer position, errors. Call vamos_producer_reserve() instead. */
int vamos_producer_reserve_slowpath(struct vamos_producer *p, uint32_t len,
				    void **payload);

/**
 * Reserve room for one record of up to @len payload bytes and point @payload
 * at it (8-byte aligned, in shared memory). Fill it, then commit or abort;
 * only one reservation may be open at a time.
 *
 * If the record does not fit before the end of the ring, a padding record
 * fills the tail end first; it becomes visible with the next publish.
 *
 * Returns 0; -EAGAIN when the ring has no room now (publish what you have and
 * wait for the consumer); -EMSGSIZE if @len exceeds vamos_ring_max_payload();
 * -EBUSY if a reservation is already open; -EPROTO if the ring is broken.
 *
 * Inline: the common case (room before the ring end, by the consumer
 * position already cached) touches only private memory.
 */
static inline int vamos_producer_reserve(struct vamos_producer *p, uint32_t len,
					 void **payload)
{
	uint64_t need = vamos_record_size(len);
	uint32_t off = (uint32_t)(p->tail & p->mask);
	if (__builtin_expect(!p->broken && !p->open &&
			     need <= p->capacity - off &&
			     p->tail + need - p->cached_head <= p->capacity, 1)) {
		p->open = true;
		p->open_at = p->tail;
		p->open_len = len;
		*payload = p->data + off + VAMOS_RECORD_HEADER_SIZE;
		return 0;
	}
	return vamos_producer_reserve_slowpath(p, len, payload);
}

/**
 * Close the open reservation as a record of @type with @len payload bytes
 * (@len may be less than reserved). The record becomes visible to the
 * consumer at the next vamos_producer_publish(). Returns 0, or -EINVAL if no
 * reservation is open, @len exceeds it or @type exceeds VAMOS_RECORD_TYPE_MAX.
 */
static inline int vamos_producer_commit(struct vamos_producer *p, uint16_t type,
					uint32_t len)
{
	if (!p->open || len > p->open_len || type > VAMOS_RECORD_TYPE_MAX)
		return -EINVAL;
	vamos_producer_put_header_(p, p->open_at, len, type);
	p->tail = p->open_at + vamos_record_size(len);
	p->open = false;
	return 0;
}

/** One record for vamos_producer_send_burst(). */
struct vamos_msg {
	const void *data; /**< payload to copy (may be NULL when @len is 0) */
	uint32_t len;     /**< payload bytes, at most vamos_ring_max_payload() */
	uint16_t type;    /**< 0 .. VAMOS_RECORD_TYPE_MAX */
};

/**
 * Copy up to @n records into the ring in order, as @n reserve/copy/commit
 * calls would, in one call: the private positions stay in registers, each
 * record costs its header store and its copy, and the consumer's position
 * is re-read at most once, when the cached one says the ring is full (the
 * counterpart of rte_ring's burst enqueue). Records are committed, not
 * published: call vamos_producer_publish() once after the burst.
 *
 * Returns how many records went in (1 .. @n; fewer when the ring filled up
 * or record i is invalid: the next call, starting at that record, reports
 * why); for a first record that cannot go in: -EAGAIN (no room now),
 * -EMSGSIZE (@len too large), -EINVAL (@type too large), -EBUSY (a
 * reservation is open), -EPROTO (broken). 0 only when @n is 0.
 */
int vamos_producer_send_burst(struct vamos_producer *p,
			      const struct vamos_msg *msgs, unsigned n);

/**
 * Copy up to @n elements of @elem_size bytes each from @elems (one array)
 * into the ring as ONE array record of @type: one header and one copy for
 * them all, so a batch of fixed-size messages costs a record, not a record
 * per message. As many elements go in as fit in one record: all @n when
 * there is room before the ring's end and the consumer's position (re-read
 * at most once per call when the cached one says the ring is full), else
 * the ones that fit; when not even one fits before the ring's end, its
 * tail end is padded and the record starts at offset 0. Committed, not
 * published: call vamos_producer_publish() after.
 *
 * Only a consumer that calls vamos_consumer_peek_arrays() takes array
 * records; vamos_consumer_peek(), and any library older than this call,
 * reports the ring broken at one ("record header has reserved bits set"):
 * send them only to a peer that said it takes them.
 *
 * Returns how many elements went in (1 .. @n); -EAGAIN when not one fits
 * now (publish, wait for the consumer); -EMSGSIZE when one element is
 * larger than vamos_ring_max_payload(); -EINVAL for @type above
 * VAMOS_RECORD_TYPE_MAX or @elem_size 0 or above VAMOS_ARRAY_ELEM_MAX;
 * -EBUSY while a reservation is open; -EPROTO if broken. 0 only when @n
 * is 0.
 */
int vamos_producer_send_array(struct vamos_producer *p, uint16_t type,
			      const void *elems, uint32_t elem_size, uint32_t n);

/** Drop the open reservation, if any; nothing of it is ever published. */
void vamos_producer_abort(struct vamos_producer *p);

/** Reserve, copy @len bytes from @src, commit. Returns as reserve/commit. */
int vamos_producer_send(struct vamos_producer *p, uint16_t type,
			const void *src, uint32_t len);

/**
 * Make every committed record visible to the consumer with one store.
 * Returns 1 if the consumer announced it is going to sleep (ring its
 * doorbell now: this publish took the announcement, so the next one returns
 * 0 until the consumer sleeps again), 0 if not, -EPROTO if broken.
 */
int vamos_producer_publish(struct vamos_producer *p);

/**
 * Bytes free for records right now, refreshing the consumer's position.
 * Returns the count, or -EPROTO if broken.
 */
int64_t vamos_producer_free_bytes(struct vamos_producer *p);

/**
 * The largest payload vamos_producer_reserve() would take right now without
 * waiting for the consumer (refreshing its position): what a producer that
 * can cut its record, such as a reply of many rows, asks before it builds
 * one. Never more than vamos_ring_max_payload(). Returns the byte count (0
 * while a reservation is open or nothing fits), or -EPROTO if broken.
 */
int64_t vamos_producer_room(struct vamos_producer *p);

/** Why the producer is broken, or NULL while it is healthy. */
static inline const char *vamos_producer_error(const struct vamos_producer *p)
{
	return p->broken;
}

/* ---------------------------------------------------------------- consumer */

/**
 * Hand out up to @max published records in order, skipping padding. They
 * stay valid, in place, until vamos_consumer_release(). Padding met while
 * nothing is held is given back at once, so a peek that found only
 * padding holds nothing: a producer waiting for the whole ring (the
 * largest record) gets it even if the caller skips the release. A peer that writes
 * into a record while you read it can change its bytes, never its bounds:
 * copy a payload before validating it if that matters.
 *
 * One call loads the producer's position at most once (when what it knew
 * of is handed out), so its cost per record is a header check and the
 * record's description; records published meanwhile wait for the next call.
 *
 * Returns the number of records (0 when the ring is empty) or -EPROTO when
 * the ring is broken. Records checked before the bad one are still handed out
 * first; the following call reports the break.
 */
int vamos_consumer_peek(struct vamos_consumer *c, struct vamos_record *out,
			unsigned max);

/**
 * vamos_consumer_peek() for a consumer that also takes array records
 * (vamos_producer_send_array): each is handed out as ONE vamos_record
 * whose @elem_size is non-zero, its elements contiguous at @data. Its
 * header is read once and checked like any other, and also that its
 * length is a whole, non-zero number of elements: anything else breaks the
 * ring as a bad header does. Plain records come out as from peek, with
 * @elem_size 0. Returns as peek.
 */
int vamos_consumer_peek_arrays(struct vamos_consumer *c,
			       struct vamos_record *out, unsigned max);

/**
 * How many elements of @elem_size bytes record @r holds: len / elem_size
 * for an array record of that element size, 1 for a plain record of
 * exactly @elem_size bytes (so a consumer takes single messages and
 * arrays of them alike). -EINVAL for anything else: @elem_size 0, or a
 * record of another element size or length (the peer's mistake: what to
 * do about it is the caller's choice; the ring itself is fine). Reads only
 * @r, the consumer's checked private copy.
 */
int vamos_record_elements(const struct vamos_record *r, uint32_t elem_size);

/**
 * Whether published records wait beyond those already handed out, without
 * handing any out (for wait loops). Returns 1 or 0, or -EPROTO if the
 * producer's position is bad or the ring is broken.
 */
int vamos_consumer_pending(struct vamos_consumer *c);

/**
 * Give every record handed out so far back to the producer with one store.
 * Their memory may be overwritten from then on.
 */
void vamos_consumer_release(struct vamos_consumer *c);

/**
 * Announce that the consumer wants to sleep, then look once more.
 * Returns 1 if the ring is still empty (sleep until the doorbell: no
 * publish can be missed, because the producer will see the announcement),
 * 0 if records arrived meanwhile (announcement withdrawn: don't sleep),
 * -EPROTO if broken. After waking, call vamos_consumer_awake().
 */
int vamos_consumer_prepare_sleep(struct vamos_consumer *c);

/** Withdraw a sleep announcement (after waking, or on giving up waiting). */
void vamos_consumer_awake(struct vamos_consumer *c);

/** Why the consumer is broken, or NULL while it is healthy. */
static inline const char *vamos_consumer_error(const struct vamos_consumer *c)
{
	return c->broken;
}

#ifdef __cplusplus
}
#endif

#endif /* VAMOS_RING_H */
