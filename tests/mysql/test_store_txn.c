/* SPDX-License-Identifier: MIT */
/* The store's transactions against each other: row locks, lock wait
 * timeouts, deadlocks, statements as savepoints, long keys, durability
 * across a reopen, and the refusal of an LMDB store. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rmtree.h"

#include "store.h"
/* the store's commit lock, held as a count of a table's rows holds it */
#include "store_internal.h"

static char dir[64];
static struct mh_store *store;

#define B(s) ((struct mh_bytes){ (s), (uint32_t)strlen(s) })

static void open_store(unsigned lock_wait_ms)
{
	const char *why = NULL;
	struct mh_store_options o = { .lock_wait_ms = lock_wait_ms };
	cr_assert_eq(mh_store_open(dir, &o, &store, &why), 0, "%s", why);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/vamos-stx-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	open_store(200);
}

static void teardown(void)
{
	mh_store_close(store);
	rmtree(dir);
}

TestSuite(store_txn, .init = setup, .fini = teardown, .timeout = 60);

/* Table @name with rows @pks (pk = row), committed. */
static void table_with(const char *name, unsigned nsec, bool unique, const char *const *pks,
		       unsigned n)
{
	struct mh_txn *t;
	struct mh_table *tb;
	struct mh_index_def def = { .unique = unique };
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_table_create(t, name, false, nsec, &def), 0);
	cr_assert_eq(mh_table_open(t, name, &tb), 0);
	for (unsigned i = 0; i < n; i++) {
		struct mh_bytes sec = B(pks[i]);
		cr_assert_eq(mh_row_write(t, tb, B(pks[i]), B(pks[i]), nsec ? &sec : NULL, NULL,
					  NULL),
			     0);
	}
	cr_assert_eq(mh_table_close(tb), 0);
	cr_assert_eq(mh_txn_commit(t), 0);
}

/* Begin a write transaction and open @name in it. */
static struct mh_txn *writer(const char *name, struct mh_table **tb)
{
	struct mh_txn *t;
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_table_open(t, name, tb), 0);
	return t;
}

Test(store_txn, a_row_locked_by_another_writer_times_out)
{
	static const char *const rows[] = { "a", "b" };
	table_with("t", 0, false, rows, 2);
	struct mh_table *t1b, *t2b;
	struct mh_txn *t1 = writer("t", &t1b), *t2 = writer("t", &t2b);
	cr_assert_eq(mh_row_update(t1, t1b, B("a"), B("a"), B("one"), NULL, NULL), 0);
	cr_assert_eq(mh_row_update(t2, t2b, B("a"), B("a"), B("two"), NULL, NULL), -ETIMEDOUT);
	cr_assert_eq(mh_row_delete(t2, t2b, B("a")), -ETIMEDOUT);
	int dup = -1;
	cr_assert_eq(mh_row_write(t2, t2b, B("a"), B("x"), NULL, NULL, &dup), -ETIMEDOUT,
		     "an insert of a locked key waits too");
	mh_table_close(t2b);
	mh_txn_abort(t2);
	mh_table_close(t1b);
	cr_assert_eq(mh_txn_commit(t1), 0);
	/* Once the first committed, the row is free and holds its value. */
	t2 = writer("t", &t2b);
	struct mh_bytes row;
	cr_assert_eq(mh_row_get(t2, t2b, B("a"), &row), 0);
	cr_assert(row.len == 3 && !memcmp(row.data, "one", 3));
	cr_assert_eq(mh_row_update(t2, t2b, B("a"), B("a"), B("two"), NULL, NULL), 0);
	mh_table_close(t2b);
	cr_assert_eq(mh_txn_commit(t2), 0);
}

Test(store_txn, a_commit_that_may_not_wait_is_refused_whole_while_commits_are_held_off)
{
	static const char *const rows[] = { "a" };
	table_with("t", 0, false, rows, 1);
	struct mh_table *tb;
	struct mh_txn *t = writer("t", &tb);
	cr_assert_eq(mh_row_update(t, tb, B("a"), B("a"), B("one"), NULL, NULL), 0);
	mh_table_close(tb);
	pthread_rwlock_wrlock(&store->commit_lock); /* as a count of a table's rows does */
	cr_assert_eq(mh_txn_commit_unsynced(t), -EWOULDBLOCK);
	pthread_rwlock_unlock(&store->commit_lock);
	/* Nothing of it was done or lost: it commits whole afterwards. */
	cr_assert_eq(mh_txn_commit_unsynced(t), 0);
	cr_assert_eq(mh_store_sync(store), 0);
	struct mh_txn *r;
	struct mh_bytes row;
	cr_assert_eq(mh_txn_begin(store, false, &r), 0);
	cr_assert_eq(mh_table_open(r, "t", &tb), 0);
	cr_assert_eq(mh_row_get(r, tb, B("a"), &row), 0);
	cr_assert(row.len == 3 && !memcmp(row.data, "one", 3));
	mh_table_close(tb);
	mh_txn_abort(r);
}

Test(store_txn, writers_of_different_rows_both_commit)
{
	static const char *const rows[] = { "a", "b" };
	table_with("t", 1, true, rows, 2);
	struct mh_table *t1b, *t2b;
	struct mh_txn *t1 = writer("t", &t1b), *t2 = writer("t", &t2b);
	struct mh_bytes s1 = B("a1"), s2 = B("b1"), s3 = B("c"), s4 = B("d");
	cr_assert_eq(mh_row_update(t1, t1b, B("a"), B("a"), B("1"), &s1, NULL), 0);
	cr_assert_eq(mh_row_update(t2, t2b, B("b"), B("b"), B("2"), &s2, NULL), 0);
	cr_assert_eq(mh_row_write(t1, t1b, B("c"), B("3"), &s3, NULL, NULL), 0);
	cr_assert_eq(mh_row_write(t2, t2b, B("d"), B("4"), &s4, NULL, NULL), 0);
	mh_table_close(t1b);
	mh_table_close(t2b);
	cr_assert_eq(mh_txn_commit(t2), 0);
	cr_assert_eq(mh_txn_commit(t1), 0);
	struct mh_txn *r;
	struct mh_table *rt;
	uint64_t n;
	cr_assert_eq(mh_txn_begin(store, false, &r), 0);
	cr_assert_eq(mh_table_open(r, "t", &rt), 0);
	cr_assert_eq(mh_table_rows(r, rt, &n), 0);
	cr_assert_eq(n, 4);
	mh_table_close(rt);
	mh_txn_abort(r);
}

Test(store_txn, a_unique_key_claimed_by_another_writer_waits)
{
	static const char *const rows[] = { "a" };
	table_with("t", 1, true, rows, 1);
	struct mh_table *t1b, *t2b;
	struct mh_txn *t1 = writer("t", &t1b), *t2 = writer("t", &t2b);
	struct mh_bytes k = B("same");
	int dup = -1;
	cr_assert_eq(mh_row_write(t1, t1b, B("p1"), B("1"), &k, NULL, &dup), 0);
	cr_assert_eq(mh_row_write(t2, t2b, B("p2"), B("2"), &k, NULL, &dup), -ETIMEDOUT);
	mh_table_close(t1b);
	cr_assert_eq(mh_txn_commit(t1), 0);
	cr_assert_eq(mh_row_write(t2, t2b, B("p2"), B("2"), &k, NULL, &dup), -EEXIST);
	cr_assert_eq(dup, 1);
	mh_table_close(t2b);
	mh_txn_abort(t2);
}

struct crossing {
	struct mh_txn *t;
	struct mh_table *tb;
	const char *pk;
	int rc;
};

/* Update row x->pk; the victim of a deadlock rolls back at once (as
 * MariaDB does), which lets the other go on. */
static void *update_other(void *arg)
{
	struct crossing *x = arg;
	x->rc = mh_row_update(x->t, x->tb, B(x->pk), B(x->pk), B("z"), NULL, NULL);
	if (x->rc == -EDEADLK) {
		mh_table_close(x->tb);
		mh_txn_abort(x->t);
	}
	return NULL;
}

Test(store_txn, crossing_writers_get_a_deadlock)
{
	/* A long lock wait: only the deadlock detector ends the cycle. */
	mh_store_close(store);
	open_store(20000);
	static const char *const rows[] = { "a", "b" };
	table_with("t", 0, false, rows, 2);
	struct crossing x1 = { .pk = "b" }, x2 = { .pk = "a" };
	x1.t = writer("t", &x1.tb);
	x2.t = writer("t", &x2.tb);
	cr_assert_eq(mh_row_update(x1.t, x1.tb, B("a"), B("a"), B("1"), NULL, NULL), 0);
	cr_assert_eq(mh_row_update(x2.t, x2.tb, B("b"), B("b"), B("2"), NULL, NULL), 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, update_other, &x1), 0);
	/* x1 asks for b (x2's), x2 for a (x1's): whichever waits second
	 * closes the cycle and is refused. */
	update_other(&x2);
	pthread_join(th, NULL);
	cr_assert((x1.rc == -EDEADLK && x2.rc == 0) || (x2.rc == -EDEADLK && x1.rc == 0),
		  "x1 got %d, x2 %d", x1.rc, x2.rc);
	struct crossing *won = x1.rc == 0 ? &x1 : &x2;
	mh_table_close(won->tb);
	cr_assert_eq(mh_txn_commit(won->t), 0);
}

Test(store_txn, an_aborted_statement_undoes_only_itself)
{
	static const char *const rows[] = { "a" };
	table_with("t", 1, true, rows, 1);
	struct mh_table *tb;
	struct mh_txn *t = writer("t", &tb), *st;
	struct mh_bytes kb = B("b"), kc = B("c"), kd = B("d");
	cr_assert_eq(mh_row_write(t, tb, B("b"), B("b"), &kb, NULL, NULL), 0);
	mh_table_close(tb);
	/* A statement that writes and then fails, rolled back. */
	cr_assert_eq(mh_txn_begin_nested(t, &st), 0);
	cr_assert_eq(mh_table_open(st, "t", &tb), 0);
	cr_assert_eq(mh_row_write(st, tb, B("c"), B("c"), &kc, NULL, NULL), 0);
	cr_assert_eq(mh_row_delete(st, tb, B("a")), 0);
	int dup = -1;
	cr_assert_eq(mh_row_write(st, tb, B("x"), B("x"), &kb, NULL, &dup), -EEXIST);
	mh_table_close(tb);
	mh_txn_abort(st);
	/* A statement that succeeds. */
	cr_assert_eq(mh_txn_begin_nested(t, &st), 0);
	cr_assert_eq(mh_table_open(st, "t", &tb), 0);
	cr_assert_eq(mh_row_write(st, tb, B("d"), B("d"), &kd, NULL, NULL), 0);
	mh_table_close(tb);
	cr_assert_eq(mh_txn_commit(st), 0);
	cr_assert_eq(mh_txn_commit(t), 0);

	struct mh_txn *r;
	cr_assert_eq(mh_txn_begin(store, false, &r), 0);
	cr_assert_eq(mh_table_open(r, "t", &tb), 0);
	struct mh_cursor *c;
	struct mh_entry e;
	char seen[32] = "";
	cr_assert_eq(mh_cursor_open(r, tb, 1, &c), 0);
	for (int rc = mh_cursor_first(c, &e); rc == 0; rc = mh_cursor_next(c, &e))
		strncat(seen, e.key.data, e.key.len);
	mh_cursor_close(c);
	cr_assert_str_eq(seen, "abd");
	uint64_t n;
	cr_assert_eq(mh_table_rows(r, tb, &n), 0);
	cr_assert_eq(n, 3, "the aborted statement's row counts are undone too");
	mh_table_close(tb);
	mh_txn_abort(r);
}

Test(store_txn, a_3000_byte_secondary_key_is_stored_and_found)
{
	cr_assert_geq(mh_store_max_key(store), 3072 + 3072);
	struct mh_txn *t;
	struct mh_table *tb;
	struct mh_index_def def = { .unique = true };
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_table_create(t, "long", false, 1, &def), 0);
	cr_assert_eq(mh_table_open(t, "long", &tb), 0);
	char *k1 = malloc(3000), *k2 = malloc(3000);
	memset(k1, 'k', 3000);
	memset(k2, 'k', 3000);
	k2[2999] = 'l';
	char pk[3000];
	memset(pk, 'p', sizeof pk);
	struct mh_bytes s1 = { k1, 3000 }, s2 = { k2, 3000 }, p1 = { pk, 3000 }, p2 = { "q", 1 };
	int dup = -1;
	cr_assert_eq(mh_row_write(t, tb, p1, B("one"), &s1, NULL, &dup), 0);
	cr_assert_eq(mh_row_write(t, tb, p2, B("two"), &s2, NULL, &dup), 0);
	cr_assert_eq(mh_row_write(t, tb, B("r"), B("three"), &s1, NULL, &dup), -EEXIST);
	cr_assert_eq(dup, 1);
	cr_assert_eq(mh_table_close(tb), 0);
	cr_assert_eq(mh_txn_commit(t), 0);

	cr_assert_eq(mh_txn_begin(store, false, &t), 0);
	cr_assert_eq(mh_table_open(t, "long", &tb), 0);
	struct mh_cursor *c;
	struct mh_entry e;
	cr_assert_eq(mh_cursor_open(t, tb, 1, &c), 0);
	cr_assert_eq(mh_cursor_find(c, s1, MH_READ_KEY_EXACT, &e), 0);
	cr_assert_eq(e.key.len, 3000);
	cr_assert_eq(e.pk.len, 3000);
	cr_assert(e.row.len == 3 && !memcmp(e.row.data, "one", 3));
	cr_assert_eq(mh_cursor_next(c, &e), 0);
	cr_assert(e.row.len == 3 && !memcmp(e.row.data, "two", 3));
	cr_assert_eq(mh_cursor_seek(c, e.stored, false, &e), 0);
	cr_assert_eq(e.pk.len, 3000, "back to the first entry from the second's stored key");
	mh_cursor_close(c);
	mh_table_close(tb);
	mh_txn_abort(t);
	free(k1);
	free(k2);
}

/* Reserve @count values of table "a" in @t; the first. */
static uint64_t reserve(struct mh_txn *t, uint64_t count)
{
	struct mh_table *tb;
	uint64_t first, n;
	cr_assert_eq(mh_table_open(t, "a", &tb), 0);
	cr_assert_eq(mh_table_autoinc_reserve(tb, 1, 1, count, UINT64_MAX, &first, &n), 0);
	cr_assert_eq(n, count);
	mh_table_close(tb);
	return first;
}

Test(store_txn, autoinc_reservations_never_repeat_after_a_reopen)
{
	struct mh_txn *t, *u;
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_table_create(t, "a", false, 0, NULL), 0);
	cr_assert_eq(mh_txn_commit(t), 0);
	/* Two open transactions reserve in turn: neither waits, the ranges
	 * follow each other. */
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_txn_begin(store, true, &u), 0);
	cr_assert_eq(reserve(t, 4), 1);
	cr_assert_eq(reserve(u, 1), 5);
	/* Neither commits: the values stay used all the same. */
	mh_txn_abort(t);
	mh_txn_abort(u);
	mh_store_close(store);
	open_store(200);
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_geq(reserve(t, 1), 6, "a reserved value is never handed out again");
	mh_txn_abort(t);
	/* A read transaction reserves nothing. */
	struct mh_table *tb;
	uint64_t first, n;
	cr_assert_eq(mh_txn_begin(store, false, &t), 0);
	cr_assert_eq(mh_table_open(t, "a", &tb), 0);
	cr_assert_eq(mh_table_autoinc_reserve(tb, 1, 1, 1, UINT64_MAX, &first, &n), -EINVAL);
	mh_table_close(tb);
	mh_txn_abort(t);
}

/* Table "a" is made, then @crash runs in a child process on its own
 * open of the store and dies without closing it (a crash: the WAL is in
 * the OS's page cache); the store is open again when this returns. */
static void in_a_process_that_crashes(int (*crash)(void))
{
	struct mh_txn *t;
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_table_create(t, "a", false, 0, NULL), 0);
	cr_assert_eq(mh_txn_commit(t), 0);
	mh_store_close(store);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		const char *why = NULL;
		struct mh_store_options o = { .lock_wait_ms = 200 };
		_exit(mh_store_open(dir, &o, &store, &why) ? 2 : crash());
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %d", status);
	open_store(200);
}

/* 1-3 reserved and committed. */
static int reserve_three_and_commit(void)
{
	struct mh_txn *t;
	if (mh_txn_begin(store, true, &t))
		return 3;
	uint64_t first = reserve(t, 3);
	return first == 1 && mh_txn_commit(t) == 0 ? 0 : 4;
}

Test(store_txn, a_commit_persists_the_autoinc_floor_before_a_crash)
{
	struct mh_txn *t;
	in_a_process_that_crashes(reserve_three_and_commit);
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_geq(reserve(t, 1), 4, "values a committed transaction may hold are never handed out again");
	mh_txn_abort(t);
}

/* 1-8 reserved, the reserver rolls back (the guest keeps 2-8), and
 * another transaction writes 5 and commits. */
static int write_a_value_reserved_elsewhere(void)
{
	struct mh_txn *t, *u;
	struct mh_table *tb;
	if (mh_txn_begin(store, true, &t))
		return 3;
	uint64_t first = reserve(t, 8);
	mh_txn_abort(t);
	if (first != 1 || mh_txn_begin(store, true, &u) || mh_table_open(u, "a", &tb))
		return 4;
	mh_table_autoinc_seen(tb, 5);
	mh_table_close(tb);
	return mh_txn_commit(u) == 0 ? 0 : 5;
}

/* The guest keeps ranges: a value reserved by a transaction that rolled
 * back is written by another, whose commit must move the floor past it. */
Test(store_txn, a_commit_of_a_value_reserved_elsewhere_persists_the_floor)
{
	struct mh_txn *t;
	in_a_process_that_crashes(write_a_value_reserved_elsewhere);
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_geq(reserve(t, 1), 6, "a committed value is never handed out again");
	mh_txn_abort(t);
}

/* The unused rest of a kept range goes back only while the counter is
 * still at its end. */
Test(store_txn, autoinc_values_given_back_are_handed_out_again)
{
	struct mh_txn *t;
	struct mh_table *tb;
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_table_create(t, "a", false, 0, NULL), 0);
	cr_assert_eq(mh_txn_commit(t), 0);
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(reserve(t, 64), 1);
	cr_assert_eq(mh_table_open(t, "a", &tb), 0);
	mh_table_autoinc_give_back(tb, 4, 65); /* 1-3 used */
	cr_assert_eq(mh_table_next_autoinc(tb), 4);
	mh_table_autoinc_give_back(tb, 2, 65); /* the counter moved: no */
	cr_assert_eq(mh_table_next_autoinc(tb), 4);
	mh_table_close(tb);
	cr_assert_eq(reserve(t, 4), 4, "the values given back come next");
	cr_assert_eq(mh_table_open(t, "a", &tb), 0);
	mh_table_autoinc_give_back(tb, 6, 8); /* 4-7 reserved, 4 and 5 used */
	cr_assert_eq(mh_table_next_autoinc(tb), 6);
	mh_table_autoinc_seen(tb, 6);
	mh_table_autoinc_give_back(tb, 6, 8); /* 7 is the counter: no */
	cr_assert_eq(mh_table_next_autoinc(tb), 7);
	/* A range up to 2^64 - 1 ends at "0": the exhausted counter. */
	uint64_t first, n;
	mh_table_autoinc_seen(tb, UINT64_MAX - 11);
	cr_assert_eq(mh_table_autoinc_reserve(tb, 1, 1, 64, UINT64_MAX, &first, &n), 0);
	cr_assert(first == UINT64_MAX - 10 && n == 11);
	cr_assert_eq(mh_table_next_autoinc(tb), UINT64_MAX, "exhausted");
	mh_table_autoinc_give_back(tb, UINT64_MAX - 5, 0);
	cr_assert_eq(mh_table_next_autoinc(tb), UINT64_MAX - 5);
	mh_table_close(tb);
	mh_txn_abort(t);
}

/* A commit that moved an AUTO_INCREMENT counter carries the floor in its
 * own batch: one WAL write, not one for the floor and one for the commit. */
Test(store_txn, a_commit_writes_its_autoinc_floor_with_it)
{
	struct mh_txn *t;
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_table_create(t, "a", false, 0, NULL), 0);
	cr_assert_eq(mh_txn_commit(t), 0);
	for (int i = 0; i < 3; i++) {
		uint64_t before = mh_store_wal_writes(store);
		cr_assert_eq(mh_txn_begin(store, true, &t), 0);
		cr_assert_eq(reserve(t, 2), 1 + 2 * (uint64_t)i);
		cr_assert_eq(mh_txn_commit(t), 0);
		cr_assert_eq(mh_store_wal_writes(store), before + 1, "one WAL write per commit");
	}
	/* The floor is there: after a reopen the values go on after 6. */
	mh_store_close(store);
	open_store(200);
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(reserve(t, 1), 7);
	mh_txn_abort(t);
}

Test(store_txn, counters_survive_a_reopen_after_commit)
{
	struct mh_txn *t;
	struct mh_table *tb;
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_table_create(t, "h", true, 0, NULL), 0);
	cr_assert_eq(mh_table_open(t, "h", &tb), 0);
	uint64_t id = 0;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(mh_row_write(t, tb, B(""), B("r"), NULL, &id, NULL), 0);
	mh_table_autoinc_seen(tb, 41);
	cr_assert_eq(mh_table_close(tb), 0);
	cr_assert_eq(mh_txn_commit(t), 0);
	mh_store_close(store);
	open_store(200);
	cr_assert_eq(mh_txn_begin(store, true, &t), 0);
	cr_assert_eq(mh_table_open(t, "h", &tb), 0);
	uint64_t rows;
	cr_assert_eq(mh_table_rows(t, tb, &rows), 0);
	cr_assert_eq(rows, 3);
	cr_assert_geq(mh_table_next_autoinc(tb), 42, "never a value a commit used");
	cr_assert_eq(mh_row_write(t, tb, B(""), B("r"), NULL, &id, NULL), 0);
	cr_assert_eq(id, 4, "row ids go on past the largest stored one");
	mh_table_close(tb);
	cr_assert_eq(mh_txn_commit(t), 0);
}

Test(store_txn, a_directory_of_the_lmdb_version_is_refused)
{
	char old[96], path[128];
	snprintf(old, sizeof old, "%s/old", dir);
	cr_assert_eq(mkdir(old, 0700), 0);
	snprintf(path, sizeof path, "%s/data.mdb", old);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("lmdb pages", f);
	fclose(f);
	struct mh_store *s = NULL;
	const char *why = "";
	cr_assert_eq(mh_store_open(old, NULL, &s, &why), -ENOTSUP);
	cr_assert_not_null(strstr(why, "LMDB"), "%s", why);
	cr_assert_not_null(strstr(why, "dump"), "%s", why);
	f = fopen(path, "r");
	char buf[32] = "";
	cr_assert_not_null(fgets(buf, sizeof buf, f));
	fclose(f);
	cr_assert_str_eq(buf, "lmdb pages", "nothing overwritten");
	snprintf(path, sizeof path, "%s/CURRENT", old);
	cr_assert_neq(access(path, F_OK), 0, "no RocksDB files written beside it");
}

/* The rows of table @name as "pk pk ..." in a new read transaction, and
 * their count. */
static void rows_of(const char *name, char *out, size_t cap, uint64_t *count)
{
	struct mh_txn *r;
	struct mh_table *tb;
	struct mh_cursor *c;
	struct mh_entry e;
	out[0] = 0;
	cr_assert_eq(mh_txn_begin(store, false, &r), 0);
	cr_assert_eq(mh_table_open(r, name, &tb), 0);
	cr_assert_eq(mh_cursor_open(r, tb, 0, &c), 0);
	for (int rc = mh_cursor_first(c, &e); rc == 0; rc = mh_cursor_next(c, &e)) {
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%.*s ", (int)e.pk.len, (const char *)e.pk.data);
	}
	mh_cursor_close(c);
	cr_assert_eq(mh_table_rows(r, tb, count), 0);
	mh_table_close(tb);
	mh_txn_abort(r);
}

static void put_row(struct mh_txn *t, const char *pk)
{
	struct mh_table *tb;
	cr_assert_eq(mh_table_open(t, "t", &tb), 0);
	cr_assert_eq(mh_row_write(t, tb, B(pk), B("r"), NULL, NULL, NULL), 0);
	mh_table_close(tb);
}

Test(store_txn, savepoints_undo_back_to_their_depth)
{
	table_with("t", 0, false, NULL, 0);
	struct mh_table *tb;
	struct mh_txn *t = writer("t", &tb), *st;
	mh_table_close(tb);
	unsigned d1, d2;
	put_row(t, "a");
	cr_assert_eq(mh_txn_savepoint(t, &d1), 0);
	put_row(t, "b");
	cr_assert_eq(mh_txn_begin_nested(t, &st), 0);
	put_row(st, "c");
	cr_assert_eq(mh_txn_commit(st), 0, "a statement kept: its savepoint stays below");
	cr_assert_eq(mh_txn_savepoint(t, &d2), 0);
	cr_assert_gt(d2, d1);
	put_row(t, "d");
	cr_assert_eq(mh_txn_begin_nested(t, &st), 0);
	put_row(st, "e");
	mh_txn_abort(st);
	cr_assert_eq(mh_txn_rollback_to(t, d2), 0);
	put_row(t, "f");
	cr_assert_eq(mh_txn_rollback_to(t, d2), 0, "still set after a rollback to it");
	cr_assert_eq(mh_txn_rollback_to(t, d1), 0);
	cr_assert_eq(mh_txn_rollback_to(t, d2), -ENOENT, "a later one is gone");
	put_row(t, "g");
	cr_assert_eq(mh_txn_release(t, d1), 0);
	cr_assert_eq(mh_txn_rollback_to(t, d1), -ENOENT, "released");
	cr_assert_eq(mh_txn_commit(t), 0);
	char seen[64];
	uint64_t n;
	rows_of("t", seen, sizeof seen, &n);
	cr_assert_str_eq(seen, "a g ");
	cr_assert_eq(n, 2, "row counts follow the rollbacks");
}

/* A keys-only cursor (RECORDS_IN_RANGE's count) in a locking read sees
 * each entry's key and primary key, reads no row and locks none: another
 * writer changes those rows at once. */
Test(store_txn, a_keys_only_cursor_counts_without_reading_or_locking_rows)
{
	static const char *const rows[] = { "a", "b", "c" };
	table_with("t", 1, false, rows, 3);
	struct mh_table *t1b, *t2b;
	struct mh_txn *t1 = writer("t", &t1b), *t2 = writer("t", &t2b);
	mh_txn_lock_reads(t1, true);
	for (unsigned index = 0; index <= 1; index++) {
		struct mh_cursor *c;
		struct mh_entry e;
		int n = 0;
		cr_assert_eq(mh_cursor_open(t1, t1b, index, &c), 0);
		mh_cursor_keys_only(c);
		for (int rc = mh_cursor_first(c, &e); rc == 0; rc = mh_cursor_next(c, &e), n++) {
			cr_assert_eq(e.row.len, 0, "no row");
			cr_assert(e.pk.len == 1 && e.key.len == 1 &&
				  !memcmp(e.pk.data, rows[n], 1) && !memcmp(e.key.data, rows[n], 1));
		}
		cr_assert_eq(n, 3);
		mh_cursor_close(c);
	}
	mh_txn_lock_reads(t1, false);
	struct mh_bytes sec = B("b");
	cr_assert_eq(mh_row_update(t2, t2b, B("b"), B("b"), B("two"), &sec, NULL), 0,
		     "the count locked no row");
	mh_table_close(t2b);
	cr_assert_eq(mh_txn_commit(t2), 0);
	mh_table_close(t1b);
	mh_txn_abort(t1);
}
