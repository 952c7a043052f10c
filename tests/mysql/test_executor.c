/* SPDX-License-Identifier: MIT */
/* The MySQL executor through its request interface, as vamosd's service
 * drives it: every op, every find flag and stop, batching, every error,
 * transactions, row locks between contexts (waits, timeouts, deadlocks),
 * resets and durability. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rmtree.h"

#include "mx_harness.h"
/* the store behind the executor, to damage a table in it */
#include "executor_state.h"
#include "store_internal.h"

static char dir[64];
static struct mx_vm *vm;
static struct mxh_reply rep;

static void open_vm(unsigned lock_wait_ms)
{
	const char *why = NULL;
	struct mx_options o = { .lock_wait_ms = lock_wait_ms,
				.max_contexts = 16, .max_tables = 8 };
	cr_assert_eq(mx_vm_open(dir, "vm1", &o, mxh_done, &vm, &why), 0, "%s", why);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/vamos-mx-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	open_vm(300);
}

static void teardown(void)
{
	mx_vm_close(vm);
	rmtree(dir);
}

TestSuite(executor, .init = setup, .fini = teardown, .timeout = 60);

static int op0(uint16_t op, uint64_t ctx, uint32_t table)
{
	return mxh_simple(vm, op, ctx, table, 0, NULL, 0, &rep);
}

/* A table "t" with (pk, row) pairs and one secondary key each (unique or
 * not), committed; returns its handle. */
static uint32_t table_with(const char *name, bool unique, const char *const rows[][3],
			   unsigned n)
{
	uint8_t u = unique;
	cr_assert_eq(mxh_create(vm, name, false, 1, &u, 0), 0);
	int64_t h = mxh_open(vm, name);
	cr_assert_gt(h, 0);
	uint64_t ctx = mxh_ctx_open(vm);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(mxh_write1(vm, ctx, (uint32_t)h, rows[i][0], rows[i][1], 1,
					&rows[i][2], 0, &rep), 0, "row %u: %d", i, rep.status);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, ctx, 0), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_CTX_CLOSE, ctx, 0), 0);
	return (uint32_t)h;
}

static const char *const ROWS[][3] = {
	{ "a", "1", "k10" }, { "b", "2", "k20" }, { "c", "3", "k20" },
	{ "d", "4", "k30" }, { "e", "5", "k40" },
};

/* Read and return the rows as text ("" when none). */
static const char *read_text(uint64_t ctx, uint32_t t, struct mxh_read rd, int *status)
{
	static char text[4096];
	*status = mxh_read(vm, ctx, t, &rd, &rep);
	if (*status)
		return "";
	mxh_rows_text(&rep, text, sizeof text, NULL, 0, NULL);
	return text;
}

Test(executor, attach_says_the_limits_and_checks_the_version)
{
	struct vamos_mysql_attach a = { .flags = VAMOS_MYSQL_ATTACH_EXCLUSIVE };
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_ATTACH, 0, 0, 0, &a, sizeof a, &rep), 0);
	struct vamos_mysql_welcome w;
	cr_assert_eq(rep.len, sizeof w);
	memcpy(&w, rep.data, sizeof w);
	cr_assert_eq(w.version, VAMOS_MYSQL_VERSION);
	cr_assert_gt(w.max_key, 400);
	cr_assert_eq(w.lock_wait_ms, 300);
	cr_assert_eq(w.max_reply, MXH_MAX_REPLY, "the caller's limit, not a small reservation");
	cr_assert_eq(w.max_request, MXH_MAX_REPLY);

	struct mxh_req r;
	mxh_begin(&r, 0, 0, 0);
	((struct vamos_mysql_req *)r.buf)->version = 99;
	mxh_put(&r, &a, sizeof a);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_ATTACH, &r, &rep), -EPROTONOSUPPORT);
	mxh_begin(&r, 0, 0, 0x80);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_CTX_OPEN, &r, &rep), -EINVAL, "unknown flag");
	mxh_begin(&r, 0, 0, 0);
	r.len = 10;
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_CTX_OPEN, &r, &rep), -EINVAL, "short header");
	mxh_begin(&r, 0, 0, 0);
	cr_assert_eq(mxh_call(vm, 200, &r, &rep), -ENOSYS, "unknown op");
	a.reserved = 1;
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_ATTACH, 0, 0, 0, &a, sizeof a, &rep), -EINVAL);
}

Test(executor, contexts_are_checked_and_limited)
{
	uint64_t c = mxh_ctx_open(vm);
	cr_assert_neq(c, 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c + (1ull << 32), 0), -EBADF, "stale generation");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, 77, 0), -EBADF);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, 0, 0), -EINVAL, "transaction op without context");
	cr_assert_eq(op0(VAMOS_MYSQL_CTX_OPEN, c, 0), -EINVAL, "session op with a context");
	cr_assert_eq(op0(VAMOS_MYSQL_CTX_CLOSE, c, 0), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), -EBADF, "closed");
	for (int i = 0; i < 16; i++)
		cr_assert_neq(mxh_ctx_open(vm), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_CTX_OPEN, 0, 0), -EMFILE);
	cr_assert_eq(mx_vm_stats(vm).contexts, 16);
}

Test(executor, tables_are_created_opened_renamed_dropped)
{
	uint8_t u[2] = { 1, 0 };
	cr_assert_eq(mxh_create(vm, "db/t1", false, 2, u, 0), 0);
	cr_assert_eq(mxh_create(vm, "db/t1", false, 0, NULL, 0), -EEXIST);
	cr_assert_eq(mxh_create(vm, "", false, 0, NULL, 0), -EINVAL);
	uint8_t bad = 2;
	cr_assert_eq(mxh_create(vm, "db/t2", false, 1, &bad, 0), -EINVAL);
	int64_t h = mxh_open(vm, "db/t1");
	cr_assert_gt(h, 0);
	struct vamos_mysql_table info = mxh_last_table;
	cr_assert_eq(info.nsec, 2);
	cr_assert_eq(info.flags, 0);
	cr_assert_eq(mxh_open(vm, "db/t1"), h, "one shared handle per table");
	cr_assert_eq(mxh_open(vm, "db/none"), -ENOENT);

	struct mxh_req r;
	struct vamos_mysql_rename rn = { 5, 5 };
	mxh_begin(&r, 0, 0, 0);
	mxh_put(&r, &rn, sizeof rn);
	mxh_put(&r, "db/t1db/t3", 10);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_RENAME, &r, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, 0, (uint32_t)h), -EBADF, "renamed away");
	cr_assert_eq(mxh_open(vm, "db/t1"), -ENOENT);
	int64_t h3 = mxh_open(vm, "db/t3");
	cr_assert_gt(h3, 0);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, 0, (uint32_t)h3), 0);
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_DROP, 0, 0, 0, "db/t3", 5, &rep), 0);
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_DROP, 0, 0, 0, "db/t3", 5, &rep), -ENOENT);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, 0, (uint32_t)h3), -EBADF, "dropped");
	cr_assert_eq(mxh_create(vm, "db/t3", false, 0, NULL, 0), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, 0, (uint32_t)h3), -EBADF,
		     "a new table of the same name is another table");
	cr_assert_eq(op0(VAMOS_MYSQL_CLOSE, 0, (uint32_t)h), 0, "first of two references");
	cr_assert_eq(op0(VAMOS_MYSQL_CLOSE, 0, (uint32_t)h), 0, "second reference");
	cr_assert_eq(op0(VAMOS_MYSQL_CLOSE, 0, (uint32_t)h), -EBADF);
	cr_assert_eq(op0(VAMOS_MYSQL_CLOSE, 0, (uint32_t)h3), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, 0, 12345), -EBADF);
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_DROP, 0, 0, 0, "a\0b", 3, &rep), -EINVAL);
}

Test(executor, open_table_handles_are_limited)
{
	char name[16];
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "t%d", i);
		cr_assert_eq(mxh_create(vm, name, false, 0, NULL, 0), 0);
		cr_assert_gt(mxh_open(vm, name), 0);
	}
	cr_assert_eq(mxh_create(vm, "t8", false, 0, NULL, 0), 0);
	cr_assert_eq(mxh_open(vm, "t8"), -EMFILE);
}

Test(executor, scans_in_both_directions_and_batches)
{
	uint32_t t = table_with("t", false, ROWS, 5);
	uint64_t c = mxh_ctx_open(vm);
	int st;
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = VAMOS_MYSQL_START_FIRST }, &st),
			 "a=1;b=2;c=3;d=4;e=5;");
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = VAMOS_MYSQL_START_LAST,
							    .backward = 1 }, &st),
			 "e=5;d=4;c=3;b=2;a=1;");
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .index = 1,
							    .start = VAMOS_MYSQL_START_FIRST }, &st),
			 "a=1;b=2;c=3;d=4;e=5;");
	/* Two rows per reply; continue from the resume key until END. */
	char text[256], resume[64], all[256] = "";
	uint32_t flags = 0;
	struct mxh_read rd = { .index = 1, .start = VAMOS_MYSQL_START_FIRST, .max_rows = 2 };
	int replies = 0;
	do {
		rd.key = replies ? resume : NULL;
		cr_assert_eq(mxh_read(vm, c, t, &rd, &rep), 0);
		cr_assert_leq(mxh_rows_text(&rep, text, sizeof text, resume, sizeof resume, &flags),
			      2);
		strcat(all, text);
		rd.start = VAMOS_MYSQL_START_AFTER;
		replies++;
	} while (!(flags & VAMOS_MYSQL_ROWS_END) && replies < 10);
	cr_assert_str_eq(all, "a=1;b=2;c=3;d=4;e=5;");
	cr_assert_eq(replies, 3);
	/* Backwards from a resume key. */
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .index = 1,
							    .start = VAMOS_MYSQL_START_BEFORE,
							    .backward = 1, .key = "k30d" }, &st),
			 "c=3;b=2;a=1;");
	/* A byte budget: at least one row always comes. */
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .start = VAMOS_MYSQL_START_FIRST,
							    .max_bytes = 1 }, &rep), 0);
	cr_assert_eq(mxh_rows_text(&rep, text, sizeof text, NULL, 0, &flags), 1);
	cr_assert_eq(flags & VAMOS_MYSQL_ROWS_END, 0);
}

/* A covering read answers with the index entries' keys, never the rows. */
Test(executor, keys_only_reads_answer_with_the_index_keys)
{
	uint32_t t = table_with("t", false, ROWS, 5);
	uint64_t c = mxh_ctx_open(vm);
	int st;
	const uint32_t K = VAMOS_MYSQL_READ_KEYS_ONLY;
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .index = 1, .read_flags = K,
							    .start = VAMOS_MYSQL_START_FIRST }, &st),
			 "a=k10;b=k20;c=k20;d=k30;e=k40;");
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .index = 1, .read_flags = K,
							    .start = VAMOS_MYSQL_START_LAST,
							    .backward = 1, .stop = VAMOS_MYSQL_STOP_GE,
							    .stop_key = "k20" }, &st),
			 "e=k40;d=k30;c=k20;b=k20;");
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .index = 1, .read_flags = K,
							    .start = VAMOS_MYSQL_START_FIND,
							    .find = VAMOS_MYSQL_KEY_EXACT,
							    .key = "k20" }, &st),
			 "b=k20;c=k20;d=k30;e=k40;");
	/* The resume key is the stored key, as in a row read. */
	char text[256], resume[64];
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .index = 1, .read_flags = K,
							    .start = VAMOS_MYSQL_START_FIRST,
							    .max_rows = 2 }, &rep), 0);
	cr_assert_eq(mxh_rows_text(&rep, text, sizeof text, resume, sizeof resume, NULL), 2);
	cr_assert_str_eq(resume, "k20b");
	/* Not on the primary index, not in a locking read, no unknown flag. */
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .read_flags = K,
							    .start = VAMOS_MYSQL_START_FIRST }, &rep),
		     -EINVAL);
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .index = 1, .read_flags = K,
							    .flags = VAMOS_MYSQL_FOR_UPDATE,
							    .start = VAMOS_MYSQL_START_FIRST }, &rep),
		     -EINVAL);
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .index = 1, .read_flags = 2,
							    .start = VAMOS_MYSQL_START_FIRST }, &rep),
		     -EINVAL);
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, c, 0), 0);
}

Test(executor, every_find_flag)
{
	uint32_t t = table_with("t", false, ROWS, 5);
	uint64_t c = mxh_ctx_open(vm);
	static const struct {
		uint8_t find, backward;
		const char *key, *want;
	} cases[] = {
		{ VAMOS_MYSQL_KEY_EXACT, 0, "k20", "b=2;c=3;d=4;e=5;" },
		{ VAMOS_MYSQL_KEY_EXACT, 0, "k25", "" },
		{ VAMOS_MYSQL_KEY_OR_NEXT, 0, "k25", "d=4;e=5;" },
		{ VAMOS_MYSQL_KEY_OR_PREV, 1, "k20", "c=3;b=2;a=1;" },
		{ VAMOS_MYSQL_KEY_OR_PREV, 1, "k25", "c=3;b=2;a=1;" },
		{ VAMOS_MYSQL_AFTER_KEY, 0, "k20", "d=4;e=5;" },
		{ VAMOS_MYSQL_BEFORE_KEY, 1, "k20", "a=1;" },
		{ VAMOS_MYSQL_BEFORE_KEY, 1, "k10", "" },
		{ VAMOS_MYSQL_PREFIX, 0, "k2", "b=2;c=3;d=4;e=5;" },
		{ VAMOS_MYSQL_PREFIX_LAST, 1, "k2", "c=3;b=2;a=1;" },
		{ VAMOS_MYSQL_PREFIX_LAST, 1, "k5", "" },
		{ VAMOS_MYSQL_PREFIX_LAST_OR_PREV, 1, "k35", "d=4;c=3;b=2;a=1;" },
		{ VAMOS_MYSQL_KEY_OR_NEXT, 0, "k99", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int st;
		const char *got = read_text(c, t, (struct mxh_read){ .index = 1,
					    .start = VAMOS_MYSQL_START_FIND, .find = cases[i].find,
					    .backward = cases[i].backward, .key = cases[i].key }, &st);
		cr_assert_str_eq(got, cases[i].want, "case %zu: find %u %s", i, cases[i].find,
				 cases[i].key);
		cr_assert_eq(st, cases[i].want[0] ? 0 : -ENOENT, "case %zu: status %d", i, st);
	}
}

Test(executor, every_stop)
{
	uint32_t t = table_with("t", false, ROWS, 5);
	uint64_t c = mxh_ctx_open(vm);
	static const struct {
		uint8_t stop, backward, start;
		const char *key, *stop_key, *want;
	} cases[] = {
		{ VAMOS_MYSQL_STOP_PREFIX, 0, VAMOS_MYSQL_START_FIND, "k20", "k20", "b=2;c=3;" },
		{ VAMOS_MYSQL_STOP_LE, 0, VAMOS_MYSQL_START_FIRST, NULL, "k20", "a=1;b=2;c=3;" },
		{ VAMOS_MYSQL_STOP_LT, 0, VAMOS_MYSQL_START_FIRST, NULL, "k20", "a=1;" },
		{ VAMOS_MYSQL_STOP_GE, 1, VAMOS_MYSQL_START_LAST, NULL, "k30", "e=5;d=4;" },
		{ VAMOS_MYSQL_STOP_GT, 1, VAMOS_MYSQL_START_LAST, NULL, "k30", "e=5;" },
		{ VAMOS_MYSQL_STOP_LT, 0, VAMOS_MYSQL_START_FIRST, NULL, "k05", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int st;
		const char *got = read_text(c, t, (struct mxh_read){ .index = 1,
					    .start = cases[i].start, .find = VAMOS_MYSQL_KEY_EXACT,
					    .backward = cases[i].backward, .stop = cases[i].stop,
					    .key = cases[i].key, .stop_key = cases[i].stop_key }, &st);
		cr_assert_str_eq(got, cases[i].want, "case %zu", i);
	}
	uint32_t flags;
	char text[64];
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .index = 1,
			      .start = VAMOS_MYSQL_START_FIND, .stop = VAMOS_MYSQL_STOP_PREFIX,
			      .key = "k10", .stop_key = "k10" }, &rep), 0);
	mxh_rows_text(&rep, text, sizeof text, NULL, 0, &flags);
	cr_assert(flags & VAMOS_MYSQL_ROWS_END, "the stop ends the scan");
}

Test(executor, malformed_reads_are_refused)
{
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t c = mxh_ctx_open(vm);
	struct mxh_read bad[] = {
		{ .index = 2, .start = VAMOS_MYSQL_START_FIRST },
		{ .start = 9 },
		{ .start = VAMOS_MYSQL_START_FIND, .find = 8, .key = "a" },
		{ .start = VAMOS_MYSQL_START_FIRST, .stop = 6 },
		{ .start = VAMOS_MYSQL_START_FIRST, .backward = 2 },
		{ .start = VAMOS_MYSQL_START_FIND, .find = VAMOS_MYSQL_KEY_EXACT },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(mxh_read(vm, c, t, &bad[i], &rep), -EINVAL, "case %zu", i);
	/* A length that points past the request. */
	struct mxh_req r;
	struct vamos_mysql_read q = { .start = VAMOS_MYSQL_START_FIND, .max_rows = 1,
				      .key_len = 500 };
	mxh_begin(&r, c, t, 0);
	mxh_put(&r, &q, sizeof q);
	mxh_put(&r, "a", 1);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_READ, &r, &rep), -EINVAL);
	cr_assert_eq(mxh_read(vm, c, 0, &(struct mxh_read){ .start = 0 }, &rep), -EINVAL,
		     "no table");
}

Test(executor, writes_updates_deletes_and_clashes)
{
	uint32_t t = table_with("t", true, ROWS, 2);
	uint64_t c = mxh_ctx_open(vm);
	const char *k = "k10";
	cr_assert_eq(mxh_write1(vm, c, t, "a", "x", 1, &k, 0, &rep), -EEXIST);
	struct vamos_mysql_dup d;
	memcpy(&d, rep.data, sizeof d);
	cr_assert_eq(d.index, 0, "primary clash");
	k = "k20";
	cr_assert_eq(mxh_write1(vm, c, t, "z", "x", 1, &k, 0, &rep), -EEXIST);
	memcpy(&d, rep.data, sizeof d);
	cr_assert_eq(d.index, 1, "unique secondary clash");
	cr_assert_eq(mxh_write1(vm, c, t, "z", "x", 0, NULL, 0, &rep), -EINVAL, "keys missing");
	cr_assert_eq(mxh_write1(vm, c, t, NULL, "x", 1, &k, 0, &rep), -EINVAL, "no pk");

	/* Update moving the primary key and the secondary key. */
	struct mxh_req r;
	struct vamos_mysql_update u = { .row_len = 2, .old_pk_len = 1, .new_pk_len = 1, .nsec = 1 };
	uint16_t klen = 3;
	mxh_begin(&r, c, t, 0);
	mxh_put(&r, &u, sizeof u);
	mxh_put(&r, &klen, 2);
	mxh_put(&r, "aq" "k99" "11", 7);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_UPDATE, &r, &rep), 0);
	int st;
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .index = 1,
							    .start = VAMOS_MYSQL_START_FIRST }, &st),
			 "b=2;q=11;");
	/* Update onto a taken key. */
	mxh_begin(&r, c, t, 0);
	mxh_put(&r, &u, sizeof u);
	mxh_put(&r, &klen, 2);
	mxh_put(&r, "qb" "k77" "11", 7);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_UPDATE, &r, &rep), -EEXIST);
	memcpy(&d, rep.data, sizeof d);
	cr_assert_eq(d.index, 0);
	mxh_begin(&r, c, t, 0);
	mxh_put(&r, &u, sizeof u);
	mxh_put(&r, &klen, 2);
	mxh_put(&r, "nn" "k77" "11", 7);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_UPDATE, &r, &rep), -ENOENT, "no such row");

	/* Get and delete. */
	struct vamos_mysql_delete del = { .pk_len = 1 };
	mxh_begin(&r, c, t, 0);
	mxh_put(&r, &del, sizeof del);
	mxh_put(&r, "q", 1);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_GET, &r, &rep), 0);
	cr_assert_eq(rep.len, 2);
	cr_assert_eq(memcmp(rep.data, "11", 2), 0);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_DELETE, &r, &rep), 0);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_GET, &r, &rep), -ENOENT);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_DELETE, &r, &rep), -ENOENT);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, c, t), 0);
	struct vamos_mysql_info info;
	memcpy(&info, rep.data, sizeof info);
	cr_assert_eq(info.rows, 1);
}

Test(executor, a_batch_stops_at_its_first_clash)
{
	uint8_t u = 0;
	cr_assert_eq(mxh_create(vm, "t", false, 1, &u, 0), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "t");
	uint64_t c = mxh_ctx_open(vm);
	struct mxh_req r;
	struct vamos_mysql_write w = { .count = 3 };
	mxh_begin(&r, c, t, 0);
	mxh_put(&r, &w, sizeof w);
	const char *pks[] = { "p1", "p2", "p1" };
	for (int i = 0; i < 3; i++) {
		struct vamos_mysql_write_row wr = { .row_len = 1, .pk_len = 2, .nsec = 1,
						    .autoinc = 10u + (unsigned)i };
		uint16_t kl = 2;
		uint32_t at = r.len;
		mxh_put(&r, &wr, sizeof wr);
		mxh_put(&r, &kl, 2);
		mxh_put(&r, pks[i], 2);
		mxh_put(&r, "kk", 2);
		mxh_put(&r, "r", 1);
		while ((r.len - at) % 8)
			r.buf[r.len++] = 0;
	}
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_WRITE, &r, &rep), -EEXIST);
	struct vamos_mysql_dup d;
	memcpy(&d, rep.data, sizeof d);
	cr_assert_eq(d.written, 2);
	cr_assert_eq(d.index, 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, c, 0), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, c, t), 0);
	struct vamos_mysql_info info;
	memcpy(&info, rep.data, sizeof info);
	cr_assert_eq(info.rows, 2);
	cr_assert_eq(info.next_autoinc, 12, "moved past the values written");
	/* A row count that promises more rows than there are. */
	w.count = 2;
	mxh_begin(&r, c, t, 0);
	mxh_put(&r, &w, sizeof w);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_WRITE, &r, &rep), -EINVAL);
}

Test(executor, hidden_primary_keys_and_truncate)
{
	cr_assert_eq(mxh_create(vm, "h", true, 0, NULL, 0), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "h");
	cr_assert_eq(mxh_last_table.flags, VAMOS_MYSQL_HIDDEN_PK);
	uint64_t c = mxh_ctx_open(vm);
	cr_assert_eq(mxh_write1(vm, c, t, NULL, "one", 0, NULL, 0, &rep), 0);
	cr_assert_eq(mxh_write1(vm, c, t, NULL, "two", 0, NULL, 0, &rep), 0);
	struct vamos_mysql_written w;
	memcpy(&w, rep.data, sizeof w);
	cr_assert_eq(w.last_hidden_id, 2);
	cr_assert_eq(mxh_write1(vm, c, t, "x", "bad", 0, NULL, 0, &rep), -EINVAL,
		     "a pk for a hidden-pk table");
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .start = 0 }, &rep), 0);
	char text[64];
	cr_assert_eq(mxh_rows_text(&rep, text, sizeof text, NULL, 0, NULL), 2);
	cr_assert_eq(op0(VAMOS_MYSQL_TRUNCATE, c, t), 0);
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .start = 0 }, &rep), -ENOENT);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
}

/* AUTOINC into @r; its status. */
static int autoinc(uint64_t c, uint32_t t, struct vamos_mysql_autoinc a,
		   struct vamos_mysql_autoinc_range *r)
{
	int st = mxh_simple(vm, VAMOS_MYSQL_AUTOINC, c, t, 0, &a, sizeof a, &rep);
	if (st == 0) {
		cr_assert_eq(rep.len, sizeof *r);
		memcpy(r, rep.data, sizeof *r);
	}
	return st;
}

Test(executor, autoinc_reserves_exactly_the_values_asked_for)
{
	cr_assert_eq(mxh_create(vm, "a", false, 0, NULL, 5), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "a");
	uint64_t c = mxh_ctx_open(vm);
	struct vamos_mysql_autoinc_range r;
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 3, .increment = 10,
								 .offset = 3 }, &r), 0);
	cr_assert_eq(r.first, 13);
	cr_assert_eq(r.count, 3, "13, 23, 33 and no more");
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 3, .increment = 10,
								 .offset = 3 }, &r), 0);
	cr_assert_eq(r.first, 43, "asking moves the counter: past 33");
	cr_assert_eq(mxh_write1(vm, c, t, "k33", "x", 0, NULL, 33, &rep), 0);
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 1 }, &r), 0);
	cr_assert_eq(r.first, 64, "a reserved value written does not move it again");
	cr_assert_eq(r.count, 1);
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, c, 0), 0);
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 1 }, &r), 0);
	cr_assert_eq(r.first, 65, "a rollback leaves a gap (as InnoDB's)");
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 2, .seen = 100 }, &r), 0);
	cr_assert_eq(r.first, 101, "past an explicit value of an unsent row");
	cr_assert_eq(r.count, 2);
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 0 }, &r), -EINVAL);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, c, t), 0);
	struct vamos_mysql_info info;
	memcpy(&info, rep.data, sizeof info);
	cr_assert_eq(info.next_autoinc, 103);
}

/* A guest's kept range: its unused rest comes back with the next
 * reservation, while the counter is still at the range's end. */
Test(executor, autoinc_takes_back_a_kept_range_before_it_reserves)
{
	cr_assert_eq(mxh_create(vm, "a", false, 0, NULL, 0), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "a");
	uint64_t c = mxh_ctx_open(vm);
	struct vamos_mysql_autoinc_range r;
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 64 }, &r), 0);
	cr_assert(r.first == 1 && r.count == 64);
	/* 1-4 used; 5-64 go back, then three values are reserved. */
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 3, .cached_next = 5,
								 .cached_end = 65 }, &r), 0);
	cr_assert_eq(r.first, 5, "from the first value not used");
	/* The counter (8) is not at that end any more: nothing comes back. */
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 1, .cached_next = 6,
								 .cached_end = 65 }, &r), 0);
	cr_assert_eq(r.first, 8);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
}

/* A handle's CLOSE gives the kept range back too (a RENAME or FLUSH in
 * the guest forgets it), only while the counter is at its end. */
Test(executor, close_takes_back_a_kept_range)
{
	cr_assert_eq(mxh_create(vm, "a", false, 0, NULL, 0), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "a"), t2 = (uint32_t)mxh_open(vm, "a");
	uint64_t c = mxh_ctx_open(vm);
	struct vamos_mysql_autoinc_range r;
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 64 }, &r), 0);
	cr_assert_eq(r.first, 1);
	struct vamos_mysql_close cl = { .cached_next = 3, .cached_end = 65 };
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_CLOSE, 0, t, 0, &cl, sizeof cl, &rep), 0);
	cr_assert_eq(autoinc(c, t2, (struct vamos_mysql_autoinc){ .count = 2 }, &r), 0);
	cr_assert_eq(r.first, 3, "1 and 2 used, 3 on given back");
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_CLOSE, 0, t2, 0, &cl, 3, &rep), -EINVAL,
		     "a body of another size");
	cl = (struct vamos_mysql_close){ .cached_next = 2, .cached_end = 65 };
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_CLOSE, 0, t2, 0, &cl, sizeof cl, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, 0, (uint32_t)mxh_open(vm, "a")), 0);
	struct vamos_mysql_info info;
	memcpy(&info, rep.data, sizeof info);
	cr_assert_eq(info.next_autoinc, 5, "the counter (5) was not at that end: it stays");
}

Test(executor, autoinc_reservations_of_open_transactions_never_wait_or_overlap)
{
	cr_assert_eq(mxh_create(vm, "a", false, 0, NULL, 0), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "a");
	uint64_t c1 = mxh_ctx_open(vm), c2 = mxh_ctx_open(vm);
	struct vamos_mysql_autoinc_range r1, r2, r3;
	/* c1 reserves and writes, its transaction stays open; c2 (lock wait
	 * 300 ms here) gets its values at once, and commits, while c1 has not
	 * ended: a table-wide lock held by c1 would have timed out. */
	cr_assert_eq(autoinc(c1, t, (struct vamos_mysql_autoinc){ .count = 2 }, &r1), 0);
	cr_assert_eq(mxh_write1(vm, c1, t, "p1", "x", 0, NULL, r1.first, &rep), 0);
	cr_assert_eq(autoinc(c2, t, (struct vamos_mysql_autoinc){ .count = 3 }, &r2), 0);
	cr_assert_eq(mxh_write1(vm, c2, t, "p2", "x", 0, NULL, r2.first, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c2, 0), 0);
	cr_assert_eq(autoinc(c1, t, (struct vamos_mysql_autoinc){ .count = 1 }, &r3), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c1, 0), 0);
	cr_assert_eq(r1.first, 1);
	cr_assert_eq(r1.count, 2);
	cr_assert_eq(r2.first, 3, "after c1's two");
	cr_assert_eq(r2.count, 3);
	cr_assert_eq(r3.first, 6, "after c2's three");
	struct mx_stats s = mx_vm_stats(vm);
	cr_assert_eq(s.lock_timeouts, 0);
}

Test(executor, autoinc_stops_at_the_largest_value)
{
	cr_assert_eq(mxh_create(vm, "a", false, 0, NULL, 0), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "a");
	uint64_t c = mxh_ctx_open(vm);
	struct vamos_mysql_autoinc_range r;
	cr_assert_eq(mxh_write1(vm, c, t, "max", "x", 0, NULL, UINT64_MAX - 2, &rep), 0);
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 1, .increment = 10,
								 .offset = 3 }, &r), -ERANGE,
		     "no value of those steps is left");
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 5 }, &r), 0);
	cr_assert_eq(r.first, UINT64_MAX - 1);
	cr_assert_eq(r.count, 2, "only the two values left");
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 1 }, &r), -ERANGE,
		     "none left after UINT64_MAX: never a wrap to 1");
	cr_assert_eq(mxh_write1(vm, c, t, "low", "x", 0, NULL, 7, &rep), 0);
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 1 }, &r), -ERANGE,
		     "a smaller value written later brings none back");
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, c, t), 0);
	struct vamos_mysql_info info;
	memcpy(&info, rep.data, sizeof info);
	cr_assert_eq(info.next_autoinc, UINT64_MAX);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
}

Test(executor, autoinc_stops_at_the_columns_largest_value)
{
	cr_assert_eq(mxh_create(vm, "a", false, 0, NULL, 0), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "a");
	uint64_t c = mxh_ctx_open(vm);
	struct vamos_mysql_autoinc_range r;
	cr_assert_eq(mxh_write1(vm, c, t, "k", "x", 0, NULL, 125, &rep), 0);
	cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 5, .max = 127 }, &r), 0);
	cr_assert(r.first == 126 && r.count == 2, "126 and 127, none past the TINYINT's largest");
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(autoinc(c, t, (struct vamos_mysql_autoinc){ .count = 1, .max = 127 },
				     &r), 0);
		cr_assert(r.first == 128 && r.count == 0, "out of range: nothing reserved");
	}
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, c, t), 0);
	struct vamos_mysql_info info;
	memcpy(&info, rep.data, sizeof info);
	cr_assert_eq(info.next_autoinc, 128, "the counter stays at the largest value + 1");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
}

Test(executor, records_in_range_counts_and_estimates)
{
	uint32_t t = table_with("t", false, ROWS, 5);
	struct mxh_req r;
	struct vamos_mysql_range q = { .index = 1, .min_len = 3, .max_len = 3,
				       .min_flag = VAMOS_MYSQL_KEY_EXACT,
				       .max_flag = VAMOS_MYSQL_AFTER_KEY };
	mxh_begin(&r, 0, t, 0);
	mxh_put(&r, &q, sizeof q);
	mxh_put(&r, "k20k30", 6);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_RECORDS_IN_RANGE, &r, &rep), 0);
	struct vamos_mysql_estimate e;
	memcpy(&e, rep.data, sizeof e);
	cr_assert_eq(e.rows, 3);
	q.min_flag = VAMOS_MYSQL_AFTER_KEY;
	q.max_flag = VAMOS_MYSQL_BEFORE_KEY;
	mxh_begin(&r, 0, t, 0);
	mxh_put(&r, &q, sizeof q);
	mxh_put(&r, "k10k40", 6);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_RECORDS_IN_RANGE, &r, &rep), 0);
	memcpy(&e, rep.data, sizeof e);
	cr_assert_eq(e.rows, 3);
	q = (struct vamos_mysql_range){ .index = 0 };
	mxh_begin(&r, 0, t, 0);
	mxh_put(&r, &q, sizeof q);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_RECORDS_IN_RANGE, &r, &rep), 0);
	memcpy(&e, rep.data, sizeof e);
	cr_assert_eq(e.rows, 5, "open bounds: the whole index");
	q.index = 3;
	mxh_begin(&r, 0, t, 0);
	mxh_put(&r, &q, sizeof q);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_RECORDS_IN_RANGE, &r, &rep), -EINVAL);
}

Test(executor, statement_and_transaction_rollback)
{
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t c = mxh_ctx_open(vm);
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, c, t, "s1", "x", 1, &k, 0, &rep), 0);
	cr_assert(!rep.deferred, "an uncontended write is served at once");
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, c, 0), 0);
	cr_assert_eq(mxh_write1(vm, c, t, "s2", "x", 1, &k, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_ROLLBACK, c, 0), 0);
	int st;
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = 0 }, &st), "a=1;s1=x;",
			 "the writer reads its own writes, less the rolled back statement");
	cr_assert(!rep.deferred, "a writer's read never waits: served at once");
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, c, 0), 0);
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = 0 }, &st), "a=1;");
	cr_assert(!rep.deferred, "after the rollback it is a plain reader");
	cr_assert_eq(mxh_write1(vm, c, t, "s3", "x", 1, &k, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = 0 }, &st), "a=1;s3=x;");
	struct mx_stats s = mx_vm_stats(vm);
	cr_assert_geq(s.commits, 2);
	cr_assert_geq(s.rollbacks, 1);
}

/* A context id handed out by a previous executor of the same store (a
 * vamosd that died) names no context of the next one: a request the guest
 * sent with it before it saw the restart gets -EBADF, never lands in
 * another connection's context. */
Test(executor, a_context_id_of_a_previous_executor_names_no_context)
{
	uint64_t old[4];
	for (int i = 0; i < 4; i++)
		old[i] = mxh_ctx_open(vm);
	mx_vm_close(vm);
	open_vm(0);
	for (int i = 0; i < 4; i++) {
		uint64_t fresh = mxh_ctx_open(vm);
		for (int k = 0; k < 4; k++)
			cr_assert_neq(fresh, old[k], "context id %d reissued", k);
	}
	for (int k = 0; k < 4; k++)
		cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, old[k], 0), -EBADF);
}

/* VAMOS_MYSQL_STMT_ENDED on a request: the statement before it is kept
 * (as a STMT_COMMIT would), before the request runs. */
Test(executor, a_request_flagged_stmt_ended_keeps_the_statement_before_it)
{
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t c = mxh_ctx_open(vm);
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, c, t, "s1", "x", 1, &k, 0, &rep), 0);
	/* A statement rollback that says the one before it ended: s1 stays. */
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_STMT_ROLLBACK, c, 0, VAMOS_MYSQL_STMT_ENDED, NULL,
				0, &rep), 0);
	cr_assert_eq(mxh_write1(vm, c, t, "s2", "x", 1, &k, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_ROLLBACK, c, 0), 0);
	int st;
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = 0 }, &st), "a=1;s1=x;");
	/* A read that says so: s3's statement is kept, a later statement
	 * rollback does not undo it. */
	cr_assert_eq(mxh_write1(vm, c, t, "s3", "x", 1, &k, 0, &rep), 0);
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = 0,
							    .flags = VAMOS_MYSQL_STMT_ENDED }, &st),
			 "a=1;s1=x;s3=x;");
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_ROLLBACK, c, 0), 0);
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = 0 }, &st), "a=1;s1=x;s3=x;");
	/* And a COMMIT that says so. */
	cr_assert_eq(mxh_write1(vm, c, t, "s4", "x", 1, &k, 0, &rep), 0);
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_COMMIT, c, 0, VAMOS_MYSQL_STMT_ENDED, NULL, 0,
				&rep), 0);
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = 0 }, &st),
			 "a=1;s1=x;s3=x;s4=x;");
	/* Only with a context. */
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_INFO, 0, t, VAMOS_MYSQL_STMT_ENDED, NULL, 0, &rep),
		     -EINVAL);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
}

Test(executor, readers_keep_their_snapshot_and_never_wait)
{
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t w = mxh_ctx_open(vm), r = mxh_ctx_open(vm);
	int st;
	cr_assert_str_eq(read_text(r, t, (struct mxh_read){ .start = 0 }, &st), "a=1;");
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, w, t, "b", "2", 1, &k, 0, &rep), 0);
	/* The writer holds an open transaction: the reader is answered at
	 * once, from its snapshot. */
	cr_assert_str_eq(read_text(r, t, (struct mxh_read){ .start = 0 }, &st), "a=1;");
	cr_assert(!rep.deferred);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, w, 0), 0);
	cr_assert_str_eq(read_text(r, t, (struct mxh_read){ .start = 0 }, &st), "a=1;",
			 "repeatable read until the reader's transaction ends");
	cr_assert_str_eq(read_text(r, t, (struct mxh_read){ .start = 0,
							    .flags = VAMOS_MYSQL_FRESH_SNAPSHOT }, &st),
			 "a=1;b=2;");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, r, 0), 0);
}

/* Send a one-row WRITE of primary key @pk for @ctx without waiting for
 * its answer; wait for it with mxh_wait(@p). */
static void write_queued(uint64_t ctx, uint32_t t, const char *pk, struct mxh_pending *p)
{
	static struct mxh_req req;
	static struct mxh_reply out;
	struct vamos_mysql_write w = { .count = 1 };
	struct vamos_mysql_write_row wr = { .row_len = 1, .pk_len = (uint16_t)strlen(pk),
					    .nsec = 1 };
	uint16_t klen = 1;
	mxh_begin(&req, ctx, t, 0);
	mxh_put(&req, &w, sizeof w);
	uint32_t start = req.len;
	mxh_put(&req, &wr, sizeof wr);
	mxh_put(&req, &klen, sizeof klen);
	mxh_put(&req, pk, wr.pk_len);
	mxh_put(&req, "k", 1);
	mxh_put(&req, "r", 1);
	while ((req.len - start) % 8)
		req.buf[req.len++] = 0;
	cr_assert_eq(mxh_send(vm, VAMOS_MYSQL_WRITE, &req, &out, p), 1, "deferred");
}

Test(executor, writers_of_different_rows_go_on_and_one_row_waits_then_times_out)
{
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t a = mxh_ctx_open(vm), b = mxh_ctx_open(vm), r = mxh_ctx_open(vm);
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, a, t, "a1", "x", 1, &k, 0, &rep), 0);
	/* b writes another row while a's transaction is open: no wait. */
	cr_assert_eq(mxh_write1(vm, b, t, "b1", "x", 1, &k, 0, &rep), 0);
	/* b wants a's row: it waits on its own thread; others are served. */
	struct mxh_pending p;
	write_queued(b, t, "a1", &p);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, b, 0), -EBUSY, "one request per context");
	int st;
	cr_assert_str_eq(read_text(r, t, (struct mxh_read){ .start = 0 }, &st), "a=1;",
			 "a reader is answered while b waits");
	cr_assert_eq(mxh_write1(vm, a, t, "a2", "x", 1, &k, 0, &rep), 0, "a writes on");
	cr_assert_eq(mxh_wait(&p, 20000), -ETIMEDOUT, "lock wait timeout");
	cr_assert_eq(mx_vm_stats(vm).lock_timeouts, 1);
	/* DDL does not wait for open transactions (MariaDB's metadata locks
	 * order DDL against them). */
	cr_assert_eq(mxh_create(vm, "t2", false, 0, NULL, 0), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, a, 0), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, b, 0), 0);
	cr_assert_str_eq(read_text(r, t, (struct mxh_read){ .start = 0,
							    .flags = VAMOS_MYSQL_FRESH_SNAPSHOT },
				   &st),
			 "a=1;a1=x;a2=x;b1=x;");
}

Test(executor, a_waiting_writer_goes_on_when_the_lock_holder_commits)
{
	mx_vm_close(vm);
	open_vm(20000); /* only a commit ends the wait */
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t a = mxh_ctx_open(vm), b = mxh_ctx_open(vm);
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, a, t, "a1", "x", 1, &k, 0, &rep), 0);
	struct mxh_pending p;
	write_queued(b, t, "a1", &p);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, a, 0), 0);
	cr_assert_eq(mxh_wait(&p, 30000), -EEXIST, "then finds the committed row");
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, b, 0), 0);
}

Test(executor, commits_made_at_once_are_answered_after_one_wal_sync_for_them_all)
{
	/* One pool thread, held by a writer waiting for a's lock: the
	 * commits of c and d are made at once, and answered only by the WAL
	 * sync the pool makes once its thread is free, one for both. */
	mx_vm_close(vm);
	const char *why = NULL;
	struct mx_options o = { .lock_wait_ms = 20000, .max_contexts = 16, .max_tables = 8,
				.max_workers = 1 };
	cr_assert_eq(mx_vm_open(dir, "vm1", &o, mxh_done, &vm, &why), 0, "%s", why);
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t a = mxh_ctx_open(vm), b = mxh_ctx_open(vm), c = mxh_ctx_open(vm),
		 d = mxh_ctx_open(vm), r = mxh_ctx_open(vm);
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, a, t, "a1", "x", 1, &k, 0, &rep), 0);
	struct mxh_pending pb, pc, pd;
	write_queued(b, t, "a1", &pb);
	cr_assert_eq(mxh_wait(&pb, 200), -ETIME, "b waits for a's lock on the pool's thread");
	cr_assert_eq(mxh_write1(vm, c, t, "c1", "c", 1, &k, 0, &rep), 0);
	cr_assert_eq(mxh_write1(vm, d, t, "d1", "d", 1, &k, 0, &rep), 0);
	struct mx_stats s0 = mx_vm_stats(vm);
	static struct mxh_req req_c, req_d;
	static struct mxh_reply out_c, out_d;
	mxh_begin(&req_c, c, 0, 0);
	cr_assert_eq(mxh_send(vm, VAMOS_MYSQL_COMMIT, &req_c, &out_c, &pc), 1, "answered later");
	mxh_begin(&req_d, d, 0, 0);
	cr_assert_eq(mxh_send(vm, VAMOS_MYSQL_COMMIT, &req_d, &out_d, &pd), 1, "answered later");
	/* Made already (as InnoDB's, a commit is seen before it is durable). */
	int st;
	cr_assert_str_eq(read_text(r, t, (struct mxh_read){ .start = VAMOS_MYSQL_START_FIRST }, &st),
			 "a=1;c1=c;d1=d;", "(%d)", st);
	cr_assert_eq(mxh_wait(&pc, 200), -ETIME, "no answer before its WAL sync");
	cr_assert_eq(mxh_wait(&pd, 1), -ETIME);
	cr_assert_eq(mx_vm_stats(vm).wal_syncs, s0.wal_syncs);
	/* a's end lets b's write go on, which frees the pool's thread. */
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, a, 0), 0);
	cr_assert_eq(mxh_wait(&pb, 30000), 0);
	cr_assert_eq(mxh_wait(&pc, 30000), 0);
	cr_assert_eq(mxh_wait(&pd, 30000), 0);
	struct mx_stats s1 = mx_vm_stats(vm);
	cr_assert_eq(s1.wal_syncs, s0.wal_syncs + 1, "one sync for both commits");
	cr_assert_eq(s1.synced_commits, s0.synced_commits + 2);
	cr_assert_eq(s1.commits, s0.commits + 2);
	cr_assert_eq(s1.writer_requests, s0.writer_requests, "no commit was a pool job");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, b, 0), 0);
}

/* Update row @pk (no secondary keys) for @ctx without waiting. */
static void update_queued(uint64_t ctx, uint32_t t, const char *pk, struct mxh_pending *p,
			  struct mxh_req *req, struct mxh_reply *out)
{
	struct vamos_mysql_update u = { .row_len = 1, .old_pk_len = (uint16_t)strlen(pk),
					.new_pk_len = (uint16_t)strlen(pk), .nsec = 1 };
	uint16_t klen = 3;
	mxh_begin(req, ctx, t, 0);
	mxh_put(req, &u, sizeof u);
	mxh_put(req, &klen, sizeof klen);
	mxh_put(req, pk, u.old_pk_len);
	mxh_put(req, pk, u.new_pk_len);
	mxh_put(req, "k99", 3);
	mxh_put(req, "z", 1);
	mxh_send(vm, VAMOS_MYSQL_UPDATE, req, out, p); /* at once, or deferred */
}

Test(executor, an_uncontended_write_is_served_at_once_a_contended_one_on_the_pool)
{
	mx_vm_close(vm);
	open_vm(20000); /* only the holder's end ends the wait */
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t a = mxh_ctx_open(vm), b = mxh_ctx_open(vm);
	const char *k = "k";
	struct mx_stats s0 = mx_vm_stats(vm);
	cr_assert_eq(mxh_write1(vm, a, t, "x2", "a", 1, &k, 0, &rep), 0);
	cr_assert(!rep.deferred, "no lock held by another: served at once");
	struct mx_stats s1 = mx_vm_stats(vm);
	cr_assert_eq(s1.inline_writes, s0.inline_writes + 1);
	cr_assert_eq(s1.deferred_writes, s0.deferred_writes);
	/* b's batch: x1 is free, x2 is a's. The attempt writes x1, meets
	 * a's lock on x2 and is undone whole; the pool runs the batch again
	 * from the start (x1 left written would clash with itself). */
	static struct mxh_req req;
	static struct mxh_reply out;
	struct mxh_pending p;
	struct vamos_mysql_write w = { .count = 2 };
	mxh_begin(&req, b, t, 0);
	mxh_put(&req, &w, sizeof w);
	const char *pks[] = { "x1", "x2" };
	for (int i = 0; i < 2; i++) {
		struct vamos_mysql_write_row wr = { .row_len = 1, .pk_len = 2, .nsec = 1 };
		uint16_t kl = 1;
		uint32_t at = req.len;
		mxh_put(&req, &wr, sizeof wr);
		mxh_put(&req, &kl, 2);
		mxh_put(&req, pks[i], 2);
		mxh_put(&req, "k", 1);
		mxh_put(&req, "b", 1);
		while ((req.len - at) % 8)
			req.buf[req.len++] = 0;
	}
	cr_assert_eq(mxh_send(vm, VAMOS_MYSQL_WRITE, &req, &out, &p), 1, "deferred");
	struct mx_stats s2 = mx_vm_stats(vm);
	cr_assert_eq(s2.deferred_writes, s1.deferred_writes + 1);
	cr_assert_eq(s2.inline_writes, s1.inline_writes);
	cr_assert_eq(mxh_wait(&p, 200), -ETIME, "it waits for a's lock");
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, a, 0), 0);
	cr_assert_eq(mxh_wait(&p, 30000), 0, "then goes on: both rows, once each");
	struct vamos_mysql_written done;
	memcpy(&done, out.data, sizeof done);
	cr_assert_eq(done.written, 2);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, b, 0), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, b, 0), 0);
	int st;
	cr_assert_str_eq(read_text(b, t, (struct mxh_read){ .start = 0 }, &st), "a=1;x1=b;x2=b;");
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, b, t), 0);
	struct vamos_mysql_info info;
	memcpy(&info, rep.data, sizeof info);
	cr_assert_eq(info.rows, 3, "the undone attempt left no row count behind");
	cr_assert_eq(mx_vm_stats(vm).lock_timeouts, 0, "an attempt that met a lock is no timeout");
}

/* The pool's threads, once every one of them has gone idle and exited. */
static void wait_for_no_workers(void)
{
	while (mx_vm_stats(vm).workers)
		usleep(1000); /* the suite's timeout guards a hang */
}

Test(executor, an_idle_vm_keeps_no_pool_thread_and_starts_one_when_needed)
{
	mx_vm_close(vm);
	const char *why = NULL;
	struct mx_options o = { .max_contexts = 16, .max_tables = 8, .worker_idle_ms = 20 };
	cr_assert_eq(mx_vm_open(dir, "vm1", &o, mxh_done, &vm, &why), 0, "%s", why);
	cr_assert_geq(mx_vm_stats(vm).workers, 1, "the pool starts with a thread");
	wait_for_no_workers();
	/* DDL and commits' WAL syncs run on the pool: each starts a thread
	 * again. */
	uint32_t t = table_with("t", false, ROWS, 5);
	wait_for_no_workers();
	uint64_t c = mxh_ctx_open(vm);
	const char *k = "k";
	uint64_t before = mx_vm_stats(vm).wal_syncs;
	cr_assert_eq(mxh_write1(vm, c, t, "y1", "a", 1, &k, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
	cr_assert_gt(mx_vm_stats(vm).wal_syncs, before, "the commit's sync ran on the pool");
	wait_for_no_workers();
	int st;
	cr_assert_str_eq(read_text(c, t, (struct mxh_read){ .start = VAMOS_MYSQL_START_FIRST }, &st),
			 "a=1;b=2;c=3;d=4;e=5;y1=a;", "the committed row is there (%d)", st);
}

Test(executor, crossing_writers_get_a_deadlock)
{
	mx_vm_close(vm);
	open_vm(20000); /* only the deadlock detector ends the wait */
	uint32_t t = table_with("t", false, ROWS, 2);
	uint64_t a = mxh_ctx_open(vm), b = mxh_ctx_open(vm);
	static struct mxh_req ra, rb;
	static struct mxh_reply oa, ob;
	struct mxh_pending pa, pb;
	update_queued(a, t, "a", &pa, &ra, &oa);
	cr_assert_eq(mxh_wait(&pa, 30000), 0);
	update_queued(b, t, "b", &pb, &rb, &ob);
	cr_assert_eq(mxh_wait(&pb, 30000), 0);
	update_queued(a, t, "b", &pa, &ra, &oa);
	update_queued(b, t, "a", &pb, &rb, &ob);
	/* One wait closes the cycle: -EDEADLK; the guest then rolls that
	 * transaction back, and the other goes on. */
	int sa = mxh_wait(&pa, 100), sb = -ETIME;
	if (sa == -ETIME) {
		sb = mxh_wait(&pb, 30000);
		cr_assert_eq(sb, -EDEADLK, "a waits, so b is refused");
		cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, b, 0), 0);
		cr_assert_eq(mxh_wait(&pa, 30000), 0);
		cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, a, 0), 0);
	} else {
		cr_assert_eq(sa, -EDEADLK, "a was refused: %d", sa);
		cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, a, 0), 0);
		cr_assert_eq(mxh_wait(&pb, 30000), 0);
		cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, b, 0), 0);
	}
	cr_assert_eq(mx_vm_stats(vm).deadlocks, 1);
}

Test(executor, a_reset_rolls_back_and_ends_every_context)
{
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t a = mxh_ctx_open(vm), b = mxh_ctx_open(vm);
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, a, t, "lost", "x", 1, &k, 0, &rep), 0);
	/* b waits for a's row lock when the client goes away. */
	struct mxh_pending p;
	write_queued(b, t, "lost", &p);
	struct vamos_mysql_attach at = { .flags = VAMOS_MYSQL_ATTACH_EXCLUSIVE };
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_ATTACH, 0, 0, 0, &at, sizeof at, &rep), 0);
	/* a rolled back at once (freeing the lock), b as its request ended. */
	cr_assert_neq(mxh_wait(&p, 10000), -ETIME, "the waiting request is answered");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, a, 0), -EBADF);
	cr_assert_eq(op0(VAMOS_MYSQL_INFO, 0, t), -EBADF, "handles are the old client's");
	int64_t h = mxh_open(vm, "t");
	uint64_t c = mxh_ctx_open(vm);
	int st;
	cr_assert_str_eq(read_text(c, (uint32_t)h, (struct mxh_read){ .start = 0 }, &st), "a=1;");
	/* Neither transaction left anything, nor a lock. */
	cr_assert_eq(mxh_write1(vm, c, (uint32_t)h, "new", "y", 1, &k, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
	cr_assert_eq(mx_vm_stats(vm).contexts, 1);
}

Test(executor, committed_rows_survive_a_reopen_and_open_transactions_do_not)
{
	uint32_t t = table_with("t", false, ROWS, 2);
	uint64_t c = mxh_ctx_open(vm);
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, c, t, "open", "x", 1, &k, 0, &rep), 0);
	mx_vm_close(vm);
	open_vm(300);
	int64_t h = mxh_open(vm, "t");
	c = mxh_ctx_open(vm);
	int st;
	cr_assert_str_eq(read_text(c, (uint32_t)h, (struct mxh_read){ .start = 0 }, &st),
			 "a=1;b=2;");
}

Test(executor, rows_larger_than_a_reply_are_refused_not_cut)
{
	cr_assert_eq(mxh_create(vm, "big", false, 0, NULL, 0), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "big");
	uint64_t c = mxh_ctx_open(vm);
	static char row[8192];
	memset(row, 'x', sizeof row - 1);
	cr_assert_eq(mxh_write1(vm, c, t, "p", row, 0, NULL, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
	/* Fits a request, not a reply. */
	mxh_max_reply = sizeof row;
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .start = 0 }, &rep), -EMSGSIZE);
	cr_assert_gt(rep.len, 0, "with a message");
	/* A reply as large as the row and its resume key fits whole. */
	mxh_max_reply = sizeof row + 64;
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .start = 0 }, &rep), 0);
	mxh_max_reply = MXH_MAX_REPLY;
}

/* A READ sizes its reply to the room there is now: fewer rows, never a
 * wait for room for all of them (which a full reply ring may never give). */
Test(executor, a_read_is_cut_to_the_room_there_is)
{
	uint32_t t = table_with("t", false, ROWS, 5);
	uint64_t c = mxh_ctx_open(vm);
	char text[256], resume[64], all[256] = "";
	uint32_t flags = 0;
	/* Room for the header and two fifths of the rows: fewer rows a reply. */
	struct mxh_read rd = { .start = VAMOS_MYSQL_START_FIRST };
	cr_assert_eq(mxh_read(vm, c, t, &rd, &rep), 0);
	uint32_t whole = rep.len;
	cr_assert_eq(mxh_rows_text(&rep, text, sizeof text, NULL, 0, &flags), 5);
	mxh_room = (uint32_t)sizeof(struct vamos_mysql_rows) + (whole - 16) * 2 / 5;
	int replies = 0;
	do {
		rd.key = replies ? resume : NULL;
		cr_assert_eq(mxh_read(vm, c, t, &rd, &rep), 0, "reply %d", replies);
		cr_assert_leq(rep.len, mxh_room, "the reply fits the room");
		int n = mxh_rows_text(&rep, text, sizeof text, resume, sizeof resume, &flags);
		cr_assert(n >= 1 && n < 5, "cut, not whole: %d rows", n);
		strcat(all, text);
		rd.start = VAMOS_MYSQL_START_AFTER;
		replies++;
	} while (!(flags & VAMOS_MYSQL_ROWS_END) && replies < 10);
	cr_assert_str_eq(all, "a=1;b=2;c=3;d=4;e=5;");
	cr_assert_geq(replies, 3);
	/* Not room for even one row: try again later, nothing answered. */
	mxh_room = (uint32_t)sizeof(struct vamos_mysql_rows) + 8;
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .start = 0 }, &rep), -EAGAIN);
	mxh_room = 0;
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .start = 0 }, &rep), -EAGAIN);
	mxh_room = UINT32_MAX;
}

/* A row larger than a record: cut to the room, not even it fits; it goes
 * whole, in pieces, once a whole record is free (never a wait for room a
 * record can never have). */
Test(executor, a_row_larger_than_the_room_goes_whole_when_a_record_is_free)
{
	cr_assert_eq(mxh_create(vm, "big", false, 0, NULL, 0), 0);
	uint32_t t = (uint32_t)mxh_open(vm, "big");
	uint64_t c = mxh_ctx_open(vm);
	static char row[8192];
	memset(row, 'y', sizeof row - 1);
	cr_assert_eq(mxh_write1(vm, c, t, "p", row, 0, NULL, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
	mxh_record = 4096;
	mxh_room = 1000; /* the ring still holds earlier replies */
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .start = 0 }, &rep), -EAGAIN);
	mxh_room = 4096; /* empty: a whole record free */
	cr_assert_eq(mxh_read(vm, c, t, &(struct mxh_read){ .start = 0 }, &rep), 0);
	char text[16384];
	uint32_t flags = 0;
	cr_assert_eq(mxh_rows_text(&rep, text, sizeof text, NULL, 0, &flags), 1);
	cr_assert(flags & VAMOS_MYSQL_ROWS_END);
	mxh_room = mxh_record = UINT32_MAX;
}

Test(executor, a_read_for_update_reads_the_latest_rows_and_locks_them)
{
	mx_vm_close(vm);
	open_vm(20000); /* only b's commit ends a's wait */
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t a = mxh_ctx_open(vm), b = mxh_ctx_open(vm);
	int st;
	cr_assert_str_eq(read_text(b, t, (struct mxh_read){ .start = 0 }, &st), "a=1;",
			 "b's snapshot is taken");
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, a, t, "b", "2", 1, &k, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, a, 0), 0);
	cr_assert_str_eq(read_text(b, t, (struct mxh_read){ .start = 0 }, &st), "a=1;");
	cr_assert_str_eq(read_text(b, t, (struct mxh_read){ .start = 0,
							    .flags = VAMOS_MYSQL_FOR_UPDATE }, &st),
			 "a=1;b=2;", "a current read");
	cr_assert(!rep.deferred, "no lock held by another: served at once");
	/* b locked the rows it read: a's update of one waits until b ends. */
	static struct mxh_req ureq;
	static struct mxh_reply urep;
	struct mxh_pending p;
	update_queued(a, t, "b", &p, &ureq, &urep);
	cr_assert_eq(mxh_wait(&p, 50), -ETIME);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, b, 0), 0);
	cr_assert_eq(mxh_wait(&p, 30000), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, a, 0), 0);
	/* Only reads may be for update. */
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_INFO, a, t, VAMOS_MYSQL_FOR_UPDATE, NULL, 0, &rep),
		     -EINVAL);
}

/* A locking GET of row @pk for @ctx, sent without waiting. */
static int get_for_update(uint64_t ctx, uint32_t t, const char *pk, struct mxh_req *req,
			  struct mxh_reply *out, struct mxh_pending *p)
{
	struct vamos_mysql_delete key = { .pk_len = (uint32_t)strlen(pk) };
	mxh_begin(req, ctx, t, VAMOS_MYSQL_FOR_UPDATE);
	mxh_put(req, &key, sizeof key);
	mxh_put(req, pk, key.pk_len);
	return mxh_send(vm, VAMOS_MYSQL_GET, req, out, p);
}

Test(executor, a_locking_read_is_served_at_once_unless_it_meets_a_held_lock)
{
	mx_vm_close(vm);
	open_vm(20000); /* only a's commit ends b's wait */
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t a = mxh_ctx_open(vm), b = mxh_ctx_open(vm);
	const char *k = "k";
	cr_assert_eq(mxh_write1(vm, a, t, "c", "3", 1, &k, 0, &rep), 0);
	static struct mxh_req req;
	static struct mxh_reply out;
	struct mxh_pending p;
	struct mx_stats s0 = mx_vm_stats(vm);
	cr_assert_eq(get_for_update(b, t, "a", &req, &out, &p), 0, "a free row: at once");
	cr_assert(!out.deferred);
	cr_assert_eq(out.len, 1);
	cr_assert_eq(out.data[0], '1');
	int st;
	cr_assert_str_eq(read_text(b, t, (struct mxh_read){ .start = 0 }, &st), "a=1;",
			 "b's plain read in its write transaction: its snapshot, at once");
	cr_assert(!rep.deferred);
	struct mx_stats s1 = mx_vm_stats(vm);
	cr_assert_eq(s1.writer_requests, s0.writer_requests, "nothing ran on the pool");
	/* Row c is a's (written, not committed): b's locking read of it is
	 * undone and waits on the pool, then reads what a committed. */
	cr_assert_eq(get_for_update(b, t, "c", &req, &out, &p), 1, "deferred");
	cr_assert_eq(mx_vm_stats(vm).deferred_writes, s1.deferred_writes + 1);
	cr_assert_eq(mxh_wait(&p, 50), -ETIME, "it waits for a's lock");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, a, 0), 0);
	cr_assert_eq(mxh_wait(&p, 30000), 0);
	cr_assert_eq(out.len, 1);
	cr_assert_eq(out.data[0], '3', "the row a committed");
	/* b holds c's lock now: a's locking read of it waits in turn. */
	static struct mxh_req req2;
	static struct mxh_reply out2;
	struct mxh_pending p2;
	cr_assert_eq(get_for_update(a, t, "c", &req2, &out2, &p2), 1, "deferred");
	cr_assert_eq(mxh_wait(&p2, 50), -ETIME);
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, b, 0), 0);
	cr_assert_eq(mxh_wait(&p2, 30000), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, a, 0), 0);
	cr_assert_eq(mx_vm_stats(vm).lock_timeouts, 0, "an attempt that met a lock is no timeout");
}

/* An UPDATE whose key count is not the table's is refused (and the table
 * handle is not used after it is closed). */
Test(executor, an_update_with_the_wrong_key_count_is_refused)
{
	cr_assert_eq(mxh_create(vm, "t0", false, 0, NULL, 0), 0);
	int64_t t = mxh_open(vm, "t0");
	cr_assert_gt(t, 0);
	uint64_t c = mxh_ctx_open(vm);
	struct mxh_req r;
	struct vamos_mysql_update u = { .row_len = 1, .old_pk_len = 4, .new_pk_len = 4, .nsec = 1 };
	uint16_t klen = 1;
	mxh_begin(&r, c, (uint32_t)t, 0);
	mxh_put(&r, &u, sizeof u);
	mxh_put(&r, &klen, 2);
	mxh_put(&r, "AAAA" "BBBB" "k" "r", 10);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_UPDATE, &r, &rep), -EINVAL);
	rep.data[rep.len < sizeof rep.data ? rep.len : 0] = 0;
	cr_assert(strstr((char *)rep.data, "1 keys for a table with 0 indexes"), "%s", rep.data);
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, c, 0), 0);
}

/* Answers of a fixed size respect the caller's reply limit: a limit too
 * small for them is an error, never a reply longer than the limit. */
Test(executor, fixed_size_answers_respect_a_small_reply_limit)
{
	mxh_max_reply = 24; /* below WELCOME (32 bytes) */
	struct vamos_mysql_attach a = { 0 };
	int rc = mxh_simple(vm, VAMOS_MYSQL_ATTACH, 0, 0, 0, &a, sizeof a, &rep);
	uint32_t len = rep.len;
	mxh_max_reply = 4; /* below a context id and a table handle */
	int ctx_rc = mxh_simple(vm, VAMOS_MYSQL_CTX_OPEN, 0, 0, 0, NULL, 0, &rep);
	uint32_t ctx_len = rep.len;
	mxh_max_reply = MXH_MAX_REPLY;
	cr_assert_eq(rc, -EMSGSIZE);
	cr_assert_leq(len, 24);
	cr_assert_eq(ctx_rc, -EMSGSIZE);
	cr_assert_leq(ctx_len, 4);
	cr_assert_eq(mx_vm_stats(vm).contexts, 0, "no context was made to go unanswered");
}

static int savepoint(uint16_t op, uint64_t ctx, uint64_t id)
{
	struct vamos_mysql_savepoint sv = { .id = id };
	return mxh_simple(vm, op, ctx, 0, 0, &sv, sizeof sv, &rep);
}

Test(executor, savepoints_by_id)
{
	uint32_t t = table_with("t", false, ROWS, 1);
	uint64_t c = mxh_ctx_open(vm), r = mxh_ctx_open(vm);
	const char *k = "k";
	cr_assert_eq(savepoint(VAMOS_MYSQL_ROLLBACK_TO_SAVEPOINT, c, 1), -ENOENT);
	cr_assert_eq(savepoint(VAMOS_MYSQL_SAVEPOINT, c, 0), -EINVAL, "ids are nonzero");
	cr_assert_eq(savepoint(VAMOS_MYSQL_SAVEPOINT, c, 1), 0, "before any write");
	cr_assert(rep.deferred, "on the context's write transaction");
	cr_assert_eq(mxh_write1(vm, c, t, "b", "2", 1, &k, 0, &rep), 0);
	cr_assert_eq(savepoint(VAMOS_MYSQL_SAVEPOINT, c, 2), 0, "with a statement open");
	cr_assert_eq(savepoint(VAMOS_MYSQL_SAVEPOINT, c, 2), -EINVAL, "an id set twice");
	cr_assert_eq(mxh_write1(vm, c, t, "c", "3", 1, &k, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_ROLLBACK, c, 0), 0);
	cr_assert_eq(mxh_write1(vm, c, t, "d", "4", 1, &k, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, c, 0), 0);
	cr_assert_eq(savepoint(VAMOS_MYSQL_ROLLBACK_TO_SAVEPOINT, c, 2), 0);
	cr_assert_eq(mxh_write1(vm, c, t, "e", "5", 1, &k, 0, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, c, 0), 0);
	cr_assert_eq(savepoint(VAMOS_MYSQL_RELEASE_SAVEPOINT, c, 1), 0);
	cr_assert_eq(savepoint(VAMOS_MYSQL_ROLLBACK_TO_SAVEPOINT, c, 2), -ENOENT,
		     "released with the one before it");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c, 0), 0);
	int st;
	cr_assert_str_eq(read_text(r, t, (struct mxh_read){ .start = 0 }, &st), "a=1;b=2;e=5;");
	cr_assert_eq(savepoint(VAMOS_MYSQL_RELEASE_SAVEPOINT, c, 1), -ENOENT,
		     "savepoints end with their transaction");
}

static struct vamos_mysql_check_report check_report(uint32_t t)
{
	struct vamos_mysql_check_report r;
	cr_assert_eq(op0(VAMOS_MYSQL_CHECK, 0, t), 0, "CHECK: %d", rep.status);
	cr_assert(rep.deferred, "a whole-table op runs on the pool");
	cr_assert_eq(rep.len, sizeof r);
	memcpy(&r, rep.data, sizeof r);
	return r;
}

Test(executor, check_answers_sound_then_finds_a_deleted_index_entry)
{
	uint32_t t = table_with("t", false, ROWS, 5);
	struct vamos_mysql_check_report r = check_report(t);
	cr_assert_eq(r.rows, 5);
	cr_assert_eq(r.entries, 5);
	cr_assert_eq(r.missing + r.orphans + r.bad_rows, 0);
	cr_assert_eq(r.index, -1);

	/* Break the table through the store: row "c" loses its entry. */
	struct mh_txn *txn;
	struct mh_table *tb;
	unsigned char key[MH_STORED_MAX];
	cr_assert_eq(mh_txn_begin(vm->store, true, &txn), 0);
	cr_assert_eq(mh_table_open(txn, "t", &tb), 0);
	struct mh_bytes k = { "k20", 3 }, pk = { "c", 1 };
	int len = mh_key_build(mh_table_id(tb), 1, k, pk, key);
	cr_assert_gt(len, 0);
	cr_assert_eq(mh_kv_del(txn, key, (size_t)len), 0);
	mh_table_close(tb);
	cr_assert_eq(mh_txn_commit(txn), 0);

	r = check_report(t);
	cr_assert_eq(r.rows, 5);
	cr_assert_eq(r.entries, 4);
	cr_assert_eq(r.missing, 1);
	cr_assert_eq(r.index, 1);
}

Test(executor, analyze_answers_the_recounted_rows)
{
	uint32_t t = table_with("t", false, ROWS, 5);
	cr_assert_eq(op0(VAMOS_MYSQL_ANALYZE, 0, t), 0, "ANALYZE: %d", rep.status);
	struct vamos_mysql_info in;
	cr_assert_eq(rep.len, sizeof in);
	memcpy(&in, rep.data, sizeof in);
	cr_assert_eq(in.rows, 5);
	cr_assert_gt(in.data_bytes, 0);
}

Test(executor, check_and_analyze_refuse_malformed_requests)
{
	uint32_t t = table_with("t", false, ROWS, 2);
	uint64_t ctx = mxh_ctx_open(vm);
	const uint16_t ops[] = { VAMOS_MYSQL_CHECK, VAMOS_MYSQL_ANALYZE };
	for (unsigned i = 0; i < 2; i++) {
		uint64_t junk = 0;
		cr_assert_eq(op0(ops[i], ctx, t), -EINVAL, "with a context");
		cr_assert_eq(op0(ops[i], 0, 0), -EINVAL, "without a table");
		cr_assert_eq(op0(ops[i], 0, 4242), -EBADF, "an unknown table");
		cr_assert_eq(mxh_simple(vm, ops[i], 0, t, 0, &junk, sizeof junk, &rep), -EINVAL,
			     "bytes after the header");
		cr_assert_eq(mxh_simple(vm, ops[i], 0, t, VAMOS_MYSQL_FOR_UPDATE, NULL, 0, &rep),
			     -EINVAL, "a read-for-write flag");
	}
	/* A dropped table's handle is refused, not checked. */
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_DROP, 0, 0, 0, "t", 1, &rep), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_CHECK, 0, t), -EBADF);
	cr_assert_eq(op0(VAMOS_MYSQL_CTX_CLOSE, ctx, 0), 0);
}
