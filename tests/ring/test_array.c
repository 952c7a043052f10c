/* SPDX-License-Identifier: MIT */
/* Array records: vamos_producer_send_array puts many equal elements in one
 * record, vamos_consumer_peek_arrays hands it out as one, and
 * vamos_record_elements counts its elements. */
#include <errno.h>

#include "fixture.h"

static struct fixture f;
static void setup(void) { fixture_init(&f, 256, 256, 1); }
static void teardown(void) { fixture_fini(&f); }

TestSuite(ring_array, .init = setup, .fini = teardown);

static struct vamos_producer *P(void) { return &f.guest.tx; }
static struct vamos_consumer *C(void) { return &f.host.rx; }

/* Elements of 12 bytes: not a multiple of the 8-byte record alignment. */
struct elem12 {
	uint32_t seq;
	unsigned char bytes[8];
};
_Static_assert(sizeof(struct elem12) == 12, "no padding");

static void make_elems(struct elem12 *e, unsigned n, uint32_t seq)
{
	for (unsigned i = 0; i < n; i++) {
		e[i].seq = seq + i;
		fill_pattern(e[i].bytes, seq + i, sizeof e[i].bytes);
	}
}

/* The elements of array record @r are @n elem12 numbered from @seq. */
static void expect_elems(const struct vamos_record *r, unsigned n, uint32_t seq)
{
	cr_assert_eq(r->elem_size, sizeof(struct elem12));
	cr_assert_eq(r->len, n * sizeof(struct elem12));
	cr_assert_eq(vamos_record_elements(r, sizeof(struct elem12)), (int)n);
	cr_assert_eq((uintptr_t)r->data % 8, 0);
	const unsigned char *d = r->data;
	for (unsigned i = 0; i < n; i++) {
		struct elem12 e;
		memcpy(&e, d + i * sizeof e, sizeof e);
		cr_assert_eq(e.seq, seq + i, "element %u", i);
		cr_assert(check_pattern(e.bytes, seq + i, sizeof e.bytes), "element %u", i);
	}
}

Test(ring_array, one_record_for_the_whole_array)
{
	struct elem12 e[5];
	struct vamos_record r[4];
	make_elems(e, 5, 100);
	cr_assert_eq(vamos_producer_send_array(P(), 9, e, sizeof e[0], 5), 5);
	/* The next record starts 8-aligned after the 60-byte array. */
	cr_assert_eq(P()->tail, vamos_record_size(60));
	cr_assert_eq(vamos_producer_publish(P()), 0);
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 4), 1, "one record");
	cr_assert_eq(r[0].type, 9);
	expect_elems(&r[0], 5, 100);
	vamos_consumer_release(C());
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 4), 0);
}

Test(ring_array, plain_records_and_arrays_side_by_side)
{
	struct elem12 e[3], one;
	struct vamos_record r[4];
	make_elems(e, 3, 7);
	make_elems(&one, 1, 6);
	cr_assert_eq(vamos_producer_send(P(), 2, &one, sizeof one), 0);
	cr_assert_eq(vamos_producer_send_array(P(), 3, e, sizeof e[0], 3), 3);
	cr_assert_eq(vamos_producer_send(P(), 4, "abc", 3), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 4), 3);
	/* A plain record of one element's size counts as one element. */
	cr_assert_eq(r[0].elem_size, 0);
	cr_assert_eq(vamos_record_elements(&r[0], sizeof one), 1);
	cr_assert_eq(((struct elem12 *)r[0].data)->seq, 6);
	expect_elems(&r[1], 3, 7);
	cr_assert_eq(r[2].elem_size, 0);
	cr_assert_eq(r[2].len, 3);
	cr_assert_str_eq(r[2].data, "abc");
	/* Not the elements the caller expects: its business, not a break. */
	cr_assert_eq(vamos_record_elements(&r[2], sizeof one), -EINVAL);
	cr_assert_eq(vamos_record_elements(&r[1], 4), -EINVAL, "another element size");
	cr_assert_eq(vamos_record_elements(&r[1], 0), -EINVAL);
	cr_assert_eq(vamos_record_elements(&r[0], 0), -EINVAL);
	cr_assert_null(vamos_consumer_error(C()));
}

Test(ring_array, plain_peek_refuses_an_array)
{
	struct elem12 e[2];
	struct vamos_record r[4];
	make_elems(e, 2, 0);
	cr_assert_eq(vamos_producer_send(P(), 2, "first", 6), 0);
	cr_assert_eq(vamos_producer_send_array(P(), 3, e, sizeof e[0], 2), 2);
	vamos_producer_publish(P());
	/* A consumer that did not ask for arrays gets what came before, then
	 * the ring is broken, as for any header it cannot read. */
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 1);
	cr_assert_eq(r[0].elem_size, 0, "plain peek fills elem_size too");
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), -EPROTO);
	cr_assert_str_eq(vamos_consumer_error(C()), "record header has reserved bits set");
}

Test(ring_array, cut_to_what_one_record_holds)
{
	struct elem12 e[40];
	struct vamos_record r[4];
	make_elems(e, 40, 0);
	/* 256-byte ring: at most 248 payload bytes, 20 elements of 12. */
	cr_assert_eq(vamos_producer_send_array(P(), 1, e, sizeof e[0], 40), 20);
	cr_assert_eq(vamos_producer_send_array(P(), 1, e + 20, sizeof e[0], 20), -EAGAIN,
		     "the ring is full");
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 4), 1);
	expect_elems(&r[0], 20, 0);
	cr_assert_eq(vamos_producer_send_array(P(), 1, e + 20, sizeof e[0], 20), -EAGAIN,
		     "peeked but not released: still taken");
	vamos_consumer_release(C());
	cr_assert_eq(vamos_producer_send_array(P(), 1, e + 20, sizeof e[0], 20), 20);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 4), 1);
	expect_elems(&r[0], 20, 20);
}

/* Move both ends to ring offset @off with one plain record (off >= 8). */
static void start_at(uint32_t off)
{
	static unsigned char zero[256];
	struct vamos_record r[1];
	cr_assert_eq(vamos_producer_send(P(), 1, zero, off - VAMOS_RECORD_HEADER_SIZE), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 1), 1);
	vamos_consumer_release(C());
}

Test(ring_array, elements_that_fit_before_the_ring_end_go_first)
{
	struct elem12 e[8];
	struct vamos_record r[4];
	make_elems(e, 8, 50);
	start_at(200);
	/* 56 bytes to the end: a header and 4 elements (8 + 48). */
	cr_assert_eq(vamos_producer_send_array(P(), 1, e, sizeof e[0], 8), 4);
	cr_assert_eq(vamos_producer_send_array(P(), 1, e + 4, sizeof e[0], 4), 4,
		     "the rest from offset 0, no padding needed");
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 4), 2);
	expect_elems(&r[0], 4, 50);
	expect_elems(&r[1], 4, 54);
	cr_assert_eq((unsigned char *)r[1].data, C()->data + VAMOS_RECORD_HEADER_SIZE);
}

Test(ring_array, ring_end_too_small_for_one_element_is_padded)
{
	struct elem12 e[4];
	struct vamos_record r[4];
	make_elems(e, 4, 9);
	start_at(240);
	/* 16 bytes to the end: no room for a header and 12 bytes (24). */
	cr_assert_eq(vamos_producer_send_array(P(), 1, e, sizeof e[0], 4), 4);
	cr_assert_eq(P()->tail, 256 + vamos_record_size(48), "padding, then the array");
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 4), 1, "padding skipped");
	expect_elems(&r[0], 4, 9);
	cr_assert_eq((unsigned char *)r[0].data, C()->data + VAMOS_RECORD_HEADER_SIZE);
}

Test(ring_array, full_ring_waits_without_padding)
{
	static unsigned char zero[232];
	struct elem12 e[4];
	make_elems(e, 4, 0);
	start_at(240);
	/* Fill what the consumer leaves: 16 bytes at the end, then 240. */
	cr_assert_eq(vamos_producer_send(P(), 1, zero, 8), 0);
	cr_assert_eq(vamos_producer_send(P(), 1, zero, 232), 0);
	uint64_t tail = P()->tail;
	cr_assert_eq(vamos_producer_send_array(P(), 1, e, sizeof e[0], 4), -EAGAIN);
	cr_assert_eq(P()->tail, tail, "nothing written");
}

Test(ring_array, bad_arguments)
{
	struct elem12 e[2];
	make_elems(e, 2, 0);
	cr_assert_eq(vamos_producer_send_array(P(), 1, e, 0, 2), -EINVAL, "element size 0");
	cr_assert_eq(vamos_producer_send_array(P(), 1, e, VAMOS_ARRAY_ELEM_MAX + 1, 1), -EINVAL);
	cr_assert_eq(vamos_producer_send_array(P(), 0xffff, e, sizeof e[0], 2), -EINVAL,
		     "padding type");
	static unsigned char big[256];
	cr_assert_eq(vamos_producer_send_array(P(), 1, big, 249, 1), -EMSGSIZE,
		     "one element larger than a record can be");
	cr_assert_eq(vamos_producer_send_array(P(), 1, big, 248, 1), 1, "the largest fits");
	cr_assert_eq(vamos_producer_send_array(P(), 1, e, sizeof e[0], 0), 0, "no elements");
	void *slot;
	cr_assert_eq(vamos_producer_reserve(&f.host.tx, 8, &slot), 0);
	cr_assert_eq(vamos_producer_send_array(&f.host.tx, 1, e, sizeof e[0], 2), -EBUSY);
	vamos_producer_abort(&f.host.tx);
	cr_assert_eq(vamos_producer_send_array(&f.host.tx, 1, e, sizeof e[0], 2), 2);
}

Test(ring_array, broken_producer_refuses)
{
	struct elem12 e[32];
	make_elems(e, 32, 0);
	/* Fill the reply ring, publish, then the guest (its consumer) claims
	 * to have released more than was published. */
	cr_assert_eq(vamos_producer_send_array(&f.host.tx, 1, e, sizeof e[0], 32), 20);
	vamos_producer_publish(&f.host.tx);
	struct vamos_ring_ctrl *reply = vamos_ring_at(f.mem, &f.host_view.params, 0, 1);
	atomic_store(&reply->head, 512);
	cr_assert_eq(vamos_producer_send_array(&f.host.tx, 1, e, sizeof e[0], 1), -EPROTO);
	cr_assert_str_eq(vamos_producer_error(&f.host.tx),
			 "consumer position outside [previous, published]");
	cr_assert_eq(vamos_producer_send_array(&f.host.tx, 1, e, sizeof e[0], 1), -EPROTO,
		     "stays broken");
}

Test(ring_array, peek_arrays_stops_at_max)
{
	struct elem12 e[6];
	struct vamos_record r[4];
	make_elems(e, 6, 0);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(vamos_producer_send_array(P(), 1, e + 2 * i, sizeof e[0], 2), 2);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 2), 2);
	expect_elems(&r[0], 2, 0);
	expect_elems(&r[1], 2, 2);
	cr_assert_eq(vamos_consumer_peek_arrays(C(), r, 2), 1);
	expect_elems(&r[0], 2, 4);
}

/* Many rounds around a small ring with every element count 1..40 and the
 * records landing at every offset: nothing lost, reordered or changed. */
Test(ring_array, wraps_many_times)
{
	struct elem12 e[40];
	struct vamos_record r[16];
	uint32_t sent = 0, got = 0;
	for (unsigned round = 0; round < 2000; round++) {
		unsigned n = 1 + round % 40;
		make_elems(e, n, sent);
		for (unsigned done = 0; done < n;) {
			int k = vamos_producer_send_array(P(), 5, e + done, sizeof e[0], n - done);
			if (k == -EAGAIN) {
				vamos_producer_publish(P());
				int m = vamos_consumer_peek_arrays(C(), r, 16);
				cr_assert_gt(m, 0, "full ring but nothing to read");
				for (int i = 0; i < m; i++) {
					int c = vamos_record_elements(&r[i], sizeof e[0]);
					cr_assert_gt(c, 0);
					expect_elems(&r[i], (unsigned)c, got);
					got += (uint32_t)c;
				}
				vamos_consumer_release(C());
				continue;
			}
			cr_assert_gt(k, 0, "send_array = %d", k);
			done += (unsigned)k;
		}
		sent += n;
	}
	vamos_producer_publish(P());
	for (int m; (m = vamos_consumer_peek_arrays(C(), r, 16)) > 0;) {
		for (int i = 0; i < m; i++) {
			int c = vamos_record_elements(&r[i], sizeof e[0]);
			expect_elems(&r[i], (unsigned)c, got);
			got += (uint32_t)c;
		}
		vamos_consumer_release(C());
	}
	cr_assert_eq(got, sent);
	cr_assert_null(vamos_consumer_error(C()));
}
