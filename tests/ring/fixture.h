/* SPDX-License-Identifier: MIT */
/* Test helpers: a region in private memory, sized exactly so that ASan
 * catches any read outside it, with both ends of its channels open. */
#ifndef VAMOS_TEST_FIXTURE_H
#define VAMOS_TEST_FIXTURE_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "vamos/ring.h"
#include "../../ring/layout.h"

struct fixture {
	void *mem;
	size_t size;
	struct vamos_region host_view, guest_view;
	struct vamos_channel host, guest; /* channel 0 from each side */
};

static inline void fixture_init(struct fixture *f, uint32_t req_cap,
				uint32_t rep_cap, uint32_t channels)
{
	struct vamos_region_params p = {
		.channel_count = channels,
		.request_capacity = req_cap,
		.reply_capacity = rep_cap,
	};
	f->size = vamos_region_size(&p);
	cr_assert_gt(f->size, 0);
	f->mem = aligned_alloc(VAMOS_LINE, (f->size + VAMOS_LINE - 1) / VAMOS_LINE * VAMOS_LINE);
	cr_assert_not_null(f->mem);
	memset(f->mem, 0, f->size);
	cr_assert_eq(vamos_region_init(f->mem, f->size, &p, &f->host_view), 0);
	cr_assert_eq(vamos_region_attach(f->mem, f->size, &f->guest_view), 0,
		     "attach: %s", f->guest_view.error);
	cr_assert_eq(vamos_channel_open(&f->host_view, 0, VAMOS_SIDE_HOST, &f->host), 0);
	cr_assert_eq(vamos_channel_open(&f->guest_view, 0, VAMOS_SIDE_GUEST, &f->guest), 0);
}

static inline void fixture_fini(struct fixture *f)
{
	free(f->mem);
}

/* Shared control block of channel 0's request ring, to play a hostile peer. */
static inline struct vamos_ring_ctrl *fixture_req_ring(struct fixture *f)
{
	return vamos_ring_at(f->mem, &f->host_view.params, 0, 0);
}

/* Deterministic payload bytes for record @seq. */
static inline unsigned char pattern_byte(uint64_t seq, uint32_t i)
{
	return (unsigned char)(seq * 131u + i * 7u + 1u);
}

static inline void fill_pattern(void *dst, uint64_t seq, uint32_t len)
{
	unsigned char *d = dst;
	for (uint32_t i = 0; i < len; i++)
		d[i] = pattern_byte(seq, i);
}

static inline int check_pattern(const void *src, uint64_t seq, uint32_t len)
{
	const unsigned char *s = src;
	for (uint32_t i = 0; i < len; i++)
		if (s[i] != pattern_byte(seq, i))
			return 0;
	return 1;
}

#endif
