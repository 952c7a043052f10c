/* SPDX-License-Identifier: MIT */
/* vamos_producer_send_burst: the same records, bytes and errors as one
 * reserve/copy/commit per record, in one call; and peek's batches. */
#include <errno.h>

#include "fixture.h"

static struct fixture f;
static void setup(void) { fixture_init(&f, 256, 256, 1); }
static void teardown(void) { fixture_fini(&f); }

TestSuite(ring_burst, .init = setup, .fini = teardown);

static struct vamos_producer *P(void) { return &f.guest.tx; }
static struct vamos_consumer *C(void) { return &f.host.rx; }

/* @n records numbered from @seq, of 56 payload bytes: 64 ring bytes each. */
static void make_64(struct vamos_msg *m, uint64_t (*buf)[7], unsigned n, uint64_t seq)
{
	for (unsigned i = 0; i < n; i++) {
		memset(buf[i], 0, sizeof buf[i]);
		buf[i][0] = seq + i;
		m[i] = (struct vamos_msg){ .data = buf[i], .len = sizeof buf[i], .type = 7 };
	}
}

Test(ring_burst, round_trip_of_mixed_lengths)
{
	static const uint32_t lens[] = { 0, 1, 7, 8, 9, 15, 16, 17, 33, 64, 65, 100 };
	enum { N = sizeof lens / sizeof lens[0] };
	unsigned char src[N][100];
	struct vamos_msg m[N];
	for (unsigned i = 0; i < N; i++) {
		fill_pattern(src[i], i, lens[i]);
		m[i] = (struct vamos_msg){ .data = src[i], .len = lens[i], .type = (uint16_t)(i + 1) };
	}
	/* 12 records of 8..112 ring bytes do not all fit in 256: the burst
	 * stops at the first that does not, the rest follow after a release. */
	struct vamos_record r[N];
	unsigned sent = 0, got = 0;
	while (got < N) {
		int n = vamos_producer_send_burst(P(), m + sent, N - sent);
		cr_assert(n > 0 || (n == -EAGAIN && sent < N) || (n == 0 && sent == N),
			  "send_burst = %d after %u", n, sent);
		if (n > 0)
			sent += (unsigned)n;
		cr_assert_geq(vamos_producer_publish(P()), 0);
		int k = vamos_consumer_peek(C(), r, N);
		cr_assert_gt(k, 0);
		for (int i = 0; i < k; i++, got++) {
			cr_assert_eq(r[i].len, lens[got]);
			cr_assert_eq(r[i].type, got + 1);
			cr_assert(check_pattern(r[i].data, got, lens[got]), "record %u", got);
			cr_assert_eq((uintptr_t)r[i].data % 8, 0);
		}
		vamos_consumer_release(C());
	}
	cr_assert_eq(sent, N);
}

Test(ring_burst, stops_when_full_and_resumes_after_release)
{
	uint64_t buf[8][7];
	struct vamos_msg m[8];
	struct vamos_record r[8];
	make_64(m, buf, 8, 0);
	cr_assert_eq(vamos_producer_send_burst(P(), m, 8), 4, "4 x 64 bytes fill 256");
	cr_assert_eq(vamos_producer_send_burst(P(), m + 4, 4), -EAGAIN);
	cr_assert_eq(vamos_producer_publish(P()), 0);
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 2);
	cr_assert_eq(vamos_producer_send_burst(P(), m + 4, 4), -EAGAIN,
		     "peeked but not released: still taken");
	vamos_consumer_release(C());
	cr_assert_eq(vamos_producer_send_burst(P(), m + 4, 4), 2, "two released");
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 8), 4);
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_eq(*(uint64_t *)r[i].data, i + 2);
	cr_assert_eq(vamos_producer_send_burst(P(), m, 0), 0, "an empty burst");
}

Test(ring_burst, pads_the_ring_end_invisibly)
{
	uint64_t buf[8][7];
	struct vamos_msg m[8];
	struct vamos_record r[8];
	unsigned char big[200];
	make_64(m, buf, 3, 0);
	cr_assert_eq(vamos_producer_send_burst(P(), m, 3), 3);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 8), 3);
	vamos_consumer_release(C());
	/* Tail at 192: a 100-byte record (112 ring bytes) needs padding of 64
	 * first and then starts at offset 0. */
	fill_pattern(big, 9, 100);
	struct vamos_msg two[2] = {
		{ .data = big, .len = 100, .type = 3 },
		{ .data = big, .len = 8, .type = 4 },
	};
	cr_assert_eq(vamos_producer_send_burst(P(), two, 2), 2);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 8), 2, "padding is not a record");
	cr_assert_eq(r[0].type, 3);
	cr_assert_eq(r[0].data, fixture_req_ring(&f)->data + 8, "starts at offset 0");
	cr_assert(check_pattern(r[0].data, 9, 100));
	cr_assert_eq(r[1].type, 4);
	cr_assert_null(vamos_consumer_error(C()));
}

Test(ring_burst, largest_record_waits_behind_its_padding)
{
	uint64_t buf[1][7];
	struct vamos_msg m[1];
	struct vamos_record r[2];
	static unsigned char big[248];
	make_64(m, buf, 1, 0);
	cr_assert_eq(vamos_producer_send_burst(P(), m, 1), 1);
	vamos_producer_publish(P());
	/* Tail at 64: the largest record needs the whole ring. The padding
	 * (192 bytes) fits now and is committed; the record waits. */
	struct vamos_msg largest = { .data = big, .len = 248, .type = 5 };
	cr_assert_eq(vamos_producer_send_burst(P(), &largest, 1), -EAGAIN);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 1);
	vamos_consumer_release(C());
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 0, "padding given back at once");
	cr_assert_eq(vamos_producer_send_burst(P(), &largest, 1), 1);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 1);
	cr_assert_eq(r[0].len, 248);
}

Test(ring_burst, a_bad_record_ends_the_burst_and_is_reported_next)
{
	uint64_t buf[4][7];
	struct vamos_msg m[4];
	struct vamos_record r[4];
	make_64(m, buf, 4, 0);
	m[2].type = 0xffff;
	cr_assert_eq(vamos_producer_send_burst(P(), m, 4), 2, "the two before it");
	cr_assert_eq(vamos_producer_send_burst(P(), m + 2, 2), -EINVAL);
	m[2].type = 1;
	m[2].len = 249;
	cr_assert_eq(vamos_producer_send_burst(P(), m + 2, 2), -EMSGSIZE);
	cr_assert_null(vamos_producer_error(P()), "the caller's mistake breaks nothing");
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 2);
}

Test(ring_burst, refused_while_a_reservation_is_open)
{
	uint64_t buf[1][7];
	struct vamos_msg m[1];
	void *slot;
	make_64(m, buf, 1, 0);
	cr_assert_eq(vamos_producer_reserve(P(), 8, &slot), 0);
	cr_assert_eq(vamos_producer_send_burst(P(), m, 1), -EBUSY);
	vamos_producer_abort(P());
	cr_assert_eq(vamos_producer_send_burst(P(), m, 1), 1);
}

/* The same records through bursts and through single sends leave the same
 * bytes in the ring and the same positions, wraps and paddings included. */
Test(ring_burst, same_bytes_as_single_sends)
{
	struct fixture g;
	fixture_init(&g, 256, 256, 1);
	unsigned char src[200];
	struct vamos_msg m[16];
	struct vamos_record r[32];
	uint64_t rng = 12345;
	for (int round = 0; round < 400; round++) {
		unsigned n = 0;
		for (; n < 1 + (unsigned)round % 16; n++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t len = (uint32_t)(rng >> 33) % (rng >> 60 ? 40 : 200);
			m[n] = (struct vamos_msg){ .data = src, .len = len,
						   .type = (uint16_t)(rng >> 20) };
		}
		fill_pattern(src, (uint64_t)round, sizeof src);
		int sent = vamos_producer_send_burst(P(), m, n);
		int single = 0;
		while (single < (int)n &&
		       vamos_producer_send(&g.guest.tx, m[single].type, m[single].data,
					   m[single].len) == 0)
			single++;
		cr_assert_eq(sent > 0 ? sent : 0, single, "round %d", round);
		cr_assert_eq(P()->tail, g.guest.tx.tail, "round %d", round);
		vamos_producer_publish(P());
		vamos_producer_publish(&g.guest.tx);
		cr_assert_eq(memcmp(fixture_req_ring(&f)->data,
				    fixture_req_ring(&g)->data, 256), 0, "round %d", round);
		/* Drain both sometimes, so the rings wrap at many offsets. */
		if (round % 3 == 0) {
			while (vamos_consumer_peek(C(), r, 32) > 0)
				vamos_consumer_release(C());
			while (vamos_consumer_peek(&g.host.rx, r, 32) > 0)
				vamos_consumer_release(&g.host.rx);
		}
	}
	cr_assert_null(vamos_consumer_error(C()));
	fixture_fini(&g);
}
