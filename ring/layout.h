/* SPDX-License-Identifier: MIT */
/*
 * The bytes both sides share: region header, ring control blocks, records.
 * Layout version 1. Everything is an offset from the region base, so each
 * side may map the region at any address.
 *
 *   0      region header            (VAMOS_HEADER_SIZE bytes)
 *   H      channel 0: request ring control + data, reply ring control + data
 *   H+S    channel 1 ...            (S = channel stride, same for all)
 *
 * A ring control block is three lines, each written by one side only and
 * spaced 128 bytes apart (adjacent-line prefetch on x86 pairs 64-byte lines):
 *   tail line   producer writes its position
 *   head line   consumer writes its position
 *   wake line   consumer sets need_wakeup before sleeping; producer clears it
 *               when it takes the announcement and rings the doorbell
 */
#ifndef VAMOS_RING_LAYOUT_H
#define VAMOS_RING_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vamos/ring.h"

#define VAMOS_LINE 128u

/* Lines are separated by explicit padding, not _Alignas: the structs then
 * need only 8-byte alignment, which is all a peer's mapping promises; with a
 * page-aligned mapping (mmap, a PCI BAR) each field also has its own line. */
struct vamos_side_slot {
	_Atomic uint32_t state; /* enum vamos_side_state, written by that side */
	/* Host slot: bumped by each process that takes the region over after
	 * its predecessor died (vamos_region_bump_generation); guest slot: 0. */
	_Atomic uint32_t generation;
	/* Host slot: advanced by a healthy host (vamos_region_beat), 0 while
	 * it publishes none; guest slot: 0. Was padding (zero) before, so
	 * the layout version did not change. */
	_Atomic uint64_t heartbeat;
	unsigned char pad_[VAMOS_LINE - 16];
};

struct vamos_region_header {
	uint64_t magic;            /* VAMOS_REGION_MAGIC */
	uint32_t layout_version;   /* VAMOS_REGION_LAYOUT_VERSION */
	uint32_t header_size;      /* bytes before channel 0 */
	uint64_t region_size;      /* bytes laid out */
	uint64_t features;         /* feature bits, must be known */
	uint64_t epoch;            /* bumped by every init */
	uint32_t channel_count;
	uint32_t request_capacity;
	uint32_t reply_capacity;
	uint32_t channel_stride;   /* bytes per channel, must match params */
	unsigned char pad_[VAMOS_LINE - 56];
	struct vamos_side_slot side[2];
};

struct vamos_ring_ctrl {
	_Atomic uint64_t tail;        /* producer-owned */
	unsigned char pad0_[VAMOS_LINE - 8];
	_Atomic uint64_t head;        /* consumer-owned */
	unsigned char pad1_[VAMOS_LINE - 8];
	_Atomic uint32_t need_wakeup; /* see file comment */
	unsigned char pad2_[VAMOS_LINE - 4];
	unsigned char data[];         /* capacity bytes */
};

#define VAMOS_HEADER_SIZE ((uint32_t)sizeof(struct vamos_region_header))
#define VAMOS_RING_CTRL_SIZE ((uint32_t)sizeof(struct vamos_ring_ctrl))

/* Record type of the padding that fills a ring's tail end (see
 * vamos_record_header for the word a record header is). */
#define VAMOS_TYPE_PADDING 0xffffu

_Static_assert(sizeof(struct vamos_side_slot) == VAMOS_LINE, "slot is a line");
_Static_assert(offsetof(struct vamos_region_header, pad_) == 56, "fields fill 56 bytes");
_Static_assert(sizeof(struct vamos_region_header) == 3 * VAMOS_LINE,
	       "header is three lines");
_Static_assert(sizeof(struct vamos_ring_ctrl) == 3 * VAMOS_LINE,
	       "ring control is three lines, data follows");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
	       "shared atomics must be lock-free, hence address-free");

/* Bytes one ring with @capacity data bytes occupies: rounded up to whole
 * lines, so every control block starts on a line boundary of the region. */
static inline uint64_t vamos_ring_bytes(uint32_t capacity)
{
	uint64_t data = ((uint64_t)capacity + VAMOS_LINE - 1) & ~(uint64_t)(VAMOS_LINE - 1);
	return (uint64_t)VAMOS_RING_CTRL_SIZE + data;
}

/* Ring control block for @side's receive or send direction of channel @i. */
static inline struct vamos_ring_ctrl *
vamos_ring_at(unsigned char *base, const struct vamos_region_params *p,
	      uint32_t i, int reply_ring)
{
	uint64_t stride = vamos_ring_bytes(p->request_capacity) +
			  vamos_ring_bytes(p->reply_capacity);
	uint64_t off = VAMOS_HEADER_SIZE + (uint64_t)i * stride;
	if (reply_ring)
		off += vamos_ring_bytes(p->request_capacity);
	return (struct vamos_ring_ctrl *)(base + off);
}

#endif /* VAMOS_RING_LAYOUT_H */
