/* SPDX-License-Identifier: MIT */
/* A hostile peer writing raw bytes into the other end of a socketpair:
 * every kind of bad frame, good records before a bad one, random bytes,
 * corrupted streams. The reader must hand out what was valid, then fail
 * with -EPROTO naming the problem, and stay failed; never crash, never read
 * outside its buffer (ASan). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "helpers.h"

#define SMALL VAMOS_STREAM_MIN_MAX_FRAME

TestSuite(vsock_hostile, .timeout = 120);

struct outcome {
	int records;        /* handed out before the end */
	int rc;             /* what ended it: a failure, or 0 if none came */
	const char *error;
	uint32_t lens[64];  /* lengths of the first 64 records */
	uint16_t types[64];
};

/* Feed @len raw bytes to a fresh reader (then close the writer if
 * @close_after) and poll until the reader fails or has nothing more. */
static struct outcome feed(const void *bytes, size_t len, bool close_after)
{
	struct vamos_chan *ch;
	int raw;
	struct outcome o = {0};
	cr_assert_eq(vt_raw_pair(SMALL, &ch, &raw), 0);
	cr_assert_eq(vt_write_all(raw, bytes, len), 0);
	if (close_after)
		close(raw);
	struct vamos_record r[3];
	for (int spins = 0; spins < 100000; spins++) {
		int n = vamos_chan_poll(ch, r, 3);
		if (n == 0) { /* nothing now: one last look at the socket */
			int w = vamos_chan_wait(ch, 0);
			if (w == -ETIMEDOUT)
				break;
			n = w == 1 ? vamos_chan_poll(ch, r, 3) : w;
		}
		if (n < 0) {
			o.rc = n;
			break;
		}
		for (int i = 0; i < n; i++, o.records++) {
			cr_assert_leq(r[i].len, vamos_chan_max_payload(ch));
			cr_assert_leq(r[i].type, VAMOS_RECORD_TYPE_MAX);
			if (o.records < 64) {
				o.lens[o.records] = r[i].len;
				o.types[o.records] = r[i].type;
			}
			/* Touch every byte: ASan checks they are ours. */
			volatile unsigned char sum = 0;
			for (uint32_t k = 0; k < r[i].len; k++)
				sum ^= ((const unsigned char *)r[i].data)[k];
			(void)sum;
		}
		vamos_chan_release(ch);
	}
	o.error = vamos_chan_error(ch);
	if (o.rc) {
		/* Sticky, whatever else arrives. */
		void *p;
		cr_assert_eq(vamos_chan_poll(ch, r, 3), o.rc);
		cr_assert_eq(vamos_chan_wait(ch, -1), o.rc);
		cr_assert_eq(vamos_chan_reserve(ch, 1, &p), o.rc);
		cr_assert_eq(vamos_chan_flush(ch), o.rc);
		cr_assert_eq(vamos_chan_error(ch), o.error);
	}
	vamos_chan_close(ch);
	if (!close_after)
		close(raw);
	return o;
}

static void expect_broken(const struct vt_raw *r, int good, const char *why)
{
	struct outcome o = feed(r->b, r->n, false);
	cr_assert_eq(o.records, good, "%d records before the break, not %d", o.records, good);
	cr_assert_eq(o.rc, -EPROTO, "rc %d", o.rc);
	cr_assert_str_eq(o.error, why);
}

static const uint32_t two[] = {3, 20};

Test(vsock_hostile, bad_magic)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, 0x464d5631u, 1, 8, 0);
	vt_record_raw(&r, 0, 1, 0, 0);
	expect_broken(&r, 0, "frame has bad magic");
}

Test(vsock_hostile, http_instead_of_frames)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct outcome o = feed(get, sizeof get - 1, false);
	cr_assert_eq(o.rc, -EPROTO);
	cr_assert_str_eq(o.error, "frame has bad magic");
}

Test(vsock_hostile, reserved_frame_word)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 8, 0x100);
	vt_record_raw(&r, 0, 1, 0, 0);
	expect_broken(&r, 0, "frame header has reserved bits set");
}

Test(vsock_hostile, body_too_large_is_refused_from_the_header)
{
	struct vt_raw r = {.n = 0};
	/* One byte over this reader's 64 KiB frame; the body never comes. */
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, SMALL - 16 + 8, 0);
	expect_broken(&r, 0, "frame body exceeds the maximum frame size");
	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 0xfffffff8u, 0);
	expect_broken(&r, 0, "frame body exceeds the maximum frame size");
}

Test(vsock_hostile, body_not_a_multiple_of_8)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 12, 0);
	vt_u32(&r, 4);
	vt_u32(&r, 1);
	vt_u32(&r, 0);
	expect_broken(&r, 0, "frame body length is not a multiple of 8");
}

Test(vsock_hostile, count_mismatches)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 0, 0, 0);
	expect_broken(&r, 0, "frame carries no records");

	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 5, 32, 0);
	vt_record_raw(&r, 3, 1, 0, 0);
	vt_record_raw(&r, 3, 2, 0, 1);
	expect_broken(&r, 0, "frame counts more records than its body can hold");

	/* Count 3 but the two records fill the body: both handed out. */
	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 3, 48, 0);
	vt_record_raw(&r, 3, 1, 0, 0);
	vt_record_raw(&r, 20, 2, 0, 1);
	expect_broken(&r, 2, "frame body ends before its record count");

	/* Count 1 but two records in the body: the first is handed out. */
	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 48, 0);
	vt_record_raw(&r, 3, 1, 0, 0);
	vt_record_raw(&r, 20, 2, 0, 1);
	expect_broken(&r, 1, "frame body has bytes after its last record");
}

Test(vsock_hostile, record_reserved_bits)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 2, 16, 0);
	vt_record_raw(&r, 0, 1, 0, 0);
	vt_record_raw(&r, 0, 1, 1, 0);
	expect_broken(&r, 1, "record header has reserved bits set");
}

Test(vsock_hostile, padding_type)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 8, 0);
	vt_record_raw(&r, 0, 0xffff, 0, 0);
	expect_broken(&r, 0, "record has a type above VAMOS_RECORD_TYPE_MAX");
}

Test(vsock_hostile, record_overrunning_its_frame)
{
	struct vt_raw r = {.n = 0};
	/* Record 2 claims 100 bytes, 16 are left; a good frame follows and
	 * must not be read as part of it. */
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 2, 40, 0);
	vt_record_raw(&r, 10, 1, 0, 0);
	vt_u32(&r, 100);
	vt_u32(&r, 2);
	vt_u32(&r, 0);
	vt_u32(&r, 0);
	vt_u32(&r, 0);
	vt_u32(&r, 0);
	vt_frame(&r, 2, two, 5);
	expect_broken(&r, 1, "record length exceeds its frame");

	r.n = 0; /* the largest length must not wrap any size computation */
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 16, 0);
	vt_u32(&r, UINT32_MAX);
	vt_u32(&r, 1);
	vt_u32(&r, 0);
	vt_u32(&r, 0);
	expect_broken(&r, 0, "record length exceeds its frame");
}

Test(vsock_hostile, good_records_come_before_the_bad_one)
{
	static const uint32_t lens[] = {0, 9, 4000, 17, 8};
	struct vt_raw r = {.n = 0};
	vt_frame(&r, 5, lens, 0);
	vt_frame(&r, 2, two, 5);
	/* A frame whose third record is broken. */
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 4, 8 * 3 + 16, 0);
	vt_record_raw(&r, 0, 10, 0, 0);
	vt_record_raw(&r, 8, 11, 0, 7);
	vt_record_raw(&r, 0, 12, 0x40, 0);
	vt_record_raw(&r, 0, 13, 0, 0);
	struct outcome o = feed(r.b, r.n, false);
	cr_assert_eq(o.records, 9);
	cr_assert_eq(o.rc, -EPROTO);
	cr_assert_str_eq(o.error, "record header has reserved bits set");
	static const uint32_t want_lens[] = {0, 9, 4000, 17, 8, 3, 20, 0, 8};
	static const uint16_t want_types[] = {1, 2, 3, 4, 5, 1, 2, 10, 11};
	for (int i = 0; i < 9; i++) {
		cr_assert_eq(o.lens[i], want_lens[i], "record %d", i);
		cr_assert_eq(o.types[i], want_types[i], "record %d", i);
	}
}

Test(vsock_hostile, break_is_reported_by_the_next_call)
{
	struct vamos_chan *ch;
	int raw;
	struct vt_raw r = {.n = 0};
	vt_frame(&r, 2, two, 0);
	vt_frame_header(&r, 0, 0, 0, 0);
	cr_assert_eq(vt_raw_pair(SMALL, &ch, &raw), 0);
	cr_assert_eq(vt_write_all(raw, r.b, r.n), 0);
	struct vamos_record rec[8];
	cr_assert_eq(vamos_chan_poll(ch, rec, 8), 2, "good ones first");
	cr_assert(vt_check(rec[1].data, 1, 20), "still valid until release");
	vamos_chan_release(ch);
	cr_assert_eq(vamos_chan_poll(ch, rec, 8), -EPROTO);
	cr_assert_str_eq(vamos_chan_error(ch), "frame has bad magic");
	vamos_chan_close(ch);
	close(raw);
}

Test(vsock_hostile, truncated_frame_then_close)
{
	static const uint32_t lens[] = {100, 200};
	struct vt_raw r = {.n = 0};
	vt_frame(&r, 2, lens, 0);
	for (size_t cut = 1; cut < r.n; cut += 7) {
		struct outcome o = feed(r.b, cut, true);
		cr_assert_eq(o.records, 0, "cut at %zu", cut);
		cr_assert_eq(o.rc, -ECONNRESET);
		cr_assert_str_eq(o.error, "peer closed the connection mid-frame");
	}
	struct outcome o = feed(r.b, r.n, true);
	cr_assert_eq(o.records, 2);
	cr_assert_str_eq(o.error, "peer closed the connection");
}

Test(vsock_hostile, random_bytes)
{
	unsigned seed = 777;
	static unsigned char buf[4096];
	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)rand_r(&seed);
		/* Half of them start like a frame with a plausible body. */
		if (round % 2 && len >= 16) {
			memcpy(buf, "VMF1", 4);
			uint32_t body = (uint32_t)((len - 16) & ~7u);
			buf[4] = (unsigned char)(rand_r(&seed) % 8 + 1);
			buf[5] = buf[6] = buf[7] = 0;
			memcpy(buf + 8, &body, 4);
			memset(buf + 12, 0, 4);
		}
		struct outcome o = feed(buf, len, round % 3 != 0);
		if (round % 3 == 0)
			cr_assert(o.rc == 0 || o.rc == -EPROTO, "round %d: %d", round, o.rc);
		else
			cr_assert(o.rc == -EPROTO || o.rc == -ECONNRESET, "round %d: %d", round, o.rc);
		if (o.rc)
			cr_assert_not_null(o.error);
	}
}

Test(vsock_hostile, corrupted_valid_streams)
{
	unsigned seed = 4242;
	static struct vt_raw good, bad;
	static const uint32_t lens[] = {0, 1, 8, 15, 16, 17, 200, 1000, 31, 0, 64};
	good.n = 0;
	uint64_t total = 0;
	for (unsigned f = 1; f <= 11; f++) {
		vt_frame(&good, f, lens, total);
		total += f;
	}
	for (int round = 0; round < 3000; round++) {
		memcpy(bad.b, good.b, good.n);
		bad.n = good.n;
		int flips = 1 + rand_r(&seed) % 3;
		for (int k = 0; k < flips; k++)
			bad.b[(size_t)rand_r(&seed) % bad.n] ^= (unsigned char)(1u << (rand_r(&seed) % 8));
		struct outcome o = feed(bad.b, bad.n, true);
		cr_assert(o.rc == -EPROTO || o.rc == -ECONNRESET, "round %d: %d", round, o.rc);
		cr_assert_leq((uint64_t)o.records, total + 200);
	}
}
