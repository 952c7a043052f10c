/* SPDX-License-Identifier: MIT */
/* The executor's isolation levels and snapshots, and its estimates: a
 * context reads at one snapshot per transaction (REPEATABLE READ) unless
 * each statement's first request asks for a fresh one (READ COMMITTED,
 * also when that request is a write); SNAPSHOT takes it at once; an ended
 * transaction leaves no snapshot in the store; RECORDS_IN_RANGE and the row count of a 10,000
 * row table stay within a sane factor of the truth, in memtables and in
 * SST files. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rmtree.h"

#include "executor_state.h"
#include "mx_harness.h"

static char dir[64];
static struct mx_vm *vm;
static struct mxh_reply rep;

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/vamos-iso-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	const char *why = NULL;
	struct mx_options o = { .lock_wait_ms = 300, .max_contexts = 16, .max_tables = 8 };
	cr_assert_eq(mx_vm_open(dir, "vm1", &o, mxh_done, &vm, &why), 0, "%s", why);
}

static void teardown(void)
{
	mx_vm_close(vm);
	rmtree(dir);
}

TestSuite(isolation, .init = setup, .fini = teardown, .timeout = 120);

static int op0(uint16_t op, uint64_t ctx)
{
	return mxh_simple(vm, op, ctx, 0, 0, NULL, 0, &rep);
}

static uint32_t table(const char *name)
{
	uint8_t unique = 0;
	cr_assert_eq(mxh_create(vm, name, false, 1, &unique, 0), 0);
	int64_t h = mxh_open(vm, name);
	cr_assert_gt(h, 0);
	return (uint32_t)h;
}

/* Write row @pk (= its row and key) in @ctx's transaction, as a
 * statement's first request when @flags says so. */
static void write_row(uint64_t ctx, uint32_t t, const char *pk, uint16_t flags)
{
	struct vamos_mysql_write w = { .count = 1 };
	struct vamos_mysql_write_row wr = { .row_len = (uint32_t)strlen(pk),
					    .pk_len = (uint16_t)strlen(pk), .nsec = 1 };
	uint16_t klen = wr.pk_len;
	static struct mxh_req req;
	mxh_begin(&req, ctx, t, flags);
	mxh_put(&req, &w, sizeof w);
	uint32_t start = req.len;
	mxh_put(&req, &wr, sizeof wr);
	mxh_put(&req, &klen, sizeof klen);
	mxh_put(&req, pk, wr.pk_len);
	mxh_put(&req, pk, klen);
	mxh_put(&req, pk, wr.row_len);
	while ((req.len - start) % 8)
		req.buf[req.len++] = 0;
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_WRITE, &req, &rep), 0, "write %s: %d", pk,
		     rep.status);
}

/* Commit row @pk from a context of its own. */
static void committed_row(uint32_t t, const char *pk)
{
	uint64_t w = mxh_ctx_open(vm);
	write_row(w, t, pk, 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, w), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_CTX_CLOSE, w), 0);
}

/* The primary keys @ctx reads now ("a;b;"), with @flags. */
static const char *keys(uint64_t ctx, uint32_t t, uint16_t flags)
{
	static char text[4096], out[4096];
	struct mxh_read rd = { .start = VAMOS_MYSQL_START_FIRST, .flags = flags };
	int st = mxh_read(vm, ctx, t, &rd, &rep);
	if (st)
		return st == -ENOENT ? "" : "error";
	mxh_rows_text(&rep, text, sizeof text, NULL, 0, NULL);
	/* "pk=row;" -> "pk;" */
	size_t o = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '=')
			while (p[1] && p[1] != ';')
				p++;
		else
			out[o++] = *p;
	}
	out[o] = 0;
	return out;
}

Test(isolation, read_committed_sees_commits_between_statements_repeatable_read_does_not)
{
	uint32_t t = table("t");
	committed_row(t, "a");
	uint64_t rr = mxh_ctx_open(vm), rc = mxh_ctx_open(vm);
	const uint16_t FRESH = VAMOS_MYSQL_FRESH_SNAPSHOT;
	cr_assert_str_eq(keys(rr, t, FRESH), "a;");
	cr_assert_str_eq(keys(rc, t, FRESH), "a;");
	committed_row(t, "b");
	cr_assert_str_eq(keys(rr, t, 0), "a;", "REPEATABLE READ: the transaction's snapshot");
	cr_assert_str_eq(keys(rc, t, FRESH), "a;b;", "READ COMMITTED: the statement's");

	/* In write transactions, with a write as the statement's first request. */
	write_row(rr, t, "r1", 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, rr), 0);
	write_row(rc, t, "c1", 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, rc), 0);
	committed_row(t, "d");
	write_row(rr, t, "r2", 0);
	cr_assert_str_eq(keys(rr, t, 0), "a;r1;r2;", "a writer in REPEATABLE READ");
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, rr), 0);
	write_row(rc, t, "c2", FRESH);
	cr_assert_str_eq(keys(rc, t, 0), "a;b;c1;c2;d;",
			 "a writer in READ COMMITTED: the statement began with a write");
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, rc), 0);
	committed_row(t, "e");
	cr_assert_str_eq(keys(rc, t, 0), "a;b;c1;c2;d;", "within a statement: its snapshot");
	cr_assert_str_eq(keys(rc, t, FRESH), "a;b;c1;c2;d;e;");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, rr), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, rc), 0);
}

Test(isolation, an_ended_transaction_leaves_no_snapshot)
{
	uint32_t t = table("t");
	committed_row(t, "a");
	uint64_t c = mxh_ctx_open(vm);
	cr_assert_eq(mx_vm_stats(vm).snapshots, 0);
	cr_assert_str_eq(keys(c, t, 0), "a;");
	cr_assert_eq(mx_vm_stats(vm).snapshots, 1, "a reading transaction holds one");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c), 0);
	cr_assert_eq(mx_vm_stats(vm).snapshots, 0, "an autocommit read ended: none");
	write_row(c, t, "b", 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, c), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c), 0);
	cr_assert_eq(mx_vm_stats(vm).snapshots, 0, "an autocommit write ended: none");
	cr_assert_str_eq(keys(c, t, 0), "a;b;", "the next read takes a new one");
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, c), 0);
	cr_assert_eq(mx_vm_stats(vm).snapshots, 0);
}

Test(isolation, a_snapshot_taken_at_once_sees_nothing_committed_after_it)
{
	uint32_t t = table("t");
	committed_row(t, "a");
	uint64_t c = mxh_ctx_open(vm);
	cr_assert_eq(op0(VAMOS_MYSQL_SNAPSHOT, c), 0);
	cr_assert(!rep.deferred, "a reader's: at once");
	committed_row(t, "b");
	cr_assert_str_eq(keys(c, t, 0), "a;", "the snapshot of SNAPSHOT, not of the first read");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c), 0);
	cr_assert_eq(mx_vm_stats(vm).snapshots, 0);

	/* A writer's, between statements: renewed. */
	write_row(c, t, "c", 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, c), 0);
	committed_row(t, "d");
	cr_assert_eq(op0(VAMOS_MYSQL_SNAPSHOT, c), 0);
	cr_assert(rep.deferred, "a writer's: on the pool");
	cr_assert_str_eq(keys(c, t, 0), "a;b;c;d;");
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, c), 0);
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_SNAPSHOT, c, 0, 0, "x", 1, &rep), -EINVAL,
		     "SNAPSHOT has no body");
	cr_assert_eq(op0(VAMOS_MYSQL_SNAPSHOT, 0), -EINVAL, "nor is it without a context");
}

/* ---- estimates ---- */

#define ROWS 10000

static uint32_t big_table(void)
{
	uint32_t t = table("big");
	uint64_t w = mxh_ctx_open(vm);
	char pk[16];
	for (unsigned i = 0; i < ROWS; i++) {
		snprintf(pk, sizeof pk, "k%05u", i);
		write_row(w, t, pk, 0);
	}
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, w), 0);
	return t;
}

/* RECORDS_IN_RANGE of index @index over keys [@min, @max]. */
static uint64_t in_range(uint32_t t, uint32_t index, const char *min, const char *max)
{
	struct mxh_req r;
	struct vamos_mysql_range q = { .index = index, .min_len = (uint16_t)strlen(min),
				       .max_len = (uint16_t)strlen(max),
				       .min_flag = VAMOS_MYSQL_KEY_EXACT,
				       .max_flag = VAMOS_MYSQL_AFTER_KEY };
	mxh_begin(&r, 0, t, 0);
	mxh_put(&r, &q, sizeof q);
	mxh_put(&r, min, q.min_len);
	mxh_put(&r, max, q.max_len);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_RECORDS_IN_RANGE, &r, &rep), 0);
	struct vamos_mysql_estimate e;
	memcpy(&e, rep.data, sizeof e);
	return e.rows;
}

static uint64_t info_rows(uint32_t t)
{
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_INFO, 0, t, 0, NULL, 0, &rep), 0);
	struct vamos_mysql_info in;
	memcpy(&in, rep.data, sizeof in);
	return in.rows;
}

/* Within @factor of @truth, either way. */
static void near(uint64_t got, uint64_t truth, double factor, const char *what)
{
	cr_assert(got >= truth / factor && got <= truth * factor,
		  "%s: %llu for %llu rows (factor %.2f)", what, (unsigned long long)got,
		  (unsigned long long)truth, factor);
}

Test(isolation, estimates_of_a_10000_row_table_in_memtables_and_sst_files)
{
	uint32_t t = big_table();
	/* Right after the inserts, all in memtables: counts up to 4096 entries
	 * are exact, the rest is a guess. */
	cr_assert_eq(info_rows(t), ROWS, "the commit's own count");
	cr_assert_eq(in_range(t, 0, "k00100", "k00199"), 100);
	cr_assert_eq(in_range(t, 1, "k05000", "k05099"), 100);
	near(in_range(t, 0, "k00000", "k04499"), 4500, 2.0, "memtable, primary");
	near(in_range(t, 1, "k01000", "k09999"), 9000, 2.0, "memtable, secondary");

	/* In SST files, RocksDB's sizes scale the part past the count. */
	cr_assert_eq(mh_store_flush(vm->store), 0);
	cr_assert_eq(in_range(t, 0, "k00100", "k00199"), 100);
	near(in_range(t, 0, "k00000", "k04499"), 4500, 1.25, "SST, primary");
	near(in_range(t, 1, "k00000", "k04499"), 4500, 1.25, "SST, secondary");
	near(in_range(t, 1, "k01000", "k09999"), 9000, 1.25, "SST, secondary, long");
}

Test(isolation, a_reopened_store_estimates_the_rows_of_a_large_table)
{
	uint32_t t = big_table();
	(void)t;
	mx_vm_close(vm);
	const char *why = NULL;
	struct mx_options o = { .lock_wait_ms = 300, .max_contexts = 16, .max_tables = 8 };
	cr_assert_eq(mx_vm_open(dir, "vm1", &o, mxh_done, &vm, &why), 0, "%s", why);
	int64_t h = mxh_open(vm, "big");
	cr_assert_gt(h, 0);
	near(info_rows((uint32_t)h), ROWS, 1.25, "rows after a reopen");
	near(in_range((uint32_t)h, 0, "k00000", "k04499"), 4500, 1.25, "a range after a reopen");
	/* The estimate moves exactly with each commit from there. */
	uint64_t before = info_rows((uint32_t)h);
	committed_row((uint32_t)h, "z1");
	cr_assert_eq(info_rows((uint32_t)h), before + 1);
}
