/* SPDX-License-Identifier: MIT */
/* Two-phase commit in the MySQL executor: PREPARE of a context's
 * transaction, COMMIT/ROLLBACK of it as before, a prepared transaction
 * kept across its context's close, a reset and a reopen of the store,
 * COMMIT_BY_XID, ROLLBACK_BY_XID and RECOVER, and hostile XIDs. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rmtree.h"

#include "mx_harness.h"

static char dir[64];
static struct mx_vm *vm;
static struct mxh_reply rep;
static uint32_t table;

static void open_vm(void)
{
	const char *why = NULL;
	struct mx_options o = { .lock_wait_ms = 300, .max_contexts = 16, .max_tables = 8 };
	cr_assert_eq(mx_vm_open(dir, "vm1", &o, mxh_done, &vm, &why), 0, "%s", why);
	int64_t h = mxh_open(vm, "t");
	if (h > 0)
		table = (uint32_t)h;
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/vamos-xa-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	open_vm();
	cr_assert_eq(mxh_create(vm, "t", false, 0, NULL, 0), 0);
	int64_t h = mxh_open(vm, "t");
	cr_assert_gt(h, 0);
	table = (uint32_t)h;
}

static void teardown(void)
{
	mx_vm_close(vm);
	rmtree(dir);
}

TestSuite(xa, .init = setup, .fini = teardown, .timeout = 60);

static void reopen(void)
{
	mx_vm_close(vm);
	open_vm();
}

static int op0(uint16_t op, uint64_t ctx)
{
	return mxh_simple(vm, op, ctx, 0, 0, NULL, 0, &rep);
}

/* An XID request: the header, then vamos_mysql_xid and @gtrid ++ @bqual
 * (the lengths as given, so that a test can lie about them). */
static int xid_op(uint16_t op, uint64_t ctx, int64_t format, uint16_t glen, uint16_t blen,
		  const char *data, uint32_t data_len)
{
	static struct mxh_req r;
	mxh_begin(&r, ctx, 0, 0);
	struct vamos_mysql_xid x = { .format_id = format, .gtrid_len = glen, .bqual_len = blen };
	mxh_put(&r, &x, sizeof x);
	mxh_put(&r, data, data_len);
	return mxh_call(vm, op, &r, &rep);
}

/* The well-formed XID ('@g', 'b', 1). */
static int xid(uint16_t op, uint64_t ctx, const char *g)
{
	char data[80];
	size_t glen = strlen(g);
	memcpy(data, g, glen);
	data[glen] = 'b';
	return xid_op(op, ctx, 1, (uint16_t)glen, 1, data, (uint32_t)glen + 1);
}

static int write_row(uint64_t ctx, const char *pk)
{
	return mxh_write1(vm, ctx, table, pk, "v", 0, NULL, 0, &rep);
}

/* The table's committed rows as "pk=row;..." in a context of its own. */
static const char *rows(void)
{
	static char text[1024];
	uint64_t c = mxh_ctx_open(vm);
	struct mxh_read rd = { .start = VAMOS_MYSQL_START_FIRST, .max_rows = 100 };
	int st = mxh_read(vm, c, table, &rd, &rep);
	if (st == -ENOENT)
		text[0] = 0;
	else
		cr_assert_eq(st, 0);
	if (!st)
		mxh_rows_text(&rep, text, sizeof text, NULL, 0, NULL);
	cr_assert_eq(op0(VAMOS_MYSQL_CTX_CLOSE, c), 0);
	return text;
}

/* RECOVER's XIDs as "gtrid.bqual;..." (at most @max). */
static const char *recovered(uint32_t max)
{
	static char text[1024];
	struct vamos_mysql_recover q = { .max = max };
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_RECOVER, 0, 0, 0, &q, sizeof q, &rep), 0);
	struct vamos_mysql_xids head;
	memcpy(&head, rep.data, sizeof head);
	size_t at = sizeof head, n = 0;
	text[0] = 0;
	for (uint32_t i = 0; i < head.count; i++) {
		struct vamos_mysql_xid x;
		cr_assert_leq(at + sizeof x, rep.len);
		memcpy(&x, rep.data + at, sizeof x);
		const char *d = (const char *)rep.data + at + sizeof x;
		n += (size_t)snprintf(text + n, sizeof text - n, "%.*s.%.*s;", x.gtrid_len, d,
				      x.bqual_len, d + x.gtrid_len);
		at += (sizeof x + x.gtrid_len + x.bqual_len + 7) & ~(size_t)7;
	}
	cr_assert_eq(at, rep.len);
	return text;
}

Test(xa, a_prepared_transaction_commits_or_rolls_back_on_its_context)
{
	uint64_t c = mxh_ctx_open(vm);
	cr_assert_eq(write_row(c, "a"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, c, "one"), 0);
	cr_assert_str_eq(rows(), "", "prepared is not committed");
	/* Nothing but its end from now on. */
	cr_assert_eq(write_row(c, "z"), -EINVAL);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, c, "one"), -EINVAL);
	cr_assert_eq(op0(VAMOS_MYSQL_STMT_COMMIT, c), 0);
	cr_assert_str_eq(recovered(10), "", "a context holds it");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c), 0);
	cr_assert_str_eq(rows(), "a=v;");

	cr_assert_eq(write_row(c, "b"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, c, "one"), 0, "the name is free again");
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, c), 0);
	cr_assert_str_eq(rows(), "a=v;");
	/* A context that only read has nothing to prepare. */
	cr_assert_str_eq(rows(), "a=v;");
	uint64_t r = mxh_ctx_open(vm);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, r, "ro"), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, r), 0);
	cr_assert_str_eq(recovered(10), "");
}

Test(xa, a_prepared_transaction_outlives_its_context_until_commit_by_xid)
{
	uint64_t c = mxh_ctx_open(vm);
	cr_assert_eq(write_row(c, "a"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, c, "keep"), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_CTX_CLOSE, c), 0);
	cr_assert_str_eq(recovered(10), "keep.b;");
	cr_assert_str_eq(rows(), "");
	/* Its row lock is still held. */
	uint64_t d = mxh_ctx_open(vm);
	cr_assert_eq(write_row(d, "a"), -ETIMEDOUT);
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, d), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_COMMIT_BY_XID, 0, "other"), -ENOENT);
	cr_assert_eq(xid(VAMOS_MYSQL_COMMIT_BY_XID, 0, "keep"), 0);
	cr_assert_str_eq(rows(), "a=v;");
	cr_assert_str_eq(recovered(10), "");
	cr_assert_eq(xid(VAMOS_MYSQL_COMMIT_BY_XID, 0, "keep"), -ENOENT, "once only");
}

Test(xa, a_reset_keeps_prepared_transactions_and_rolls_back_the_others)
{
	uint64_t p = mxh_ctx_open(vm), q = mxh_ctx_open(vm), o = mxh_ctx_open(vm);
	cr_assert_eq(write_row(p, "p"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, p, "p"), 0);
	cr_assert_eq(write_row(q, "q"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, q, "q"), 0);
	cr_assert_eq(write_row(o, "o"), 0);
	struct vamos_mysql_attach at = { .flags = VAMOS_MYSQL_ATTACH_EXCLUSIVE };
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_ATTACH, 0, 0, 0, &at, sizeof at, &rep), 0);
	int64_t h = mxh_open(vm, "t");
	cr_assert_gt(h, 0);
	table = (uint32_t)h;
	cr_assert_str_eq(recovered(10), "p.b;q.b;");
	cr_assert_str_eq(recovered(1), "p.b;", "no more than asked for");
	cr_assert_eq(xid(VAMOS_MYSQL_ROLLBACK_BY_XID, 0, "p"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_COMMIT_BY_XID, 0, "q"), 0);
	cr_assert_str_eq(rows(), "q=v;");
}

Test(xa, prepared_transactions_survive_a_reopen_of_the_store)
{
	uint64_t p = mxh_ctx_open(vm), q = mxh_ctx_open(vm);
	cr_assert_eq(write_row(p, "p"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, p, "p"), 0);
	cr_assert_eq(write_row(q, "q"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, q, "q"), 0);
	cr_assert_eq(op0(VAMOS_MYSQL_CTX_CLOSE, q), 0);
	reopen(); /* p was still its context's, q no context's */
	cr_assert_str_eq(rows(), "");
	const char *got = recovered(10);
	cr_assert(!strcmp(got, "p.b;q.b;") || !strcmp(got, "q.b;p.b;"), "%s", got);
	/* Its locks came back with it. */
	uint64_t d = mxh_ctx_open(vm);
	cr_assert_eq(write_row(d, "p"), -ETIMEDOUT);
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, d), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_COMMIT_BY_XID, 0, "p"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_ROLLBACK_BY_XID, 0, "q"), 0);
	reopen();
	cr_assert_str_eq(recovered(10), "");
	cr_assert_str_eq(rows(), "p=v;");
}

Test(xa, hostile_xids_are_refused)
{
	uint64_t c = mxh_ctx_open(vm);
	cr_assert_eq(write_row(c, "a"), 0);
	char data[200];
	memset(data, 'x', sizeof data);
	cr_assert_eq(xid_op(VAMOS_MYSQL_PREPARE, c, 1, 0, 1, data, 1), -EINVAL, "no gtrid");
	cr_assert_eq(xid_op(VAMOS_MYSQL_PREPARE, c, 1, 65, 0, data, 65), -EINVAL, "gtrid > 64");
	cr_assert_eq(xid_op(VAMOS_MYSQL_PREPARE, c, 1, 1, 65, data, 66), -EINVAL, "bqual > 64");
	cr_assert_eq(xid_op(VAMOS_MYSQL_PREPARE, c, -1, 1, 0, data, 1), -EINVAL, "null XID");
	cr_assert_eq(xid_op(VAMOS_MYSQL_PREPARE, c, 1, 64, 64, data, 127), -EINVAL, "short data");
	cr_assert_eq(xid_op(VAMOS_MYSQL_PREPARE, c, 1, 1, 0, data, 2), -EINVAL, "bytes past it");
	cr_assert_eq(xid_op(VAMOS_MYSQL_PREPARE, c, 1, 0xffff, 0xffff, data, 200), -EINVAL);
	struct mxh_req r;
	mxh_begin(&r, c, 0, 0);
	struct vamos_mysql_xid x = { .format_id = 1, .gtrid_len = 1, .reserved = 1 };
	mxh_put(&r, &x, sizeof x);
	mxh_put(&r, "g", 1);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_PREPARE, &r, &rep), -EINVAL, "reserved set");
	mxh_begin(&r, c, 0, 0);
	mxh_put(&r, &x, sizeof x - 1);
	cr_assert_eq(mxh_call(vm, VAMOS_MYSQL_PREPARE, &r, &rep), -EINVAL, "short header");
	/* The longest XID is taken, and a second one of that name is not. */
	cr_assert_eq(xid_op(VAMOS_MYSQL_PREPARE, c, 7, 64, 64, data, 128), 0);
	uint64_t d = mxh_ctx_open(vm);
	cr_assert_eq(write_row(d, "b"), 0);
	cr_assert_eq(xid_op(VAMOS_MYSQL_PREPARE, d, 7, 64, 64, data, 128), -EEXIST);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, d), 0, "it is not prepared: a plain commit");
	/* By-XID ops take no context, RECOVER a count. */
	cr_assert_eq(xid(VAMOS_MYSQL_COMMIT_BY_XID, c, "a"), -EINVAL);
	cr_assert_eq(xid_op(VAMOS_MYSQL_ROLLBACK_BY_XID, 0, 1, 65, 0, data, 65), -EINVAL);
	struct vamos_mysql_recover q = { 0 };
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_RECOVER, 0, 0, 0, &q, sizeof q, &rep), -EINVAL);
	q = (struct vamos_mysql_recover){ .max = 1, .reserved = 1 };
	cr_assert_eq(mxh_simple(vm, VAMOS_MYSQL_RECOVER, 0, 0, 0, &q, sizeof q, &rep), -EINVAL);
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c), 0);
	cr_assert_str_eq(rows(), "a=v;b=v;");
}

Test(xa, a_vm_holds_no_more_prepared_transactions_than_contexts)
{
	char pk[16], name[16];
	/* 16 contexts at most (setup): each prepares one and closes. */
	for (unsigned i = 0; i < 16; i++) {
		uint64_t c = mxh_ctx_open(vm);
		snprintf(pk, sizeof pk, "r%02u", i);
		snprintf(name, sizeof name, "x%02u", i);
		cr_assert_eq(write_row(c, pk), 0);
		cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, c, name), 0, "prepare %u", i);
		cr_assert_eq(op0(VAMOS_MYSQL_CTX_CLOSE, c), 0);
	}
	uint64_t c = mxh_ctx_open(vm);
	cr_assert_eq(write_row(c, "late"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, c, "late"), -EMFILE);
	cr_assert_eq(xid(VAMOS_MYSQL_ROLLBACK_BY_XID, 0, "x00"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, c, "late"), 0, "one ended: room for one");
	cr_assert_eq(op0(VAMOS_MYSQL_COMMIT, c), 0);
	uint64_t d = mxh_ctx_open(vm);
	cr_assert_eq(write_row(d, "later"), 0);
	cr_assert_eq(xid(VAMOS_MYSQL_PREPARE, d, "later"), 0, "a commit on the context ends one too");
	cr_assert_eq(op0(VAMOS_MYSQL_ROLLBACK, d), 0);
}
