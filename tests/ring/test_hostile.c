/* SPDX-License-Identifier: MIT */
/* A hostile peer writes bad values into every shared field and record
 * header. The reader reports the ring broken with a reason, stays broken,
 * hands out only records that were good, and never reads outside the region
 * (the region is allocated to its exact size, so ASan would catch it). */
#include <errno.h>

#include "fixture.h"

static struct fixture f;
static struct vamos_ring_ctrl *req;   /* guest writes tail and records */
static struct vamos_ring_ctrl *reply; /* guest writes head */

static void setup(void)
{
	fixture_init(&f, 256, 256, 1);
	req = fixture_req_ring(&f);
	reply = vamos_ring_at(f.mem, &f.host_view.params, 0, 1);
}
static void teardown(void) { fixture_fini(&f); }
TestSuite(hostile, .init = setup, .fini = teardown);

static struct vamos_consumer *host_rx(void) { return &f.host.rx; }
static struct vamos_producer *host_tx(void) { return &f.host.tx; }

/* Forge a record header at ring offset @off of the request ring. */
static void forge(uint32_t off, uint64_t word)
{
	memcpy(req->data + off, &word, 8);
}

static void expect_broken(const char *why)
{
	struct vamos_record r[8];
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), -EPROTO);
	cr_assert_str_eq(vamos_consumer_error(host_rx()), why);
	/* Stays broken even if the peer repairs everything. */
	atomic_store(&req->tail, host_rx()->head);
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), -EPROTO);
	cr_assert_eq(vamos_consumer_prepare_sleep(host_rx()), -EPROTO);
	cr_assert_str_eq(vamos_consumer_error(host_rx()), why, "first reason kept");
}

Test(hostile, tail_misaligned)
{
	forge(0, vamos_record_header(0, 1));
	atomic_store(&req->tail, 12);
	expect_broken("producer position is misaligned");
}

Test(hostile, tail_more_than_a_ring_ahead)
{
	atomic_store(&req->tail, 256 + 8);
	expect_broken("producer position outside [released, released + capacity]");
}

Test(hostile, tail_behind_released_head)
{
	struct vamos_record r[8];
	cr_assert_eq(vamos_producer_send(&f.guest.tx, 1, "abcdefg", 8), 0);
	vamos_producer_publish(&f.guest.tx);
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), 1);
	vamos_consumer_release(host_rx());
	atomic_store(&req->tail, 8);
	expect_broken("producer position outside [released, released + capacity]");
}

Test(hostile, tail_moves_backwards)
{
	struct vamos_record r[8];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(vamos_producer_send(&f.guest.tx, 1, "abcdefg", 8), 0);
	vamos_producer_publish(&f.guest.tx);
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 2), 2, "tail 64 seen");
	atomic_store(&req->tail, 48);
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), 2, "cached records first");
	expect_broken("producer position moved backwards");
}

Test(hostile, header_reserved_bits)
{
	forge(0, vamos_record_header(4, 1) | (1ull << 50));
	atomic_store(&req->tail, 16);
	expect_broken("record header has reserved bits set");
}

Test(hostile, record_crosses_ring_end)
{
	forge(0, vamos_record_header(256, 1)); /* 264 bytes in a 256-byte ring */
	atomic_store(&req->tail, 256);
	expect_broken("record crosses the end of the ring");
}

Test(hostile, record_length_max)
{
	forge(0, vamos_record_header(UINT32_MAX, 2));
	atomic_store(&req->tail, 256);
	expect_broken("record crosses the end of the ring");
}

Test(hostile, record_past_published_tail)
{
	forge(0, vamos_record_header(100, 1));
	atomic_store(&req->tail, 64);
	expect_broken("record extends past the published tail");
}

Test(hostile, padding_not_to_ring_end)
{
	forge(0, vamos_record_header(16, 0xffff));
	atomic_store(&req->tail, 256);
	expect_broken("padding does not end at the ring end");
}

Test(hostile, padding_past_published_tail)
{
	forge(0, vamos_record_header(248, 0xffff));
	atomic_store(&req->tail, 128);
	expect_broken("padding extends past the published tail");
}

Test(hostile, good_records_before_the_bad_one_are_kept)
{
	struct vamos_record r[8];
	cr_assert_eq(vamos_producer_send(&f.guest.tx, 3, "first", 6), 0);
	cr_assert_eq(vamos_producer_send(&f.guest.tx, 4, "second", 7), 0);
	vamos_producer_publish(&f.guest.tx);
	forge(32, vamos_record_header(100, 1));
	atomic_store(&req->tail, 64);
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), 2);
	cr_assert_str_eq(r[0].data, "first");
	cr_assert_str_eq(r[1].data, "second");
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), -EPROTO);
	cr_assert_str_eq(vamos_consumer_error(host_rx()), "record extends past the published tail");
}

Test(hostile, bad_tail_seen_while_preparing_to_sleep)
{
	atomic_store(&req->tail, 3);
	cr_assert_eq(vamos_consumer_prepare_sleep(host_rx()), -EPROTO);
	cr_assert_eq(atomic_load(&req->need_wakeup), 0, "announcement withdrawn");
	cr_assert_str_eq(vamos_consumer_error(host_rx()), "producer position is misaligned");
}

Test(hostile, garbage_need_wakeup_only_means_ring)
{
	atomic_store(&reply->need_wakeup, 0xdeadbeef);
	cr_assert_eq(vamos_producer_send(host_tx(), 1, "x", 1), 0);
	cr_assert_eq(vamos_producer_publish(host_tx()), 1);
	cr_assert_eq(vamos_producer_send(host_tx(), 1, "y", 1), 0);
	cr_assert_eq(vamos_producer_publish(host_tx()), 0);
	cr_assert_null(vamos_producer_error(host_tx()));
}

/* The host's reply producer reads the guest-written head. */
static void fill_reply_ring(void)
{
	uint64_t x[7] = {0};
	for (int i = 0; i < 4; i++)
		cr_assert_eq(vamos_producer_send(host_tx(), 1, x, sizeof x), 0);
	cr_assert_eq(vamos_producer_publish(host_tx()), 0);
}

static void expect_producer_broken(const char *why)
{
	void *p;
	cr_assert_eq(vamos_producer_reserve(host_tx(), 8, &p), -EPROTO);
	cr_assert_str_eq(vamos_producer_error(host_tx()), why);
	atomic_store(&reply->head, 256);
	cr_assert_eq(vamos_producer_reserve(host_tx(), 8, &p), -EPROTO, "stays broken");
	cr_assert_eq(vamos_producer_publish(host_tx()), -EPROTO);
	cr_assert_eq(vamos_producer_free_bytes(host_tx()), -EPROTO);
}

Test(hostile, head_misaligned)
{
	fill_reply_ring();
	atomic_store(&reply->head, 63);
	expect_producer_broken("consumer position is misaligned");
}

Test(hostile, head_past_published)
{
	fill_reply_ring();
	atomic_store(&reply->head, 512);
	expect_producer_broken("consumer position outside [previous, published]");
}

Test(hostile, head_past_published_but_not_committed)
{
	void *p;
	fill_reply_ring();
	atomic_store(&reply->head, 64);
	cr_assert_eq(vamos_producer_send(host_tx(), 1, "z", 1), 0, "64 bytes freed");
	atomic_store(&reply->head, 256 + 16);
	cr_assert_eq(vamos_producer_reserve(host_tx(), 240, &p), -EPROTO,
		     "consumer claims an unpublished record");
	cr_assert_str_eq(vamos_producer_error(host_tx()),
			 "consumer position outside [previous, published]");
}

Test(hostile, head_moves_backwards)
{
	fill_reply_ring();
	atomic_store(&reply->head, 128);
	cr_assert_eq(vamos_producer_free_bytes(host_tx()), 128);
	atomic_store(&reply->head, 64);
	cr_assert_eq(vamos_producer_free_bytes(host_tx()), -EPROTO);
	cr_assert_str_eq(vamos_producer_error(host_tx()),
			 "consumer position outside [previous, published]");
}

/* Random garbage in positions and records: whatever the consumer hands out
 * lies inside the ring's data area, and it never crashes or reads outside. */
Test(hostile, random_garbage_never_escapes_the_ring)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	unsigned broken = 0, handed_out = 0;
	for (int round = 0; round < 20000; round++) {
		struct fixture g;
		fixture_init(&g, 256, 64, 1);
		struct vamos_ring_ctrl *r = fixture_req_ring(&g);
		for (int i = 0; i < 32; i++) {
			s ^= s << 13; s ^= s >> 7; s ^= s << 17;
			/* Plausible-looking garbage: small lengths, sometimes padding. */
			uint64_t word = (s % 4 == 0) ? s : (s & 0x1ff) | ((s >> 9) % 3 == 0 ? 0xffffull << 32 : (s & 0xff00000000ull));
			memcpy(r->data + i * 8, &word, 8);
		}
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		atomic_store(&r->tail, (s % 5 == 0) ? s : (s % 33) * 8);
		struct vamos_record rec[16];
		for (;;) {
			int n = vamos_consumer_peek(&g.host.rx, rec, 16);
			if (n <= 0) {
				broken += n < 0;
				break;
			}
			for (int i = 0; i < n; i++) {
				unsigned char *d = rec[i].data;
				cr_assert(d >= r->data + 8 && d + rec[i].len <= r->data + 256);
				handed_out++;
			}
			vamos_consumer_release(&g.host.rx);
		}
		fixture_fini(&g);
	}
	cr_assert_gt(broken, 1000, "garbage was detected");
	cr_assert_gt(handed_out, 1000, "valid-looking records still flow");
}

/* A batch whose middle record is bad: the good ones before it come out of
 * the one peek, the next peek reports the break (for each kind of bad
 * header peek's fast check sends the long way). */
static void bad_in_the_middle(uint64_t bad_word, uint64_t tail, const char *why)
{
	struct vamos_record r[8];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(vamos_producer_send(&f.guest.tx, (uint16_t)(10 + i), "abcdefg", 8), 0);
	vamos_producer_publish(&f.guest.tx);
	forge(16, bad_word); /* the second record's header */
	atomic_store(&req->tail, tail);
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), 1, "only the first");
	cr_assert_eq(r[0].type, 10);
	cr_assert_str_eq(r[0].data, "abcdefg");
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), -EPROTO);
	cr_assert_str_eq(vamos_consumer_error(host_rx()), why);
}

Test(hostile, batch_middle_reserved_bits)
{
	bad_in_the_middle(vamos_record_header(8, 11) | (1ull << 60), 48,
			  "record header has reserved bits set");
}

Test(hostile, batch_middle_padding_not_at_ring_end)
{
	bad_in_the_middle(vamos_record_header(8, 0xffff), 48,
			  "padding does not end at the ring end");
}

Test(hostile, batch_middle_length_past_tail)
{
	bad_in_the_middle(vamos_record_header(40, 11), 48,
			  "record extends past the published tail");
}

Test(hostile, batch_middle_length_past_ring_end)
{
	bad_in_the_middle(vamos_record_header(0x7ffffff8u, 11), 48,
			  "record crosses the end of the ring");
}

Test(hostile, batch_record_ending_exactly_at_the_tail_is_good)
{
	struct vamos_record r[8];
	forge(0, vamos_record_header(8, 1));
	forge(16, vamos_record_header(232, 2)); /* 240 bytes: to the ring end */
	atomic_store(&req->tail, 256);
	cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), 2);
	cr_assert_eq(r[1].len, 232);
	cr_assert_null(vamos_consumer_error(host_rx()));
}

/* The host's burst on the reply ring re-reads the guest-written head when
 * its cached one says full: a bad head there ends the burst after the
 * records that fitted, and breaks the producer. */
Test(hostile, burst_meets_a_bad_head_midway)
{
	uint64_t buf[8][7] = {{0}};
	struct vamos_msg m[8];
	for (int i = 0; i < 8; i++)
		m[i] = (struct vamos_msg){ .data = buf[i], .len = sizeof buf[i], .type = 1 };
	atomic_store(&reply->head, 12);
	cr_assert_eq(vamos_producer_send_burst(host_tx(), m, 8), 4,
		     "what fitted by the cached head");
	cr_assert_eq(vamos_producer_send_burst(host_tx(), m + 4, 4), -EPROTO);
	cr_assert_str_eq(vamos_producer_error(host_tx()), "consumer position is misaligned");
	cr_assert_eq(vamos_producer_send_burst(host_tx(), m, 1), -EPROTO, "stays broken");
}

Test(hostile, burst_meets_a_head_past_the_published_tail)
{
	uint64_t buf[8][7] = {{0}};
	struct vamos_msg m[8];
	for (int i = 0; i < 8; i++)
		m[i] = (struct vamos_msg){ .data = buf[i], .len = sizeof buf[i], .type = 1 };
	cr_assert_eq(vamos_producer_send_burst(host_tx(), m, 2), 2);
	vamos_producer_publish(host_tx());
	atomic_store(&reply->head, 256); /* more than the 128 published */
	cr_assert_eq(vamos_producer_send_burst(host_tx(), m, 8), 2);
	cr_assert_eq(vamos_producer_send_burst(host_tx(), m, 8), -EPROTO);
	cr_assert_str_eq(vamos_producer_error(host_tx()),
			 "consumer position outside [previous, published]");
}

/* Positions are the peer's too, and may start anywhere: near the 64-bit
 * wrap-around every bound must still hold (they are kept as differences). */
static void reopen_at(uint64_t pos)
{
	atomic_store(&req->head, pos);
	atomic_store(&req->tail, pos);
	cr_assert_eq(vamos_channel_open(&f.host_view, 0, VAMOS_SIDE_HOST, &f.host), 0);
	cr_assert_eq(vamos_channel_open(&f.guest_view, 0, VAMOS_SIDE_GUEST, &f.guest), 0);
}

Test(hostile, record_past_the_tail_at_the_64_bit_wrap)
{
	reopen_at(UINT64_MAX - 63); /* ring offset 192 */
	forge(192, vamos_record_header(56, 1)); /* 64 bytes: to the ring end */
	atomic_store(&req->tail, UINT64_MAX - 31); /* only 32 published */
	expect_broken("record extends past the published tail");
}

Test(hostile, traffic_across_the_64_bit_wrap)
{
	struct vamos_record r[8];
	uint64_t buf[8][3];
	struct vamos_msg m[8];
	reopen_at(UINT64_MAX - 127);
	for (uint64_t round = 0; round < 20; round++) {
		for (int i = 0; i < 8; i++) {
			buf[i][0] = round * 8 + (uint64_t)i;
			m[i] = (struct vamos_msg){ .data = buf[i], .len = sizeof buf[i], .type = 2 };
		}
		cr_assert_eq(vamos_producer_send_burst(&f.guest.tx, m, 8), 8);
		vamos_producer_publish(&f.guest.tx);
		cr_assert_eq(vamos_consumer_peek(host_rx(), r, 8), 8, "round %lu", round);
		for (int i = 0; i < 8; i++)
			cr_assert_eq(*(uint64_t *)r[i].data, round * 8 + (uint64_t)i);
		vamos_consumer_release(host_rx());
	}
	cr_assert_null(vamos_consumer_error(host_rx()));
	cr_assert_lt(host_rx()->head, 8192, "the positions wrapped");
}

/* Array records (read with peek_arrays): the element size and the length
 * are the peer's word like every other header field. */
static void expect_arrays_broken(const char *why)
{
	struct vamos_record r[8];
	cr_assert_eq(vamos_consumer_peek_arrays(host_rx(), r, 8), -EPROTO);
	cr_assert_str_eq(vamos_consumer_error(host_rx()), why);
	atomic_store(&req->tail, host_rx()->head);
	cr_assert_eq(vamos_consumer_peek_arrays(host_rx(), r, 8), -EPROTO, "stays broken");
	cr_assert_str_eq(vamos_consumer_error(host_rx()), why, "first reason kept");
}

Test(hostile, array_length_not_a_whole_number_of_elements)
{
	forge(0, vamos_array_header(20, 1, 8));
	atomic_store(&req->tail, 32);
	expect_arrays_broken("array record's length is not a whole number of elements");
}

Test(hostile, array_element_larger_than_the_record)
{
	forge(0, vamos_array_header(16, 1, 24));
	atomic_store(&req->tail, 24);
	expect_arrays_broken("array record's length is not a whole number of elements");
}

Test(hostile, array_with_no_elements)
{
	forge(0, vamos_array_header(0, 1, 8));
	atomic_store(&req->tail, 8);
	expect_arrays_broken("array record holds no elements");
}

Test(hostile, array_crosses_ring_end)
{
	forge(0, vamos_array_header(256, 1, 16)); /* 264 bytes in a 256-byte ring */
	atomic_store(&req->tail, 256);
	expect_arrays_broken("record crosses the end of the ring");
}

Test(hostile, array_length_max)
{
	forge(0, vamos_array_header(0xffff0000u, 1, 0xffff)); /* 65536 x 65535 */
	atomic_store(&req->tail, 256);
	expect_arrays_broken("record crosses the end of the ring");
}

Test(hostile, array_past_published_tail)
{
	forge(0, vamos_array_header(64, 1, 16));
	atomic_store(&req->tail, 32);
	expect_arrays_broken("record extends past the published tail");
}

Test(hostile, padding_with_an_element_size)
{
	forge(0, vamos_array_header(248, 0xffff, 8));
	atomic_store(&req->tail, 256);
	expect_arrays_broken("padding has an element size");
}

Test(hostile, element_size_zero_is_a_plain_record)
{
	struct vamos_record r[8];
	forge(0, vamos_array_header(12, 1, 0));
	atomic_store(&req->tail, 24);
	cr_assert_eq(vamos_consumer_peek_arrays(host_rx(), r, 8), 1);
	cr_assert_eq(r[0].elem_size, 0);
	cr_assert_eq(vamos_record_elements(&r[0], 12), 1);
	cr_assert_eq(vamos_record_elements(&r[0], 4), -EINVAL, "not three elements of 4");
}

/* A good plain record and a good array, then a bad array: the two come
 * out of one peek, the next reports the break. */
Test(hostile, bad_array_after_good_records)
{
	struct vamos_record r[8];
	uint32_t e[4] = {1, 2, 3, 4};
	cr_assert_eq(vamos_producer_send(&f.guest.tx, 3, "first", 6), 0);
	cr_assert_eq(vamos_producer_send_array(&f.guest.tx, 4, e, sizeof e[0], 4), 4);
	vamos_producer_publish(&f.guest.tx);
	forge(40, vamos_array_header(12, 5, 8));
	atomic_store(&req->tail, 64);
	cr_assert_eq(vamos_consumer_peek_arrays(host_rx(), r, 8), 2);
	cr_assert_str_eq(r[0].data, "first");
	cr_assert_eq(vamos_record_elements(&r[1], sizeof e[0]), 4);
	cr_assert_eq(memcmp(r[1].data, e, sizeof e), 0);
	cr_assert_eq(vamos_consumer_peek_arrays(host_rx(), r, 8), -EPROTO);
	cr_assert_str_eq(vamos_consumer_error(host_rx()),
			 "array record's length is not a whole number of elements");
}

/* The host's send_array on the reply ring re-reads the guest-written head
 * when its cached one says full: a bad one breaks the producer. */
Test(hostile, send_array_meets_a_bad_head)
{
	uint64_t e[40] = {0};
	atomic_store(&reply->head, 12);
	cr_assert_eq(vamos_producer_send_array(host_tx(), 1, e, sizeof e[0], 40), 31,
		     "what one record holds, by the cached head");
	cr_assert_eq(vamos_producer_send_array(host_tx(), 1, e, sizeof e[0], 9), -EPROTO,
		     "the ring is full: the head is read, and is misaligned");
	cr_assert_str_eq(vamos_producer_error(host_tx()), "consumer position is misaligned");
	cr_assert_eq(vamos_producer_send_array(host_tx(), 1, e, sizeof e[0], 1), -EPROTO,
		     "stays broken");
}

/* Garbage headers with element sizes, read by peek_arrays: whatever comes
 * out is inside the ring and a whole, non-zero number of elements. */
Test(hostile, random_array_garbage_never_escapes_the_ring)
{
	uint64_t s = 0x2545f4914f6cdd1dull;
	unsigned broken = 0, arrays = 0;
	for (int round = 0; round < 20000; round++) {
		struct fixture g;
		fixture_init(&g, 256, 64, 1);
		struct vamos_ring_ctrl *r = fixture_req_ring(&g);
		for (int i = 0; i < 32; i++) {
			s ^= s << 13; s ^= s >> 7; s ^= s << 17;
			/* Small lengths, small element sizes (often dividing
			 * them), sometimes padding, sometimes anything. */
			uint64_t len = s & 0x7f, type = (s >> 7) % 5 == 0 ? 0xffff : 1;
			uint64_t elem = (s >> 12) % 3 == 0 ? 0 : 1u << ((s >> 14) % 5);
			uint64_t word = (s % 7 == 0) ? s : len | type << 32 | elem << 48;
			memcpy(r->data + i * 8, &word, 8);
		}
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		atomic_store(&r->tail, (s % 5 == 0) ? s : (s % 33) * 8);
		struct vamos_record rec[16];
		for (;;) {
			int n = vamos_consumer_peek_arrays(&g.host.rx, rec, 16);
			if (n <= 0) {
				broken += n < 0;
				break;
			}
			for (int i = 0; i < n; i++) {
				unsigned char *d = rec[i].data;
				cr_assert(d >= r->data + 8 && d + rec[i].len <= r->data + 256);
				if (rec[i].elem_size) {
					cr_assert(rec[i].len > 0 && rec[i].len % rec[i].elem_size == 0);
					cr_assert_eq(vamos_record_elements(&rec[i], rec[i].elem_size),
						     (int)(rec[i].len / rec[i].elem_size));
					arrays++;
				}
			}
			vamos_consumer_release(&g.host.rx);
		}
		fixture_fini(&g);
	}
	cr_assert_gt(broken, 1000, "garbage was detected");
	cr_assert_gt(arrays, 1000, "valid-looking arrays still flow");
}
