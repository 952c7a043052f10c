/* SPDX-License-Identifier: MIT */
/* Producer end of a ring: reserve, commit, publish. */
#include <errno.h>
#include <string.h>

#include "layout.h"
#include "vamos_copy.h"

static int broken(struct vamos_producer *p, const char *why)
{
	if (!p->broken)
		p->broken = why;
	return -EPROTO;
}

/*
 * Re-read the consumer's position. Only called when the cached one says the
 * ring lacks room, so the consumer's line is touched once per wrap, not once
 * per record.
 */
static int refresh_head(struct vamos_producer *p)
{
	/* Acquire: the consumer finished reading every record before @head
	 * (its release in vamos_consumer_release), so we may overwrite them. */
	uint64_t head = atomic_load_explicit(&p->ctrl->head, memory_order_acquire);

	/* Trust check: the consumer may only move forward, to an aligned
	 * position, and never past what we published. */
	if (head % VAMOS_RECORD_ALIGN)
		return broken(p, "consumer position is misaligned");
	if (head - p->cached_head > p->published - p->cached_head)
		return broken(p, "consumer position outside [previous, published]");
	p->cached_head = head;
	return 0;
}

/* 0 if @bytes more fit after the private tail, -EAGAIN if not (yet). */
static int make_room(struct vamos_producer *p, uint64_t bytes)
{
	if (p->tail + bytes - p->cached_head <= p->capacity)
		return 0;
	int rc = refresh_head(p);
	if (rc)
		return rc;
	return p->tail + bytes - p->cached_head <= p->capacity ? 0 : -EAGAIN;
}

int vamos_producer_reserve_slowpath(struct vamos_producer *p, uint32_t len,
				    void **payload)
{
	if (p->broken)
		return -EPROTO;
	if (p->open)
		return -EBUSY;
	if (len > vamos_ring_max_payload(p->capacity))
		return -EMSGSIZE;

	uint64_t need = vamos_record_size(len);
	uint32_t to_end = p->capacity - (uint32_t)(p->tail & p->mask);
	int rc;

	if (need > to_end) {
		/* A record never wraps: pad the tail end, start over at 0. */
		if ((rc = make_room(p, to_end)))
			return rc;
		vamos_producer_put_header_(p, p->tail,
					   to_end - VAMOS_RECORD_HEADER_SIZE,
					   VAMOS_TYPE_PADDING);
		p->tail += to_end;
	}
	if ((rc = make_room(p, need)))
		return rc;

	p->open = true;
	p->open_at = p->tail;
	p->open_len = len;
	*payload = p->data + (p->tail & p->mask) + VAMOS_RECORD_HEADER_SIZE;
	return 0;
}

/*
 * 0 if @bytes more fit after p->tail by the cached consumer position; else
 * re-read it, at most once per burst (*refreshed), and say again: 0,
 * -EAGAIN, or -EPROTO if the position read is bad.
 */
static int burst_fit(struct vamos_producer *p, uint64_t bytes, bool *refreshed)
{
	if (p->tail + bytes - p->cached_head <= p->capacity)
		return 0;
	if (*refreshed)
		return -EAGAIN;
	*refreshed = true;
	int rc = refresh_head(p);
	if (rc)
		return rc;
	return p->tail + bytes - p->cached_head <= p->capacity ? 0 : -EAGAIN;
}

/*
 * Out-of-line part of send_burst, for a record of @size bytes that does not
 * fit in the bytes the burst knew were left: pad the tail end if the record
 * would cross it, and look at the consumer's position if the cached one
 * leaves no room. 0 when the record now fits at p->tail, -EAGAIN, -EPROTO.
 */
static int burst_make_room(struct vamos_producer *p, uint64_t size,
			   bool *refreshed)
{
	uint64_t to_end = p->capacity - (p->tail & p->mask);
	int rc;
	if (size > to_end) {
		/* A record never wraps: pad the tail end, start over at 0
		 * (the padding stays committed even if the record waits). */
		if ((rc = burst_fit(p, to_end, refreshed)))
			return rc;
		vamos_producer_put_header_(p, p->tail,
					   (uint32_t)to_end - VAMOS_RECORD_HEADER_SIZE,
					   VAMOS_TYPE_PADDING);
		p->tail += to_end;
	}
	return burst_fit(p, size, refreshed);
}

/* Bytes from p->tail the burst's next records may take without a look at
 * the consumer: up to the ring's end or the room the cached consumer
 * position leaves, whichever comes first. Differences of positions only,
 * so it holds across 64-bit wrap-around. */
static uint64_t burst_bytes(const struct vamos_producer *p)
{
	uint64_t to_end = p->capacity - (p->tail & p->mask);
	uint64_t room = p->capacity - (p->tail - p->cached_head);
	return to_end < room ? to_end : room;
}


int vamos_producer_send_burst(struct vamos_producer *p,
			      const struct vamos_msg *msgs, unsigned n)
{
	if (p->broken)
		return -EPROTO;
	if (p->open)
		return -EBUSY;

	/* Private copies in registers: the payload stores below may alias
	 * anything, so fields read through @p would be reloaded per record. */
	unsigned char *const data = p->data;
	const uint64_t mask = p->mask;
	const uint32_t max_len = vamos_ring_max_payload(p->capacity);
	uint64_t tail = p->tail, left = burst_bytes(p);
	bool refreshed = false;
	int err = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		const uint32_t len = msgs[i].len;
		const uint16_t type = msgs[i].type;
		if (__builtin_expect(type > VAMOS_RECORD_TYPE_MAX || len > max_len, 0)) {
			err = type > VAMOS_RECORD_TYPE_MAX ? -EINVAL : -EMSGSIZE;
			break;
		}
		const uint64_t size = vamos_record_size(len);
		/* One compare for both limits: before the ring's end and within
		 * the room the consumer left (burst_bytes). */
		if (__builtin_expect(size > left, 0)) {
			p->tail = tail;
			err = burst_make_room(p, size, &refreshed);
			tail = p->tail;
			if (err)
				break;
			left = burst_bytes(p);
		}
		/* Header: one plain 8-byte store, like the payload's; publish's
		 * release orders both before the tail that covers them. */
		unsigned char *at = data + (tail & mask);
		uint64_t word = vamos_record_header(len, type);
		memcpy(at, &word, sizeof word);
		vamos_copy_short(at + VAMOS_RECORD_HEADER_SIZE, msgs[i].data, len);
		tail += size;
		left -= size;
	}
	p->tail = tail;
	return i ? (int)i : err;
}

/* Write an array record of @bytes payload bytes (whole elements of
 * @elem_size) at p->tail, which the caller made sure has room, and commit it. */
static inline void put_array(struct vamos_producer *p, uint16_t type,
			     const void *elems, uint16_t elem_size, uint32_t bytes)
{
	unsigned char *at = p->data + (p->tail & p->mask);
	/* Header: a plain store, like the payload's; publish's release
	 * orders both before the tail that covers them. */
	uint64_t word = vamos_array_header(bytes, type, elem_size);
	memcpy(at, &word, sizeof word);
	memcpy(at + VAMOS_RECORD_HEADER_SIZE, elems, bytes);
	p->tail += vamos_record_size(bytes);
}

/*
 * Out-of-line part of send_array, for @n (>= 1) elements that do not all
 * fit at p->tail by the cached consumer position: cut the array to what
 * one record can hold, look at the consumer's position once, and send the
 * elements that fit before the ring's end, or pad the end and send those
 * that fit from offset 0.
 */
static int send_array_slowpath(struct vamos_producer *p, uint16_t type,
			       const void *elems, uint32_t elem_size, uint32_t n)
{
	const uint32_t max_payload = vamos_ring_max_payload(p->capacity);
	if (elem_size > max_payload)
		return -EMSGSIZE;
	if (n > max_payload / elem_size)
		n = max_payload / elem_size;
	uint64_t want = vamos_record_size(n * elem_size); /* <= max_payload: no overflow */
	const uint64_t one = vamos_record_size(elem_size);
	int rc;

	if (burst_bytes(p) < want && (rc = refresh_head(p)))
		return rc;
	uint64_t room = burst_bytes(p);
	if (room < one) {
		uint64_t to_end = p->capacity - (p->tail & p->mask);
		uint64_t free = p->capacity - (p->tail - p->cached_head);
		/* The consumer's position is the limit, not the ring's end. */
		if (to_end >= free)
			return -EAGAIN;
		/* A record never wraps: pad the tail end, start over at 0
		 * (the padding stays committed even if the array waits). */
		vamos_producer_put_header_(p, p->tail,
					   (uint32_t)to_end - VAMOS_RECORD_HEADER_SIZE,
					   VAMOS_TYPE_PADDING);
		p->tail += to_end;
		room = burst_bytes(p);
		if (room < one)
			return -EAGAIN;
	}
	/* @room is a multiple of 8, so k elements fit whenever their
	 * unrounded record (header + k * elem_size) does. */
	uint64_t fit = (room - VAMOS_RECORD_HEADER_SIZE) / elem_size;
	if (fit < n)
		n = (uint32_t)fit;
	put_array(p, type, elems, (uint16_t)elem_size, n * elem_size);
	return (int)n;
}

int vamos_producer_send_array(struct vamos_producer *p, uint16_t type,
			      const void *elems, uint32_t elem_size, uint32_t n)
{
	if (p->broken)
		return -EPROTO;
	if (p->open)
		return -EBUSY;
	if (type > VAMOS_RECORD_TYPE_MAX || elem_size == 0 ||
	    elem_size > VAMOS_ARRAY_ELEM_MAX)
		return -EINVAL;
	if (n == 0)
		return 0;
	/* The common case: all @n fit before the ring's end and within the
	 * room the cached consumer position leaves (which also bounds the
	 * record by the ring, so the length fits its 32 bits). */
	uint64_t bytes = (uint64_t)n * elem_size; /* < 2^48: no overflow */
	uint64_t size = (bytes + VAMOS_RECORD_HEADER_SIZE + VAMOS_RECORD_ALIGN - 1) &
			~(uint64_t)(VAMOS_RECORD_ALIGN - 1);
	if (__builtin_expect(size <= burst_bytes(p), 1)) {
		/* Fits a ring of at most 1 GiB: @n < 2^30 fits the int. */
		put_array(p, type, elems, (uint16_t)elem_size, (uint32_t)bytes);
		return (int)n;
	}
	return send_array_slowpath(p, type, elems, elem_size, n);
}

void vamos_producer_abort(struct vamos_producer *p)
{
	p->open = false;
}

int vamos_producer_send(struct vamos_producer *p, uint16_t type,
			const void *src, uint32_t len)
{
	void *dst;
	if (type > VAMOS_RECORD_TYPE_MAX)
		return -EINVAL;
	int rc = vamos_producer_reserve(p, len, &dst);
	if (rc)
		return rc;
	if (len)
		memcpy(dst, src, len);
	return vamos_producer_commit(p, type, len);
}

int vamos_producer_publish(struct vamos_producer *p)
{
	if (p->broken)
		return -EPROTO;
	/* Nothing new: a sleeping consumer has nothing to wake up for. */
	if (p->tail == p->published)
		return 0;
	/* Seq-cst store: releases every record before @tail to the consumer,
	 * and is ordered before the need_wakeup load below (the store-load
	 * pair that vamos_consumer_prepare_sleep mirrors), so either the
	 * consumer sees this tail or we see its announcement. */
	atomic_store_explicit(&p->ctrl->tail, p->tail, memory_order_seq_cst);
	p->published = p->tail;
	/* Seq-cst load: see above. A plain load first keeps the flag's line
	 * shared while the consumer is awake; only a set flag is exchanged. */
	if (!atomic_load_explicit(&p->ctrl->need_wakeup, memory_order_seq_cst))
		return 0;
	/* Take the announcement so one sleep costs one doorbell. The flag is
	 * the peer's word: any non-zero value means "ring". */
	return atomic_exchange_explicit(&p->ctrl->need_wakeup, 0,
					memory_order_relaxed) != 0;
}

int64_t vamos_producer_room(struct vamos_producer *p)
{
	if (p->broken)
		return -EPROTO;
	if (p->open)
		return 0;
	int rc = refresh_head(p);
	if (rc)
		return rc;
	uint64_t free = p->capacity - (p->tail - p->cached_head);
	uint64_t to_end = p->capacity - (p->tail & p->mask);
	/* A record never wraps: it goes before the ring's end, or after a
	 * padding record that takes the rest of the tail end. */
	uint64_t before_end = free < to_end ? free : to_end;
	uint64_t after_wrap = free > to_end ? free - to_end : 0;
	uint64_t best = before_end > after_wrap ? before_end : after_wrap;
	if (best < VAMOS_RECORD_HEADER_SIZE)
		return 0;
	/* Positions stay aligned, so @best is a whole number of records. */
	uint64_t payload = best - VAMOS_RECORD_HEADER_SIZE;
	uint32_t max = vamos_ring_max_payload(p->capacity);
	return payload < max ? (int64_t)payload : (int64_t)max;
}

int64_t vamos_producer_free_bytes(struct vamos_producer *p)
{
	if (p->broken)
		return -EPROTO;
	int rc = refresh_head(p);
	if (rc)
		return rc;
	return (int64_t)p->capacity - (int64_t)(p->tail - p->cached_head);
}
