/* SPDX-License-Identifier: MIT */
/* The pure frame codec (transport-vsock/frame.c) on byte buffers: valid
 * frames, every prefix of them, each kind of bad field, random bytes. Each
 * buffer is allocated to its exact length so ASan sees any read past it. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "helpers.h"
#include "../../transport-vsock/frame.h"

#define MAX_BODY (1u << 16)

/* The frame in @r copied into a heap block of exactly @len bytes. */
static unsigned char *exact(const struct vt_raw *r, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);
	cr_assert_not_null(p);
	memcpy(p, r->b, len);
	return p;
}

/* vamos_frame_validate on exactly the bytes of @r. */
static int validate(const struct vt_raw *r, size_t *size, uint32_t *count,
		    const char **why)
{
	unsigned char *p = exact(r, r->n);
	int rc = vamos_frame_validate(p, r->n, MAX_BODY, size, count, why);
	free(p);
	return rc;
}

static void expect_bad(const struct vt_raw *r, const char *what)
{
	size_t size;
	uint32_t count;
	const char *why = NULL;
	cr_assert_eq(validate(r, &size, &count, &why), -EPROTO, "accepted: %s", what);
	cr_assert_str_eq(why, what);
}

Test(vsock_frame, encoder_matches_the_documented_layout)
{
	unsigned char h[VAMOS_FRAME_HEADER_SIZE];
	struct vt_raw r = {.n = 0};
	vamos_frame_put_header(h, 3, 40);
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 3, 40, 0);
	cr_assert_arr_eq(h, r.b, sizeof h);
	cr_assert_arr_eq(h, "VMF1", 4, "magic reads VMF1 on the wire");
}

Test(vsock_frame, valid_frames_and_every_prefix)
{
	static const uint32_t lens[] = {0, 1, 7, 8, 9, 100, 0, 4000};
	struct vt_raw r = {.n = 0};
	vt_frame(&r, 8, lens, 50);
	size_t size;
	uint32_t count;
	const char *why = NULL;

	cr_assert_eq(validate(&r, &size, &count, &why), 1, "%s", why);
	cr_assert_eq(size, r.n);
	cr_assert_eq(count, 8);
	for (size_t len = 0; len < r.n; len++) {
		unsigned char *p = exact(&r, len);
		cr_assert_eq(vamos_frame_validate(p, len, MAX_BODY, &size, &count, &why),
			     0, "prefix of %zu bytes needs more", len);
		free(p);
	}
}

Test(vsock_frame, records_walk_in_order_with_exact_bounds)
{
	static const uint32_t lens[] = {5, 0, 16, 3};
	struct vt_raw r = {.n = 0};
	vt_frame(&r, 4, lens, 7);
	struct vamos_frame_cursor c = {.off = 16, .end = r.n, .left = 4};
	struct vamos_frame_record rec;
	const char *why;
	size_t expect_off = 16;
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(vamos_frame_next(r.b, &c, &rec, &why), 1);
		cr_assert_eq(rec.payload, expect_off + 8);
		cr_assert_eq(rec.len, lens[i]);
		cr_assert_eq(rec.type, i + 1);
		cr_assert(vt_check(r.b + rec.payload, 7 + i, rec.len));
		expect_off += vt_rsize(lens[i]);
	}
	cr_assert_eq(vamos_frame_next(r.b, &c, &rec, &why), 0, "frame done");
}

Test(vsock_frame, bad_magic)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, 0x32464d56u /* VMF2 */, 1, 8, 0);
	vt_record_raw(&r, 0, 1, 0, 0);
	expect_bad(&r, "frame has bad magic");
}

Test(vsock_frame, reserved_header_word)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 8, 1u << 31);
	vt_record_raw(&r, 0, 1, 0, 0);
	expect_bad(&r, "frame header has reserved bits set");
}

Test(vsock_frame, header_is_judged_before_the_body_arrives)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, MAX_BODY + 8, 0);
	expect_bad(&r, "frame body exceeds the maximum frame size");
	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, UINT32_MAX - 7, 0);
	expect_bad(&r, "frame body exceeds the maximum frame size");
	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 12, 0);
	expect_bad(&r, "frame body length is not a multiple of 8");
	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 0, 0, 0);
	expect_bad(&r, "frame carries no records");
	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 3, 16, 0);
	expect_bad(&r, "frame counts more records than its body can hold");
	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, UINT32_MAX, MAX_BODY, 0);
	expect_bad(&r, "frame counts more records than its body can hold");
}

Test(vsock_frame, largest_body_is_accepted)
{
	static struct vt_raw r;
	r.n = 0;
	uint32_t len = MAX_BODY - 8 - 16; /* leaves room in vt_raw */
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 2, vt_rsize(len) + 16, 0);
	vt_record_raw(&r, len, 1, 0, 1);
	vt_record_raw(&r, 8, 2, 0, 2);
	size_t size;
	uint32_t count;
	const char *why = NULL;
	cr_assert_eq(validate(&r, &size, &count, &why), 1, "%s", why);
	cr_assert_eq(size, 16 + MAX_BODY);
}

Test(vsock_frame, record_reserved_bits)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 8, 0);
	vt_record_raw(&r, 0, 1, 0x8000, 0);
	expect_bad(&r, "record header has reserved bits set");
}

Test(vsock_frame, padding_type_is_not_a_record_type)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 8, 0);
	vt_record_raw(&r, 0, 0xffff, 0, 0);
	expect_bad(&r, "record has a type above VAMOS_RECORD_TYPE_MAX");
}

Test(vsock_frame, record_overrunning_the_body)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 16, 0);
	vt_u32(&r, 9); /* 9 bytes need 24 with header and padding */
	vt_u32(&r, 1);
	vt_u32(&r, 0);
	vt_u32(&r, 0);
	expect_bad(&r, "record length exceeds its frame");

	r.n = 0; /* a length near 4 GiB must not wrap around */
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 16, 0);
	vt_u32(&r, UINT32_MAX);
	vt_u32(&r, 1);
	vt_u32(&r, 0);
	vt_u32(&r, 0);
	expect_bad(&r, "record length exceeds its frame");
}

Test(vsock_frame, sizes_must_sum_to_the_body)
{
	struct vt_raw r = {.n = 0};
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 1, 24, 0);
	vt_record_raw(&r, 4, 1, 0, 0);
	vt_u32(&r, 0);
	vt_u32(&r, 0);
	expect_bad(&r, "frame body has bytes after its last record");

	r.n = 0;
	vt_frame_header(&r, VAMOS_FRAME_MAGIC, 2, 24, 0);
	vt_record_raw(&r, 16, 1, 0, 0);
	expect_bad(&r, "frame body ends before its record count");
}

Test(vsock_frame, random_bytes_never_read_out_of_bounds)
{
	unsigned seed = 12345;
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand_r(&seed) % 96);
		unsigned char *p = malloc(len ? len : 1);
		for (size_t i = 0; i < len; i++)
			p[i] = (unsigned char)rand_r(&seed);
		/* Make some of them look like frames. */
		if (len >= 16 && rand_r(&seed) % 2) {
			memcpy(p, "VMF1", 4);
			memset(p + 12, 0, 4);
			p[8] = (unsigned char)((len - 16) & ~7u);
			p[9] = p[10] = p[11] = 0;
			p[4] = (unsigned char)(rand_r(&seed) % 6);
			p[5] = p[6] = p[7] = 0;
		}
		size_t size = 0;
		uint32_t count = 0;
		const char *why = NULL;
		int rc = vamos_frame_validate(p, len, MAX_BODY, &size, &count, &why);
		cr_assert(rc == 0 || rc == 1 || rc == -EPROTO);
		if (rc == 1)
			cr_assert(size <= len && count >= 1);
		if (rc < 0)
			cr_assert_not_null(why);
		free(p);
	}
}
