/* SPDX-License-Identifier: MIT */
/* Consumer end of a ring: peek in place, release, sleep without losing a
 * wakeup. Everything the producer wrote is checked before it is used. */
#include <errno.h>

#include "layout.h"

static int broken(struct vamos_consumer *c, const char *why)
{
	if (!c->broken)
		c->broken = why;
	return -EPROTO;
}

/* Check a tail the producer published and adopt it. */
static int adopt_tail(struct vamos_consumer *c, uint64_t tail)
{
	/* Trust check: the producer may only move forward, to an aligned
	 * position, and never more than a ring ahead of what we released. */
	if (tail % VAMOS_RECORD_ALIGN)
		return broken(c, "producer position is misaligned");
	if (tail - c->head > c->capacity)
		return broken(c, "producer position outside [released, released + capacity]");
	if (tail - c->cached_tail > tail - c->head)
		return broken(c, "producer position moved backwards");
	c->cached_tail = tail;
	return 0;
}

/* Newly published bytes worth fetching at once. */
#define PREFETCH_BYTES 2048u
/* One prefetch per 128-byte pair of lines: x86's adjacent-line prefetcher
 * brings the other half (the pairing VAMOS_LINE is spaced for). */
#define PREFETCH_STEP VAMOS_LINE

/*
 * Start fetching newly published records past the line pair that holds
 * @from (the tail seen before: peek's first read brings that one in).
 * Each record header says where the next one starts, so without this
 * every cache miss waits for the one before it; with it the misses
 * overlap, as in a bulk copy. Lines fetched at an earlier refresh are not
 * asked for again. A prefetch is only a hint and never faults; addresses
 * stay in the ring.
 */
static void prefetch_published(const struct vamos_consumer *c, uint64_t from)
{
	uint64_t start = (from | (PREFETCH_STEP - 1)) + 1;
	uint64_t bytes = c->cached_tail - start;
	uint32_t off = (uint32_t)(start & c->mask);
	if (bytes > PREFETCH_BYTES)
		bytes = PREFETCH_BYTES;
	if (bytes > c->capacity - off)
		bytes = c->capacity - off;
	for (uint64_t i = 0; i < bytes; i += PREFETCH_STEP)
		__builtin_prefetch(c->data + off + i, 0, 3);
}

static inline __attribute__((always_inline)) int refresh_tail(struct vamos_consumer *c)
{
	uint64_t before = c->cached_tail;
	/* Acquire: pairs with the producer's publish, so every record before
	 * @tail is completely written before we read it. */
	uint64_t tail = atomic_load_explicit(&c->ctrl->tail, memory_order_acquire);
	int rc = adopt_tail(c, tail);
	/* More than a pair of lines new: more than peek's first read brings. */
	if (rc == 0 && tail - before > PREFETCH_STEP)
		prefetch_published(c, before);
	return rc;
}

/*
 * The long way for the record at the cursor (cursor < cached_tail) whose
 * header @word peek loaded (once) and did not pass as a plain record:
 * padding, or a bad header. Returns 0 for padding (cursor moved past it),
 * -EPROTO with the reason for anything else; 1 for a good record (kept for
 * completeness: peek's fast check takes those).
 */
static int take_record(struct vamos_consumer *c, uint64_t word,
		       struct vamos_record *rec)
{
	uint32_t off = (uint32_t)(c->cursor & c->mask);
	uint64_t to_end = c->capacity - off;
	uint64_t avail = c->cached_tail - c->cursor;
	unsigned char *at = c->data + off;
	uint32_t len = (uint32_t)word;
	uint32_t type = (uint32_t)(word >> 32) & 0xffffu;

	if (word >> 48)
		return broken(c, "record header has reserved bits set");
	if (type == VAMOS_TYPE_PADDING) {
		/* Padding always runs exactly to the end of the ring. */
		if ((uint64_t)len + VAMOS_RECORD_HEADER_SIZE != to_end)
			return broken(c, "padding does not end at the ring end");
		if (to_end > avail)
			return broken(c, "padding extends past the published tail");
		/* Nothing handed out waits before it: the padding is given back
		 * at once, so a peek that finds only padding never leaves it
		 * held (the producer may need the whole ring next). */
		bool nothing_held = c->cursor == c->head;
		c->cursor += to_end;
		if (nothing_held)
			vamos_consumer_release(c);
		return 0;
	}
	uint64_t size = vamos_record_size(len);
	if (size > to_end)
		return broken(c, "record crosses the end of the ring");
	if (size > avail)
		return broken(c, "record extends past the published tail");

	rec->data = at + VAMOS_RECORD_HEADER_SIZE;
	rec->len = len;
	rec->type = (uint16_t)type;
	c->cursor += size;
	return 1;
}

/* Bytes from @cursor that records handed out on peek's fast path may take:
 * up to the published tail or the ring's end, whichever comes first.
 * Differences of positions only, so it holds across 64-bit wrap-around. */
static inline uint64_t fast_bytes(const struct vamos_consumer *c, uint64_t cursor)
{
	uint64_t published = c->cached_tail - cursor;
	uint64_t to_end = c->capacity - (cursor & c->mask);
	return published < to_end ? published : to_end;
}

int vamos_consumer_peek(struct vamos_consumer *c, struct vamos_record *out,
			unsigned max)
{
	if (c->broken)
		return -EPROTO;

	/* The producer's position is loaded at most once per call: here if
	 * everything known is handed out already (the common case of a
	 * consumer that keeps up), else below once the known part runs out.
	 * What it publishes meanwhile waits for the next call. */
	bool refreshed = false;
	if (c->cursor == c->cached_tail) {
		if (refresh_tail(c))
			return -EPROTO;
		if (c->cursor == c->cached_tail)
			return 0;
		refreshed = true;
	}

	/* Private copies in registers: stores to @out may alias the handle. */
	unsigned char *const data = c->data;
	const uint64_t mask = c->mask;
	uint64_t cursor = c->cursor, left = fast_bytes(c, cursor);
	struct vamos_record *o = out, *const end = out + max;

	while (o < end) {
		if (__builtin_expect(left == 0, 0)) {
			/* At the ring's end or at the published tail. */
			c->cursor = cursor;
			if (cursor == c->cached_tail) {
				if (refreshed || refresh_tail(c) || cursor == c->cached_tail)
					break;
				refreshed = true;
			}
			left = fast_bytes(c, cursor);
			continue;
		}
		/* Trust check: the header word is loaded once; only the local
		 * copy is used. The cursor is aligned and left > 0, so the
		 * header lies inside the published part of the ring. */
		uint64_t off = cursor & mask;
		uint64_t word = __atomic_load_n((uint64_t *)(data + off), __ATOMIC_RELAXED);
		uint64_t size = vamos_record_size((uint32_t)word);
		/* Trust check, the common case in one go: reserved bits zero,
		 * an application type, and the whole record inside both the
		 * published part and the ring (@left). Anything else (padding
		 * or a bad header) takes the long way, which says what was
		 * wrong. */
		if (__builtin_expect((word >> 32) < VAMOS_TYPE_PADDING && size <= left, 1)) {
			o->data = data + off + VAMOS_RECORD_HEADER_SIZE;
			o->len = (uint32_t)word;
			o->type = (uint16_t)(word >> 32);
			o++;
			cursor += size;
			left -= size;
			continue;
		}
		c->cursor = cursor;
		int rc = take_record(c, word, o);
		cursor = c->cursor;
		if (rc < 0)
			break;
		o += rc;
		left = fast_bytes(c, cursor);
	}
	c->cursor = cursor;
	/* Hand out what was good; a break is reported by the next call. */
	if (o == out && c->broken)
		return -EPROTO;
	return (int)(o - out);
}

int vamos_consumer_pending(struct vamos_consumer *c)
{
	if (c->broken)
		return -EPROTO;
	if (c->cursor == c->cached_tail && refresh_tail(c))
		return -EPROTO;
	return c->cursor != c->cached_tail;
}

void vamos_consumer_release(struct vamos_consumer *c)
{
	if (c->cursor == c->head)
		return;
	/* Release: our reads of every record before the cursor happen before
	 * the producer (acquire in refresh_head) reuses that space. */
	atomic_store_explicit(&c->ctrl->head, c->cursor, memory_order_release);
	c->head = c->cursor;
}

int vamos_consumer_prepare_sleep(struct vamos_consumer *c)
{
	if (c->broken)
		return -EPROTO;
	/* Seq-cst store then seq-cst load: mirrors publish's tail store and
	 * flag load, so either the producer sees the announcement (and rings)
	 * or we see its new tail here (and stay awake). */
	atomic_store_explicit(&c->ctrl->need_wakeup, 1, memory_order_seq_cst);
	uint64_t tail = atomic_load_explicit(&c->ctrl->tail, memory_order_seq_cst);
	if (adopt_tail(c, tail)) {
		vamos_consumer_awake(c);
		return -EPROTO;
	}
	if (c->cursor != c->cached_tail) {
		vamos_consumer_awake(c);
		return 0;
	}
	return 1;
}

void vamos_consumer_awake(struct vamos_consumer *c)
{
	/* Relaxed: only withdraws the announcement; a doorbell the producer
	 * rang meanwhile stays pending and costs one spurious wakeup. */
	atomic_store_explicit(&c->ctrl->need_wakeup, 0, memory_order_relaxed);
}
