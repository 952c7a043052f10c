/* SPDX-License-Identifier: MIT */
/* Consumer end of a ring: peek in place, release, sleep without losing a
 * wakeup. Everything the producer wrote is checked before it is used. */
#include <errno.h>
#include <string.h>

#include "layout.h"

/* Peek's fast path hands a plain record's length, type and element size (0)
 * out as the header word itself: one 8-byte store in the same order. */
_Static_assert(offsetof(struct vamos_record, len) == 8 &&
	       offsetof(struct vamos_record, type) == 12 &&
	       offsetof(struct vamos_record, elem_size) == 14 &&
	       sizeof(struct vamos_record) == 16,
	       "len, type, elem_size are the header word's fields in order");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the header is a little-endian word");

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

/*
 * Start fetching the two lines where the next record will land, before the
 * tail is loaded: a consumer waiting for records otherwise sees the tail
 * move and only then asks for the record, cache misses one after the
 * other; with this they overlap (doc/ring.md, "What a polling round trip
 * costs"). While the ring stays empty the lines are cached and a prefetch
 * is an L1 hit. Only a hint: it never faults and reads no peer value into
 * anything; both addresses are in the ring (masked positions).
 */
static inline void prefetch_next(const struct vamos_consumer *c)
{
	/* A header and a 64-byte payload span two 64-byte lines; the second
	 * wraps to the ring's start rather than leave it (no branch). */
	__builtin_prefetch(c->data + (c->cursor & c->mask), 0, 3);
	__builtin_prefetch(c->data + ((c->cursor + 64) & c->mask), 0, 3);
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
 * padding, an array record (taken only when @arrays), or a bad header.
 * Returns 0 for padding (cursor moved past it), 1 for a good record
 * (arrays; plain ones too, though peek's fast check takes those), -EPROTO
 * with the reason for anything else.
 */
static int take_record(struct vamos_consumer *c, uint64_t word,
		       struct vamos_record *rec, bool arrays)
{
	uint32_t off = (uint32_t)(c->cursor & c->mask);
	uint64_t to_end = c->capacity - off;
	uint64_t avail = c->cached_tail - c->cursor;
	unsigned char *at = c->data + off;
	uint32_t len = (uint32_t)word;
	uint32_t type = (uint32_t)(word >> 32) & 0xffffu;
	uint32_t elem_size = (uint32_t)(word >> 48);

	/* Trust check: bits 48-63 are an element size, which only a consumer
	 * that takes array records accepts (to any other they are reserved). */
	if (elem_size && !arrays)
		return broken(c, "record header has reserved bits set");
	/* Trust check: padding is never an array. */
	if (elem_size && type == VAMOS_TYPE_PADDING)
		return broken(c, "padding has an element size");
	/* Trust check: an array holds a whole, non-zero number of elements
	 * (elem_size is non-zero here, so no division by zero). */
	if (elem_size && len == 0)
		return broken(c, "array record holds no elements");
	if (elem_size && len % elem_size)
		return broken(c, "array record's length is not a whole number of elements");
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
	rec->elem_size = (uint16_t)elem_size;
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

/* Whether header @word is a good array record's as far as the header
 * alone says: an element size, an application type, a whole, non-zero
 * number of elements (bounds are the caller's). */
static inline bool array_header_ok(uint64_t word)
{
	uint32_t len = (uint32_t)word;
	uint32_t type = (uint32_t)(word >> 32) & 0xffffu;
	uint32_t elem_size = (uint32_t)(word >> 48);
	/* elem_size is tested first: no division by zero. */
	return elem_size != 0 && type != VAMOS_TYPE_PADDING && len != 0 &&
	       len % elem_size == 0;
}

/* vamos_consumer_peek and, with @arrays, vamos_consumer_peek_arrays: one
 * body, specialised for each (the flag is a constant in each). */
static inline __attribute__((always_inline)) int
peek(struct vamos_consumer *c, struct vamos_record *out, unsigned max, bool arrays)
{
	if (c->broken)
		return -EPROTO;

	/* The producer's position is loaded at most once per call: here if
	 * everything known is handed out already (the common case of a
	 * consumer that keeps up), else below once the known part runs out.
	 * What it publishes meanwhile waits for the next call. */
	bool refreshed = false;
	if (c->cursor == c->cached_tail) {
		prefetch_next(c);
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
		/* Trust check, the common case in one go: reserved bits zero
		 * and an application type (or, for peek_arrays, a header
		 * array_header_ok accepts), and the whole record inside both
		 * the published part and the ring (@left). Anything else
		 * (padding or a bad header) takes the long way, which says
		 * what was wrong. */
		if (__builtin_expect(((word >> 32) < VAMOS_TYPE_PADDING ||
				      (arrays && array_header_ok(word))) &&
					     size <= left,
				     1)) {
			o->data = data + off + VAMOS_RECORD_HEADER_SIZE;
			/* len, type and elem_size (0 for a plain record). */
			memcpy((unsigned char *)o + offsetof(struct vamos_record, len),
			       &word, sizeof word);
			o++;
			cursor += size;
			left -= size;
			continue;
		}
		c->cursor = cursor;
		int rc = take_record(c, word, o, arrays);
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

int vamos_consumer_peek(struct vamos_consumer *c, struct vamos_record *out,
			unsigned max)
{
	return peek(c, out, max, false);
}

int vamos_consumer_peek_arrays(struct vamos_consumer *c,
			       struct vamos_record *out, unsigned max)
{
	return peek(c, out, max, true);
}

int vamos_record_elements(const struct vamos_record *r, uint32_t elem_size)
{
	if (elem_size == 0)
		return -EINVAL;
	if (r->elem_size == 0)
		return r->len == elem_size ? 1 : -EINVAL;
	/* peek_arrays checked that len is a whole number of elements. */
	if (r->elem_size != elem_size)
		return -EINVAL;
	return (int)(r->len / elem_size);
}

int vamos_consumer_pending(struct vamos_consumer *c)
{
	if (c->broken)
		return -EPROTO;
	if (c->cursor == c->cached_tail) {
		prefetch_next(c);
		if (refresh_tail(c))
			return -EPROTO;
	}
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
