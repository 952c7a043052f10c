/* SPDX-License-Identifier: MIT */
/* Region layout: sizes, init, attach and every header check, side state,
 * channels, and position independence across two mappings of one file. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fixture.h"

static const struct vamos_region_params small = {
	.channel_count = 2, .request_capacity = 1024, .reply_capacity = 512,
};

Test(region, size_of_valid_and_invalid_params)
{
	cr_assert_eq(vamos_region_size(&small),
		     VAMOS_HEADER_SIZE + 2 * (2 * VAMOS_RING_CTRL_SIZE + 1024 + 512));
	struct vamos_region_params p = small;
	p.channel_count = 0;
	cr_assert_eq(vamos_region_size(&p), 0);
	p.channel_count = VAMOS_REGION_MAX_CHANNELS + 1;
	cr_assert_eq(vamos_region_size(&p), 0);
	p = small;
	p.request_capacity = 1000;
	cr_assert_eq(vamos_region_size(&p), 0, "not a power of two");
	p.request_capacity = 32;
	cr_assert_eq(vamos_region_size(&p), 0, "below the minimum");
	p.request_capacity = VAMOS_RING_MAX_CAPACITY * 2u;
	cr_assert_eq(vamos_region_size(&p), 0, "above the maximum");
	p = small;
	p.reply_capacity = 0;
	cr_assert_eq(vamos_region_size(&p), 0);
	cr_assert_eq(vamos_region_size(NULL), 0);
}

Test(region, init_refuses_bad_memory_and_params)
{
	struct vamos_region r;
	size_t need = vamos_region_size(&small);
	uint64_t *mem = aligned_alloc(128, need + 128);
	struct vamos_region_params bad = small;
	bad.reply_capacity = 3;

	cr_assert_eq(vamos_region_init(mem, need - 1, &small, &r), -ENOSPC);
	cr_assert_not_null(r.error);
	cr_assert_eq(vamos_region_init((char *)mem + 4, need, &small, &r), -EINVAL);
	cr_assert_eq(vamos_region_init(mem, need, &bad, &r), -EINVAL);
	cr_assert_str_eq(r.error, "ring capacity out of range");
	cr_assert_eq(vamos_region_init(NULL, need, &small, &r), -EINVAL);
	cr_assert_eq(vamos_region_init(mem, need, &small, &r), 0);
	cr_assert_eq(r.size, need);
	free(mem);
}

Test(region, reinit_bumps_epoch_and_clears_rings)
{
	struct fixture f;
	struct vamos_region again, seen;
	fixture_init(&f, 256, 256, 1);
	cr_assert_eq(vamos_producer_send(&f.guest.tx, 1, "x", 1), 0);
	vamos_producer_publish(&f.guest.tx);
	cr_assert_eq(f.host_view.epoch, 1);
	cr_assert_eq(vamos_region_init(f.mem, f.size, &f.host_view.params, &again), 0);
	cr_assert_eq(again.epoch, 2);
	cr_assert_eq(vamos_region_attach(f.mem, f.size, &seen), 0);
	cr_assert_eq(seen.epoch, 2, "a guest can tell the host started over");
	struct vamos_channel ch;
	struct vamos_record rec;
	cr_assert_eq(vamos_channel_open(&again, 0, VAMOS_SIDE_HOST, &ch), 0);
	cr_assert_eq(vamos_consumer_peek(&ch.rx, &rec, 1), 0, "rings are empty");
	fixture_fini(&f);
}

Test(region, a_new_generation_keeps_the_rings_and_tells_the_guest)
{
	struct fixture f;
	struct vamos_region guest_view, again;
	fixture_init(&f, 256, 256, 1);
	cr_assert_eq(vamos_region_attach(f.mem, f.size, &guest_view), 0);
	cr_assert_eq(vamos_region_current(&guest_view), 1);
	cr_assert_eq(vamos_producer_send(&f.guest.tx, 1, "x", 1), 0);
	vamos_producer_publish(&f.guest.tx);

	/* A new host process takes the region over where it stands. */
	struct vamos_region successor;
	cr_assert_eq(vamos_region_attach(f.mem, f.size, &successor), 0);
	vamos_region_bump_generation(&successor);
	cr_assert_eq(successor.generation, 1);
	cr_assert_eq(vamos_region_current(&successor), 1);
	cr_assert_eq(vamos_region_current(&guest_view), 0, "the guest learns it");
	cr_assert(vamos_region_same_layout(&guest_view), "same epoch: rings intact");

	/* Attaching again makes the guest current; the record is still there. */
	cr_assert_eq(vamos_region_attach(f.mem, f.size, &again), 0);
	cr_assert_eq(again.generation, 1);
	cr_assert_eq(vamos_region_current(&again), 1);
	struct vamos_channel ch;
	struct vamos_record rec;
	cr_assert_eq(vamos_channel_open(&successor, 0, VAMOS_SIDE_HOST, &ch), 0);
	cr_assert_eq(vamos_consumer_peek(&ch.rx, &rec, 1), 1);
	cr_assert(rec.len == 1 && ((char *)rec.data)[0] == 'x');

	/* A fresh layout starts the generation over. */
	cr_assert_eq(vamos_region_init(f.mem, f.size, &f.host_view.params, &again), 0);
	cr_assert_eq(again.generation, 0);
	fixture_fini(&f);
}

/* Each header field corrupted in turn: attach refuses with its own reason. */
struct corruption {
	size_t offset;
	uint64_t value;
	int width;
	int err;
	const char *why;
};

static const struct corruption corruptions[] = {
	{offsetof(struct vamos_region_header, magic), 0x1234, 8, -EPROTO,
	 "bad magic: not a vamos region"},
	{offsetof(struct vamos_region_header, layout_version), 2, 4, -ENOTSUP,
	 "unsupported layout version"},
	{offsetof(struct vamos_region_header, features), 1ull << 40, 8, -ENOTSUP,
	 "region uses unknown feature bits"},
	{offsetof(struct vamos_region_header, header_size), 64, 4, -EPROTO,
	 "header size does not match version"},
	{offsetof(struct vamos_region_header, channel_count), 0, 4, -EPROTO,
	 "channel count out of range"},
	{offsetof(struct vamos_region_header, channel_count), 0xffffffff, 4, -EPROTO,
	 "channel count out of range"},
	{offsetof(struct vamos_region_header, channel_count), 3, 4, -EPROTO,
	 "region size does not match its params"},
	{offsetof(struct vamos_region_header, request_capacity), 768, 4, -EPROTO,
	 "ring capacity is not a power of two"},
	{offsetof(struct vamos_region_header, reply_capacity), 0x80000000u, 4, -EPROTO,
	 "ring capacity out of range"},
	{offsetof(struct vamos_region_header, channel_stride), 4096, 4, -EPROTO,
	 "channel stride does not match capacities"},
	{offsetof(struct vamos_region_header, region_size), 1ull << 62, 8, -EPROTO,
	 "region size does not match its params"},
	{offsetof(struct vamos_region_header, side[VAMOS_SIDE_HOST].state), 0, 4,
	 -EAGAIN, "creator has not laid out the region"},
	{offsetof(struct vamos_region_header, side[VAMOS_SIDE_HOST].state), 7, 4,
	 -EAGAIN, "creator has not laid out the region"},
};

Test(region, attach_refuses_corrupt_header)
{
	size_t need = vamos_region_size(&small);
	unsigned char *mem = aligned_alloc(128, need);
	for (size_t i = 0; i < sizeof corruptions / sizeof corruptions[0]; i++) {
		const struct corruption *c = &corruptions[i];
		struct vamos_region host, guest;
		cr_assert_eq(vamos_region_init(mem, need, &small, &host), 0);
		cr_assert_eq(vamos_region_attach(mem, need, &guest), 0);
		if (c->width == 8)
			memcpy(mem + c->offset, &c->value, 8);
		else
			memcpy(mem + c->offset, &(uint32_t){(uint32_t)c->value}, 4);
		cr_assert_eq(vamos_region_attach(mem, need, &guest), c->err,
			     "case %zu (offset %zu): got %s", i, c->offset, guest.error);
		cr_assert_str_eq(guest.error, c->why, "case %zu", i);
	}
	free(mem);
}

Test(region, attach_refuses_short_mapping)
{
	size_t need = vamos_region_size(&small);
	unsigned char *mem = aligned_alloc(128, need);
	struct vamos_region host, guest;
	cr_assert_eq(vamos_region_init(mem, need, &small, &host), 0);
	cr_assert_eq(vamos_region_attach(mem, need - 8, &guest), -ENOSPC);
	cr_assert_eq(vamos_region_attach(mem, 100, &guest), -ENOSPC);
	cr_assert_eq(vamos_region_attach(mem + 4, need - 4, &guest), -EINVAL);
	cr_assert_eq(vamos_region_attach(mem, need + 4096, &guest), 0,
		     "a larger mapping (a power-of-two BAR) is fine");
	cr_assert_eq(guest.size, need);
	free(mem);
}

Test(region, side_state_is_checked)
{
	struct fixture f;
	fixture_init(&f, 256, 256, 1);
	cr_assert_eq(vamos_region_state(&f.guest_view, VAMOS_SIDE_HOST), VAMOS_STATE_READY);
	cr_assert_eq(vamos_region_state(&f.host_view, VAMOS_SIDE_GUEST), VAMOS_STATE_ABSENT);
	vamos_region_set_state(&f.guest_view, VAMOS_SIDE_GUEST, VAMOS_STATE_READY);
	cr_assert_eq(vamos_region_state(&f.host_view, VAMOS_SIDE_GUEST), VAMOS_STATE_READY);
	vamos_region_set_state(&f.guest_view, VAMOS_SIDE_GUEST, VAMOS_STATE_CLOSED);
	cr_assert_eq(vamos_region_state(&f.host_view, VAMOS_SIDE_GUEST), VAMOS_STATE_CLOSED);
	struct vamos_region_header *h = f.mem;
	atomic_store(&h->side[VAMOS_SIDE_GUEST].state, 99);
	cr_assert_eq(vamos_region_state(&f.host_view, VAMOS_SIDE_GUEST), -EPROTO);
	fixture_fini(&f);
}

Test(region, channels_are_independent)
{
	struct fixture f;
	struct vamos_channel g[4], h[4];
	struct vamos_record rec[2];
	fixture_init(&f, 256, 128, 4);
	for (uint32_t i = 0; i < 4; i++) {
		cr_assert_eq(vamos_channel_open(&f.guest_view, i, VAMOS_SIDE_GUEST, &g[i]), 0);
		cr_assert_eq(vamos_channel_open(&f.host_view, i, VAMOS_SIDE_HOST, &h[i]), 0);
		cr_assert_eq(vamos_producer_send(&g[i].tx, (uint16_t)i, &i, 4), 0);
		vamos_producer_publish(&g[i].tx);
	}
	for (uint32_t i = 0; i < 4; i++) {
		cr_assert_eq(vamos_consumer_peek(&h[i].rx, rec, 2), 1);
		cr_assert_eq(rec[0].type, i);
		cr_assert_eq(*(uint32_t *)rec[0].data, i);
		unsigned char *lo = f.mem, *hi = lo + f.size;
		cr_assert((unsigned char *)rec[0].data > lo && (unsigned char *)rec[0].data < hi);
	}
	struct vamos_channel bad;
	cr_assert_eq(vamos_channel_open(&f.host_view, 4, VAMOS_SIDE_HOST, &bad), -EINVAL);
	cr_assert_eq(vamos_channel_open(&f.host_view, 0, (enum vamos_side)2, &bad), -EINVAL);
	fixture_fini(&f);
}

Test(region, open_checks_positions)
{
	struct fixture f;
	struct vamos_channel ch;
	fixture_init(&f, 256, 256, 1);
	struct vamos_ring_ctrl *req = fixture_req_ring(&f);
	atomic_store(&req->tail, 4);
	cr_assert_eq(vamos_channel_open(&f.host_view, 0, VAMOS_SIDE_HOST, &ch), -EPROTO);
	cr_assert_str_eq(vamos_consumer_error(&ch.rx), "ring positions inconsistent at open");
	atomic_store(&req->tail, 264);
	cr_assert_eq(vamos_channel_open(&f.guest_view, 0, VAMOS_SIDE_GUEST, &ch), -EPROTO,
		     "tail more than a ring past head");
	atomic_store(&req->tail, 1000);
	atomic_store(&req->head, 800);
	cr_assert_eq(vamos_channel_open(&f.host_view, 0, VAMOS_SIDE_HOST, &ch), 0,
		     "resuming mid-stream is allowed");
	fixture_fini(&f);
}

/* Two mappings of one shared file at different addresses: the layout holds
 * offsets only, so records cross between them intact. */
Test(region, position_independent_across_mappings)
{
	struct vamos_region_params p = {1, 4096, 4096};
	size_t size = 1u << 16; /* a power of two, as an ivshmem BAR would be */
	int fd = memfd_create("vamos-test", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	unsigned char *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned char *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert(a != MAP_FAILED && b != MAP_FAILED && a != b);

	struct vamos_region host, guest;
	struct vamos_channel hc, gc;
	cr_assert_eq(vamos_region_init(a, size, &p, &host), 0);
	cr_assert_eq(vamos_region_attach(b, size, &guest), 0);
	cr_assert_eq(vamos_channel_open(&host, 0, VAMOS_SIDE_HOST, &hc), 0);
	cr_assert_eq(vamos_channel_open(&guest, 0, VAMOS_SIDE_GUEST, &gc), 0);

	struct vamos_record rec[64];
	uint64_t expect = 0;
	for (uint64_t seq = 0; seq < 5000; seq++) {
		unsigned char buf[300];
		uint32_t len = (uint32_t)(seq % 300);
		fill_pattern(buf, seq, len);
		while (vamos_producer_send(&gc.tx, 1, buf, len) == -EAGAIN) {
			vamos_producer_publish(&gc.tx);
			int n = vamos_consumer_peek(&hc.rx, rec, 64);
			for (int i = 0; i < n; i++, expect++) {
				cr_assert_eq(rec[i].len, expect % 300);
				cr_assert(check_pattern(rec[i].data, expect, rec[i].len));
				cr_assert((unsigned char *)rec[i].data >= a &&
					  (unsigned char *)rec[i].data < a + size);
			}
			vamos_consumer_release(&hc.rx);
		}
	}
	vamos_producer_publish(&gc.tx);
	int n;
	while ((n = vamos_consumer_peek(&hc.rx, rec, 64)) > 0) {
		for (int i = 0; i < n; i++, expect++)
			cr_assert(check_pattern(rec[i].data, expect, rec[i].len));
		vamos_consumer_release(&hc.rx);
	}
	cr_assert_eq(expect, 5000);
	munmap(a, size);
	munmap(b, size);
	close(fd);
}
