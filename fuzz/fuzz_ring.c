/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes as ring memory written by a hostile
 * guest, read by the host side of libvamos-ring.
 *
 * First byte 'A': the rest is a region header (and whatever follows) to
 * attach to; if attach accepts it, every channel is opened and drained.
 * Otherwise: a valid region is laid out and the bytes are a program of
 * operations that interleave hostile writes anywhere in the channel with
 * the host's consumer and producer calls and the guest's legitimate ones.
 *
 * The host reads with vamos_consumer_peek or vamos_consumer_peek_arrays,
 * and both sides send array records too (vamos_producer_send_array).
 *
 * The invariants checked here are the library's promises: nothing handed
 * out lies outside the ring's data area, an array record handed out is a
 * whole, non-zero number of elements (and plain peek hands out none), a
 * broken handle stays broken, and
 * (through ASan, the region being allocated to its exact size) nothing is
 * read or written outside the region.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../ring/layout.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void check_records(const struct vamos_consumer *c,
			  const struct vamos_record *rec, int n, bool arrays)
{
	for (int i = 0; i < n; i++) {
		const unsigned char *d = rec[i].data;
		CHECK(d >= c->data + VAMOS_RECORD_HEADER_SIZE);
		CHECK(d + rec[i].len <= c->data + c->capacity);
		CHECK(rec[i].type <= VAMOS_RECORD_TYPE_MAX);
		uint32_t e = rec[i].elem_size;
		CHECK(arrays || e == 0);
		if (e) {
			CHECK(rec[i].len > 0 && rec[i].len % e == 0);
			CHECK(vamos_record_elements(&rec[i], e) == (int)(rec[i].len / e));
		} else {
			CHECK(vamos_record_elements(&rec[i], rec[i].len ? rec[i].len : 1) ==
			      (rec[i].len ? 1 : -EINVAL));
		}
		volatile unsigned char sink = 0;
		for (uint32_t k = 0; k < rec[i].len; k += 64)
			sink ^= d[k]; /* touch the payload: ASan checks bounds */
		(void)sink;
	}
}

static int peek_with(struct vamos_consumer *c, struct vamos_record *rec,
		     unsigned max, bool arrays)
{
	return arrays ? vamos_consumer_peek_arrays(c, rec, max)
		      : vamos_consumer_peek(c, rec, max);
}

static void drain(struct vamos_consumer *c, bool arrays)
{
	struct vamos_record rec[16];
	for (int round = 0; round < 64; round++) {
		int n = peek_with(c, rec, 16, arrays);
		if (n < 0) {
			CHECK(vamos_consumer_error(c) != NULL);
			CHECK(peek_with(c, rec, 16, arrays) == -EPROTO);
			return;
		}
		if (n == 0)
			return;
		check_records(c, rec, n, arrays);
		vamos_consumer_release(c);
	}
}

static void fuzz_attach(const uint8_t *data, size_t size)
{
	unsigned char *mem = aligned_alloc(8, size ? (size + 7) & ~(size_t)7 : 8);
	memset(mem, 0, (size + 7) & ~(size_t)7);
	memcpy(mem, data, size);
	struct vamos_region r;
	if (vamos_region_attach(mem, size, &r) == 0) {
		CHECK(r.size <= size);
		uint32_t n = r.params.channel_count < 8 ? r.params.channel_count : 8;
		for (uint32_t i = 0; i < n; i++) {
			struct vamos_channel ch;
			if (vamos_channel_open(&r, i, VAMOS_SIDE_HOST, &ch) == 0)
				drain(&ch.rx, i % 2);
		}
	} else {
		CHECK(r.error != NULL);
	}
	free(mem);
}

static uint64_t take(const uint8_t **p, const uint8_t *end, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes && *p < end; i++, (*p)++)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

static void fuzz_program(const uint8_t *data, size_t size)
{
	const struct vamos_region_params params = {1, 256, 128};
	size_t rsize = vamos_region_size(&params);
	unsigned char *mem = aligned_alloc(128, rsize);
	struct vamos_region host, guest;
	struct vamos_channel h, g;
	CHECK(vamos_region_init(mem, rsize, &params, &host) == 0);
	CHECK(vamos_region_attach(mem, rsize, &guest) == 0);
	CHECK(vamos_channel_open(&host, 0, VAMOS_SIDE_HOST, &h) == 0);
	CHECK(vamos_channel_open(&guest, 0, VAMOS_SIDE_GUEST, &g) == 0);
	unsigned char *chan = mem + VAMOS_HEADER_SIZE;
	size_t chan_size = rsize - VAMOS_HEADER_SIZE;

	const uint8_t *p = data, *end = data + size;
	struct vamos_record rec[16];
	unsigned char buf[256] = {0};
	void *slot;
	while (p < end) {
		switch (take(&p, end, 1) % 14) {
		case 0: { /* hostile write of 8 bytes anywhere in the channel */
			size_t off = (take(&p, end, 2) * 8) % chan_size;
			uint64_t v = take(&p, end, 8);
			memcpy(chan + off, &v, 8);
			break;
		}
		case 1: { /* hostile write of a small position value */
			size_t off = (take(&p, end, 2) * 8) % chan_size;
			uint64_t v = take(&p, end, 2);
			memcpy(chan + off, &v, 8);
			break;
		}
		case 2: { /* the host reads, taking arrays or not */
			unsigned b = (unsigned)take(&p, end, 1);
			unsigned max = 1 + b % 16;
			bool arrays = b & 16;
			int n = peek_with(&h.rx, rec, max, arrays);
			CHECK(n <= (int)max);
			if (n > 0)
				check_records(&h.rx, rec, n, arrays);
			else if (n < 0)
				CHECK(vamos_consumer_error(&h.rx) != NULL);
			break;
		}
		case 3:
			vamos_consumer_release(&h.rx);
			break;
		case 4:
			if (vamos_consumer_prepare_sleep(&h.rx) >= 0)
				vamos_consumer_awake(&h.rx);
			break;
		case 5: { /* host replies: reads the guest-written head */
			uint32_t len = (uint32_t)take(&p, end, 1) % 121;
			int rc = vamos_producer_reserve(&h.tx, len, &slot);
			if (rc == 0) {
				memset(slot, 0xab, len);
				CHECK(vamos_producer_commit(&h.tx, 1, len) == 0);
			} else {
				CHECK(rc == -EAGAIN || rc == -EPROTO);
			}
			rc = vamos_producer_publish(&h.tx);
			CHECK(rc >= -EPROTO && rc <= 1);
			break;
		}
		case 6: {
			int64_t free_bytes = vamos_producer_free_bytes(&h.tx);
			CHECK(free_bytes == -EPROTO || (free_bytes >= 0 && free_bytes <= 128));
			break;
		}
		case 7: { /* the guest's own, legitimate traffic */
			uint32_t len = (uint32_t)take(&p, end, 1);
			if (len <= vamos_ring_max_payload(256))
				vamos_producer_send(&g.tx, 2, buf, len);
			vamos_producer_publish(&g.tx);
			break;
		}
		case 8: /* the guest consumes replies */
			if (vamos_consumer_peek(&g.rx, rec, 16) > 0)
				vamos_consumer_release(&g.rx);
			break;
		case 10: { /* host replies in a burst: reads the guest-written head */
			struct vamos_msg m[8];
			unsigned n = (unsigned)take(&p, end, 1) % 9;
			for (unsigned i = 0; i < n; i++)
				m[i] = (struct vamos_msg){ .data = buf,
					.len = (uint32_t)take(&p, end, 1) % 130,
					.type = (uint16_t)(take(&p, end, 1) == 0xff ? 0xffff : 1) };
			int rc = vamos_producer_send_burst(&h.tx, m, n);
			/* 0 only for an empty burst; else a count or a reason. */
			CHECK(rc <= (int)n);
			CHECK(rc == 0 ? n == 0 : rc > 0 || rc == -EAGAIN || rc == -EPROTO ||
			      rc == -EINVAL || rc == -EMSGSIZE);
			CHECK(h.tx.broken || h.tx.tail - h.tx.cached_head <= 128);
			rc = vamos_producer_publish(&h.tx);
			CHECK(rc >= -EPROTO && rc <= 1);
			break;
		}
		case 11: { /* the guest's own traffic, in a burst */
			struct vamos_msg m[8];
			unsigned n = (unsigned)take(&p, end, 1) % 9;
			for (unsigned i = 0; i < n; i++)
				m[i] = (struct vamos_msg){ .data = buf,
					.len = (uint32_t)take(&p, end, 1), .type = 2 };
			vamos_producer_send_burst(&g.tx, m, n);
			vamos_producer_publish(&g.tx);
			break;
		}
		case 12: { /* host replies with an array: reads the guest-written head */
			uint32_t elem = (uint32_t)take(&p, end, 1) % 140;
			uint32_t n = (uint32_t)take(&p, end, 1) % 40;
			uint16_t type = take(&p, end, 1) == 0xff ? 0xffff : 1;
			int rc = vamos_producer_send_array(&h.tx, type, buf, elem, n);
			if (rc > 0) {
				/* What went in is whole elements, never more than asked. */
				CHECK((uint32_t)rc <= n && elem > 0);
			} else {
				CHECK(rc == 0 ? n == 0 : rc == -EAGAIN ||
				      rc == -EPROTO || rc == -EINVAL || rc == -EMSGSIZE);
			}
			CHECK(h.tx.broken || h.tx.tail - h.tx.cached_head <= 128);
			rc = vamos_producer_publish(&h.tx);
			CHECK(rc >= -EPROTO && rc <= 1);
			break;
		}
		case 13: { /* the guest's own traffic, as arrays */
			uint32_t elem = 1 + (uint32_t)take(&p, end, 1) % 32;
			uint32_t n = (uint32_t)take(&p, end, 1) % 40;
			if (elem * n <= sizeof buf)
				vamos_producer_send_array(&g.tx, 2, buf, elem, n);
			vamos_producer_publish(&g.tx);
			break;
		}
		case 9: /* the host re-opens the channel, re-reading positions */
			if (vamos_channel_open(&host, 0, VAMOS_SIDE_HOST, &h) < 0)
				CHECK(h.rx.broken || h.tx.broken);
			break;
		}
	}
	drain(&h.rx, true);
	free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 'A')
		fuzz_attach(data + 1, size - 1);
	else
		fuzz_program(data, size);
	return 0;
}
