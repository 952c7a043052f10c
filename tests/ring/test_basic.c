/* SPDX-License-Identifier: MIT */
/* Single-threaded behaviour of one ring: empty, full, exact fit, padding,
 * largest and zero-length records, reservation rules, doorbell economy. */
#include <errno.h>

#include "fixture.h"

static struct fixture f;
static void setup(void) { fixture_init(&f, 256, 256, 1); }
static void teardown(void) { fixture_fini(&f); }

TestSuite(ring_basic, .init = setup, .fini = teardown);

static struct vamos_producer *P(void) { return &f.guest.tx; }
static struct vamos_consumer *C(void) { return &f.host.rx; }

Test(ring_basic, empty_ring_has_nothing)
{
	struct vamos_record r[4];
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 0);
	cr_assert_eq(vamos_producer_publish(P()), 0, "nothing to publish");
	cr_assert_eq(vamos_producer_free_bytes(P()), 256);
	cr_assert_eq(vamos_consumer_prepare_sleep(C()), 1, "empty: may sleep");
	vamos_consumer_awake(C());
}

Test(ring_basic, record_round_trip)
{
	const char msg[] = "hello, host";
	struct vamos_record r[2];
	cr_assert_eq(vamos_producer_send(P(), 42, msg, sizeof msg), 0);
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 0, "invisible before publish");
	cr_assert_eq(vamos_producer_publish(P()), 0);
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 1);
	cr_assert_eq(r[0].type, 42);
	cr_assert_eq(r[0].len, sizeof msg);
	cr_assert_str_eq(r[0].data, msg);
	cr_assert_eq((uintptr_t)r[0].data % 8, 0, "payload 8-byte aligned");
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 0);
}

Test(ring_basic, zero_length_records)
{
	struct vamos_record r[64];
	for (int i = 0; i < 32; i++)
		cr_assert_eq(vamos_producer_send(P(), (uint16_t)i, NULL, 0), 0);
	cr_assert_eq(vamos_producer_send(P(), 1, NULL, 0), -EAGAIN,
		     "32 headers fill 256 bytes");
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 64), 32);
	for (int i = 0; i < 32; i++) {
		cr_assert_eq(r[i].len, 0);
		cr_assert_eq(r[i].type, i);
	}
}

Test(ring_basic, full_ring_refuses_until_release)
{
	uint64_t payload[7] = {0}; /* 56 bytes + 8 header = 64 per record */
	struct vamos_record r[8];
	for (uint64_t i = 0; i < 4; i++) {
		payload[0] = i;
		cr_assert_eq(vamos_producer_send(P(), 1, payload, sizeof payload), 0);
	}
	cr_assert_eq(vamos_producer_free_bytes(P()), 0, "exact fit");
	cr_assert_eq(vamos_producer_send(P(), 1, payload, sizeof payload), -EAGAIN);
	cr_assert_eq(vamos_producer_send(P(), 1, NULL, 0), -EAGAIN);
	vamos_producer_publish(P());

	cr_assert_eq(vamos_consumer_peek(C(), r, 1), 1);
	cr_assert_eq(vamos_producer_send(P(), 1, payload, sizeof payload), -EAGAIN,
		     "peeked but not released: space still taken");
	vamos_consumer_release(C());
	payload[0] = 4;
	cr_assert_eq(vamos_producer_send(P(), 1, payload, sizeof payload), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 8), 4);
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_eq(*(uint64_t *)r[i].data, i + 1);
}

Test(ring_basic, wrap_inserts_padding_invisibly)
{
	unsigned char buf[200] = {0};
	struct vamos_record r[4];
	/* Records of 96 and 64 bytes, consumed: tail at 160, 96 to the end. */
	cr_assert_eq(vamos_producer_send(P(), 1, buf, 88), 0);
	cr_assert_eq(vamos_producer_send(P(), 1, buf, 56), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 2);
	vamos_consumer_release(C());
	/* A 112-byte record does not fit in the 96 left: padding, then at 0. */
	fill_pattern(buf, 2, 104);
	cr_assert_eq(vamos_producer_send(P(), 2, buf, 104), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 1, "padding is not handed out");
	cr_assert_eq(r[0].type, 2);
	cr_assert_eq(r[0].len, 104);
	cr_assert(check_pattern(r[0].data, 2, 104));
	cr_assert_eq((unsigned char *)r[0].data, C()->data + 8, "placed at offset 0");
	vamos_consumer_release(C());
	cr_assert_eq(C()->head, 256 + 112, "padding consumed with the record");
}

/* What room says fits does fit. (A refused larger reservation would not
 * prove the bound: a reserve that pads the ring's end keeps the padding.) */
static void assert_room_fits(const char *when)
{
	void *p;
	int64_t room = vamos_producer_room(P());
	cr_assert_geq(room, 0, "%s", when);
	cr_assert_eq(vamos_producer_reserve(P(), (uint32_t)room, &p), 0, "%s: %lld fits", when,
		     (long long)room);
	vamos_producer_abort(P());
}

Test(ring_basic, room_is_the_largest_reservation_that_fits_now)
{
	unsigned char buf[256] = {0};
	struct vamos_record r[4];
	cr_assert_eq(vamos_producer_room(P()), 248, "empty: the largest record");
	assert_room_fits("empty");
	cr_assert_eq(vamos_producer_send(P(), 1, buf, 88), 0); /* 96 bytes */
	cr_assert_eq(vamos_producer_room(P()), 152);
	assert_room_fits("96 held");
	cr_assert_eq(vamos_producer_send(P(), 1, buf, 56), 0); /* 64: tail at 160 */
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 2);
	vamos_consumer_release(C());
	/* 96 left before the end, 160 after it: the wrap side is larger
	 * (reserving there pads the end, and the padding stays: tail at 256). */
	cr_assert_eq(vamos_producer_room(P()), 152);
	assert_room_fits("wrap side larger");
	cr_assert_eq(vamos_producer_send(P(), 1, buf, 24), 0); /* tail at 288 */
	cr_assert_eq(vamos_producer_room(P()), 120, "128 free, all before the end");
	assert_room_fits("after a small record");
	void *p;
	cr_assert_eq(vamos_producer_reserve(P(), 8, &p), 0);
	cr_assert_eq(vamos_producer_room(P()), 0, "nothing while a reservation is open");
	vamos_producer_abort(P());
	cr_assert_eq(vamos_producer_send(P(), 1, buf, 120), 0, "the room");
	cr_assert_eq(vamos_producer_room(P()), 0, "full");
	cr_assert_eq(vamos_producer_reserve(P(), 0, &p), -EAGAIN, "full: not even an empty one");
}

Test(ring_basic, padding_of_header_size_only)
{
	struct vamos_record r[4];
	uint64_t big[30] = {0}; /* 240 + 8 = 248 bytes: 8 left at the end */
	cr_assert_eq(vamos_producer_send(P(), 1, big, sizeof big), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 1);
	vamos_consumer_release(C());
	cr_assert_eq(vamos_producer_send(P(), 3, big, 8), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 1);
	cr_assert_eq(r[0].type, 3);
	cr_assert_eq(r[0].len, 8);
}

Test(ring_basic, largest_record)
{
	uint32_t max = vamos_ring_max_payload(256);
	unsigned char buf[256] = {0};
	struct vamos_record r[2];
	void *p;

	cr_assert_eq(max, 248);
	cr_assert_eq(vamos_producer_reserve(P(), max + 1, &p), -EMSGSIZE);
	cr_assert_eq(vamos_producer_reserve(P(), UINT32_MAX, &p), -EMSGSIZE);
	fill_pattern(buf, 9, max);
	cr_assert_eq(vamos_producer_send(P(), 9, buf, max), 0, "fills an empty ring");
	cr_assert_eq(vamos_producer_free_bytes(P()), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 1);
	cr_assert_eq(r[0].len, max);
	cr_assert(check_pattern(r[0].data, 9, max));
	vamos_consumer_release(C());

	/* Mid-ring, the largest record needs padding first, then an empty ring. */
	cr_assert_eq(vamos_producer_send(P(), 1, buf, 16), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_producer_send(P(), 9, buf, max), -EAGAIN);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 1), 1, "the 16-byte record only");
	vamos_consumer_release(C());
	cr_assert_eq(vamos_producer_send(P(), 9, buf, max), -EAGAIN,
		     "padding published but not yet consumed");
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 0, "padding alone hands out nothing");
	cr_assert_eq(vamos_producer_send(P(), 9, buf, max), 0,
		     "padding alone is given back by the peek that skips it");
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 1);
	cr_assert(check_pattern(r[0].data, 9, max));
}

/* Padding after records still held is not given back with them: only
 * the caller's release does that. */
Test(ring_basic, padding_after_held_records_waits_for_the_release)
{
	uint32_t max = vamos_ring_max_payload(256);
	unsigned char buf[256] = {0};
	struct vamos_record r[2];
	cr_assert_eq(vamos_producer_send(P(), 1, buf, 16), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_producer_send(P(), 9, buf, max), -EAGAIN, "pads, then waits");
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 1), 1, "the 16-byte record, held");
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 0, "then the padding");
	cr_assert_eq(C()->head, 0, "the held record is not given back");
	cr_assert_eq(vamos_producer_send(P(), 9, buf, max), -EAGAIN);
	vamos_consumer_release(C());
	cr_assert_eq(C()->head, 256);
	cr_assert_eq(vamos_producer_send(P(), 9, buf, max), 0);
}

Test(ring_basic, reservation_rules)
{
	void *a, *b;
	struct vamos_record r[2];
	cr_assert_eq(vamos_producer_commit(P(), 1, 0), -EINVAL, "nothing reserved");
	cr_assert_eq(vamos_producer_reserve(P(), 64, &a), 0);
	cr_assert_eq(vamos_producer_reserve(P(), 8, &b), -EBUSY);
	cr_assert_eq(vamos_producer_commit(P(), 1, 65), -EINVAL, "longer than reserved");
	cr_assert_eq(vamos_producer_commit(P(), 0xffff, 8), -EINVAL, "padding type");
	memcpy(a, "shrunk", 7);
	cr_assert_eq(vamos_producer_commit(P(), 5, 7), 0);
	cr_assert_eq(vamos_producer_free_bytes(P()), 256 - 16, "shrink frees space");

	cr_assert_eq(vamos_producer_reserve(P(), 32, &a), 0);
	vamos_producer_abort(P());
	cr_assert_eq(vamos_producer_free_bytes(P()), 256 - 16, "abort frees space");
	cr_assert_eq(vamos_producer_send(P(), 0xffff, "x", 1), -EINVAL);

	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 2), 1, "aborted record never seen");
	cr_assert_eq(r[0].type, 5);
	cr_assert_str_eq(r[0].data, "shrunk");
}

Test(ring_basic, doorbell_only_when_consumer_sleeps)
{
	struct vamos_record r[4];
	cr_assert_eq(vamos_producer_send(P(), 1, "a", 1), 0);
	cr_assert_eq(vamos_producer_publish(P()), 0, "consumer awake: no doorbell");

	cr_assert_eq(vamos_consumer_prepare_sleep(C()), 0, "a record is waiting");
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 1);
	vamos_consumer_release(C());

	cr_assert_eq(vamos_consumer_prepare_sleep(C()), 1);
	cr_assert_eq(vamos_producer_publish(P()), 0, "nothing new: no doorbell");
	cr_assert_eq(vamos_producer_send(P(), 1, "b", 1), 0);
	cr_assert_eq(vamos_producer_publish(P()), 1, "sleeping consumer: ring");
	cr_assert_eq(vamos_producer_send(P(), 1, "c", 1), 0);
	cr_assert_eq(vamos_producer_publish(P()), 0, "announcement already taken");
	vamos_consumer_awake(C());
	cr_assert_eq(vamos_consumer_peek(C(), r, 4), 2);
}

Test(ring_basic, batch_publish_is_one_store)
{
	struct vamos_record r[32];
	for (uint64_t i = 0; i < 16; i++)
		cr_assert_eq(vamos_producer_send(P(), 1, &i, sizeof i), 0);
	cr_assert_eq(vamos_consumer_peek(C(), r, 32), 0);
	vamos_producer_publish(P());
	cr_assert_eq(vamos_consumer_peek(C(), r, 5), 5, "peek honours max");
	cr_assert_eq(vamos_consumer_peek(C(), r + 5, 32), 11);
	for (uint64_t i = 0; i < 16; i++)
		cr_assert_eq(*(uint64_t *)r[i].data, i);
	cr_assert_eq(atomic_load(&fixture_req_ring(&f)->head), 0, "not yet released");
	vamos_consumer_release(C());
	cr_assert_eq(atomic_load(&fixture_req_ring(&f)->head), 16 * 16);
}

Test(ring_basic, reply_ring_runs_the_other_way)
{
	struct vamos_record r[2];
	cr_assert_eq(vamos_producer_send(&f.host.tx, 7, "reply", 6), 0);
	vamos_producer_publish(&f.host.tx);
	cr_assert_eq(vamos_consumer_peek(&f.host.rx, r, 2), 0, "not on the request ring");
	cr_assert_eq(vamos_consumer_peek(&f.guest.rx, r, 2), 1);
	cr_assert_str_eq(r[0].data, "reply");
}
