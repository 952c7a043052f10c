/* SPDX-License-Identifier: MIT */
/* vamosd's reassembly of requests and replies in pieces
 * (host-server/mysql_fragments.c): good sequences, and every hostile one
 * (gap, overlap, repeat, oversize, total or op mismatch, interleaving,
 * abandon) fails that piece, frees what was held, and leaves the next
 * request of the context to start afresh. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vamos/mysql_protocol.h>

#include "mysql_fragments.h"

static struct mfrag *f;
static const char *why;

static void setup(void)
{
	struct mfrag_limits lim = { .max_message = 4096, .max_held = 8192, .max_entries = 4 };
	cr_assert_eq(mfrag_new(&lim, &f), 0);
	why = NULL;
}

static void teardown(void)
{
	mfrag_free(f);
}

TestSuite(fragments, .init = setup, .fini = teardown);

/* A whole request of @total bytes for @ctx: its header, then bytes i & 0xff. */
static unsigned char *request(uint64_t ctx, uint32_t total)
{
	unsigned char *b = malloc(total);
	for (uint32_t i = 0; i < total; i++)
		b[i] = (unsigned char)i;
	struct vamos_mysql_req h = { .version = VAMOS_MYSQL_VERSION, .ctx = ctx };
	memcpy(b, &h, sizeof h);
	return b;
}

static int piece(uint64_t ctx, uint16_t op, uint32_t seq, uint64_t total, uint64_t off,
		 const unsigned char *bytes, uint32_t n, struct mfrag_whole *w)
{
	struct vamos_mysql_fragment h = { .op = op, .seq = seq, .total = total, .offset = off };
	struct mfrag_whole sink;
	return mfrag_put(f, ctx, &h, bytes, n, w ? w : &sink, &why);
}

Test(fragments, pieces_in_order_make_the_whole_request)
{
	unsigned char *r = request(7, 3000);
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 0, 3000, 0, r, 1000, NULL), 0);
	cr_assert_eq(mfrag_held(f), 3000);
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 1, 3000, 1000, r + 1000, 1000, NULL), 0);
	struct mfrag_whole w;
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 2, 3000, 2000, r + 2000, 1000, &w), MFRAG_COMPLETE);
	cr_assert_eq(w.op, VAMOS_MYSQL_WRITE);
	cr_assert_eq(w.len, 3000);
	cr_assert_eq(memcmp(w.data, r, 3000), 0);
	mfrag_release(f, 7, true);
	cr_assert_eq(mfrag_held(f), 0);
	free(r);
}

Test(fragments, a_retried_last_piece_is_taken_again)
{
	unsigned char *r = request(7, 2000);
	cr_assert_eq(piece(7, VAMOS_MYSQL_UPDATE, 0, 2000, 0, r, 1500, NULL), 0);
	cr_assert_eq(piece(7, VAMOS_MYSQL_UPDATE, 1, 2000, 1500, r + 1500, 500, NULL), MFRAG_COMPLETE);
	/* in use: another piece of the context changes nothing */
	cr_assert_eq(piece(7, VAMOS_MYSQL_UPDATE, 1, 2000, 1500, r + 1500, 500, NULL), -EBUSY);
	mfrag_release(f, 7, false); /* -EAGAIN: handed over again */
	struct mfrag_whole w;
	cr_assert_eq(piece(7, VAMOS_MYSQL_UPDATE, 1, 2000, 1500, r + 1500, 500, &w), MFRAG_COMPLETE);
	cr_assert_eq(memcmp(w.data, r, 2000), 0);
	mfrag_release(f, 7, true);
	cr_assert_eq(mfrag_held(f), 0);
	free(r);
}

/* Start a 3000-byte request of ctx 7 with one 1000-byte piece. */
static unsigned char *started(void)
{
	unsigned char *r = request(7, 3000);
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 0, 3000, 0, r, 1000, NULL), 0);
	return r;
}

/* After a refused piece nothing is held and a new request starts cleanly. */
static void check_dropped(unsigned char *r, int rc, int want)
{
	cr_assert_eq(rc, want, "rc %d (%s)", rc, why ? why : "");
	cr_assert_not_null(why);
	cr_assert_eq(mfrag_held(f), 0);
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 1, 3000, 1000, r + 1000, 1000, NULL), -EINVAL,
		     "a later piece of the dropped request must fail");
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 0, 3000, 0, r, 1000, NULL), 0);
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 1, 3000, 1000, r + 1000, 1000, NULL), 0);
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 2, 3000, 2000, r + 2000, 1000, NULL),
		     MFRAG_COMPLETE);
	mfrag_release(f, 7, true);
	cr_assert_eq(mfrag_held(f), 0);
	free(r);
}

Test(fragments, gap)
{
	unsigned char *r = started();
	check_dropped(r, piece(7, VAMOS_MYSQL_WRITE, 1, 3000, 1500, r + 1500, 500, NULL), -EINVAL);
}

Test(fragments, overlap)
{
	unsigned char *r = started();
	check_dropped(r, piece(7, VAMOS_MYSQL_WRITE, 1, 3000, 500, r + 500, 1000, NULL), -EINVAL);
}

Test(fragments, repeated_or_skipped_sequence)
{
	unsigned char *r = started();
	check_dropped(r, piece(7, VAMOS_MYSQL_WRITE, 2, 3000, 1000, r + 1000, 1000, NULL), -EINVAL);
	r = started();
	check_dropped(r, piece(7, VAMOS_MYSQL_WRITE, 0, 3000, 0, r, 1000, NULL), -EINVAL);
}

Test(fragments, piece_past_the_total)
{
	unsigned char *r = started();
	unsigned char big[2500] = { 0 };
	check_dropped(r, piece(7, VAMOS_MYSQL_WRITE, 1, 3000, 1000, big, 2500, NULL), -EINVAL);
}

Test(fragments, total_or_op_mismatch)
{
	unsigned char *r = started();
	check_dropped(r, piece(7, VAMOS_MYSQL_WRITE, 1, 2999, 1000, r + 1000, 1000, NULL), -EINVAL);
	r = started();
	check_dropped(r, piece(7, VAMOS_MYSQL_UPDATE, 1, 3000, 1000, r + 1000, 1000, NULL), -EINVAL);
}

Test(fragments, another_request_meanwhile_is_an_interleaving)
{
	unsigned char *r = started();
	check_dropped(r, mfrag_other_request(f, 7, &why), -EINVAL);
}

Test(fragments, oversize_total_is_refused_before_allocating)
{
	unsigned char b[64] = { 0 };
	cr_assert_eq(piece(9, VAMOS_MYSQL_WRITE, 0, 4097, 0, b, 64, NULL), -EMSGSIZE);
	cr_assert_eq(piece(9, VAMOS_MYSQL_WRITE, 0, UINT64_MAX, 0, b, 64, NULL), -EMSGSIZE);
	cr_assert_eq(mfrag_held(f), 0);
}

Test(fragments, bad_first_pieces)
{
	unsigned char b[64] = { 0 };
	/* not the first piece */
	cr_assert_eq(piece(9, VAMOS_MYSQL_WRITE, 1, 1000, 0, b, 64, NULL), -EINVAL);
	cr_assert_eq(piece(9, VAMOS_MYSQL_WRITE, 0, 1000, 64, b, 64, NULL), -EINVAL);
	/* framing ops inside, an unknown op, an empty piece, a piece over the total */
	cr_assert_eq(piece(9, VAMOS_MYSQL_FRAGMENT, 0, 1000, 0, b, 64, NULL), -EINVAL);
	cr_assert_eq(piece(9, VAMOS_MYSQL_REPLY_NEXT, 0, 1000, 0, b, 64, NULL), -EINVAL);
	cr_assert_eq(piece(9, 999, 0, 1000, 0, b, 64, NULL), -EINVAL);
	cr_assert_eq(piece(9, VAMOS_MYSQL_WRITE, 0, 1000, 0, b, 0, NULL), -EINVAL);
	cr_assert_eq(piece(9, VAMOS_MYSQL_WRITE, 0, 32, 0, b, 64, NULL), -EINVAL);
	/* reserved bits */
	struct vamos_mysql_fragment h = { .op = VAMOS_MYSQL_WRITE, .reserved = 1, .total = 1000 };
	struct mfrag_whole w;
	cr_assert_eq(mfrag_put(f, 9, &h, b, 64, &w, &why), -EINVAL);
	cr_assert_eq(mfrag_held(f), 0);
}

Test(fragments, whole_request_for_another_context_is_refused)
{
	unsigned char *r = request(8, 100);
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 0, 100, 0, r, 100, NULL), -EINVAL);
	cr_assert_eq(mfrag_held(f), 0);
	free(r);
}

Test(fragments, memory_held_per_vm_is_bounded)
{
	unsigned char b[64] = { 0 };
	cr_assert_eq(piece(1, VAMOS_MYSQL_WRITE, 0, 4096, 0, b, 64, NULL), 0);
	cr_assert_eq(piece(2, VAMOS_MYSQL_WRITE, 0, 4096, 0, b, 64, NULL), 0);
	cr_assert_eq(piece(3, VAMOS_MYSQL_WRITE, 0, 100, 0, b, 64, NULL), -ENOMEM);
	cr_assert_eq(mfrag_held(f), 8192);
	mfrag_drop(f, 1); /* its CTX_CLOSE */
	cr_assert_eq(mfrag_held(f), 4096);
	cr_assert_eq(piece(3, VAMOS_MYSQL_WRITE, 0, 100, 0, b, 64, NULL), 0);
	cr_assert_eq(piece(4, VAMOS_MYSQL_WRITE, 0, 100, 0, b, 64, NULL), 0);
	cr_assert_eq(piece(5, VAMOS_MYSQL_WRITE, 0, 100, 0, b, 64, NULL), 0);
	/* every entry taken */
	cr_assert_eq(piece(6, VAMOS_MYSQL_WRITE, 0, 100, 0, b, 64, NULL), -ENOMEM);
	mfrag_reset(f); /* the VM's guest went away */
	cr_assert_eq(mfrag_held(f), 0);
	cr_assert_eq(piece(6, VAMOS_MYSQL_WRITE, 0, 100, 0, b, 64, NULL), 0);
}

Test(fragments, reset_while_in_use_frees_at_release)
{
	unsigned char *r = request(7, 100);
	cr_assert_eq(piece(7, VAMOS_MYSQL_WRITE, 0, 100, 0, r, 100, NULL), MFRAG_COMPLETE);
	mfrag_reset(f);
	cr_assert_eq(mfrag_held(f), 100, "still in use");
	mfrag_release(f, 7, false);
	cr_assert_eq(mfrag_held(f), 0);
	free(r);
}

static int64_t next(uint64_t ctx, uint64_t offset, void *dst, uint32_t cap)
{
	struct vamos_mysql_next n = { .offset = offset };
	return mfrag_next(f, ctx, (const unsigned char *)&n, sizeof n, dst, cap, &why);
}

Test(fragments, reply_fetched_in_pieces)
{
	unsigned char *r = request(7, 3000), out[3000];
	cr_assert_eq(mfrag_keep_reply(f, 7, r, 3000, 1000), 0);
	cr_assert_eq(mfrag_held(f), 3000);
	cr_assert_eq(next(7, 1000, out + 1000, 1500), 1500);
	cr_assert_eq(next(7, 2500, out + 2500, 1500), 500);
	cr_assert_eq(mfrag_held(f), 0);
	unsigned char *want = request(7, 3000);
	cr_assert_eq(memcmp(out + 1000, want + 1000, 2000), 0);
	free(want);
	cr_assert_eq(next(7, 3000, out, 100), -EINVAL, "nothing left");
}

Test(fragments, reply_asked_at_a_wrong_offset_is_dropped)
{
	unsigned char out[100];
	cr_assert_eq(mfrag_keep_reply(f, 7, request(7, 3000), 3000, 1000), 0);
	cr_assert_eq(next(7, 900, out, 100), -EINVAL);
	cr_assert_eq(mfrag_held(f), 0);
	cr_assert_eq(next(7, 1000, out, 100), -EINVAL);
	struct vamos_mysql_next n = { 0 };
	cr_assert_eq(mfrag_next(f, 7, (const unsigned char *)&n, 4, out, 100, &why), -EINVAL);
}

Test(fragments, abandoned_reply_is_dropped_by_the_next_request)
{
	cr_assert_eq(mfrag_keep_reply(f, 7, request(7, 3000), 3000, 1000), 0);
	cr_assert_eq(mfrag_other_request(f, 7, &why), 0);
	cr_assert_eq(mfrag_held(f), 0);
	cr_assert_eq(mfrag_keep_reply(f, 7, request(7, 3000), 3000, 1000), 0);
	cr_assert_eq(mfrag_keep_reply(f, 8, request(8, 4096), 4096, 1000), 0);
	cr_assert_eq(mfrag_keep_reply(f, 9, request(9, 2000), 2000, 1000), -ENOMEM,
		     "over the VM's bound");
	cr_assert_eq(mfrag_held(f), 7096);
}
