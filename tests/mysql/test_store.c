/* SPDX-License-Identifier: MIT */
/* The MySQL handler layer's RocksDB store: tables, rows, every index kept in
 * step, MySQL's find flags (checked against a brute-force model on random
 * keys), transactions and durability. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rmtree.h"

#include "store.h"
#include "store_internal.h" /* entries and counters behind the API, to damage */

static char dir[64];
static struct mh_store *store;
static struct mh_txn *txn;

#define B(s) ((struct mh_bytes){ (s), (uint32_t)strlen(s) })

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/vamos-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	const char *why = NULL;
	cr_assert_eq(mh_store_open(dir, NULL, &store, &why), 0, "%s", why);
	cr_assert_eq(mh_txn_begin(store, true, &txn), 0);
}

static void teardown(void)
{
	mh_txn_abort(txn);
	mh_store_close(store);
	rmtree(dir);
}

static struct mh_table *create(const char *name, bool hidden, unsigned nsec, const bool *uniq)
{
	struct mh_index_def defs[8];
	for (unsigned i = 0; i < nsec; i++)
		defs[i].unique = uniq[i];
	cr_assert_eq(mh_table_create(txn, name, hidden, nsec, defs), 0);
	struct mh_table *tb;
	cr_assert_eq(mh_table_open(txn, name, &tb), 0);
	return tb;
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, tables_are_created_found_renamed_and_dropped)
{
	struct mh_table *tb = create("db1/t1", false, 0, NULL);
	mh_table_close(tb);
	cr_assert_eq(mh_table_create(txn, "db1/t1", false, 0, NULL), -EEXIST);
	cr_assert_eq(mh_table_create(txn, "", false, 0, NULL), -EINVAL);
	cr_assert_eq(mh_table_create(txn, "\x01sneaky", false, 0, NULL), -EINVAL);
	cr_assert_eq(mh_table_open(txn, "db1/nope", &tb), -ENOENT);
	cr_assert_eq(mh_table_rename(txn, "db1/t1", "db1/t2"), 0);
	cr_assert_eq(mh_table_open(txn, "db1/t1", &tb), -ENOENT);
	cr_assert_eq(mh_table_open(txn, "db1/t2", &tb), 0);
	cr_assert_eq(mh_row_write(txn, tb, B("k"), B("v"), NULL, NULL, NULL), 0);
	mh_table_close(tb);
	cr_assert_eq(mh_table_drop(txn, "db1/t2"), 0);
	cr_assert_eq(mh_table_open(txn, "db1/t2", &tb), -ENOENT);
	/* A new table of the old name starts empty. */
	tb = create("db1/t2", false, 0, NULL);
	uint64_t rows = 9;
	cr_assert_eq(mh_table_rows(txn, tb, &rows), 0);
	cr_assert_eq(rows, 0);
	mh_table_close(tb);
}

/* Truncate and drop delete a table in batches, each starting where the
 * last ended: every entry of every index goes, and nothing of the table
 * created after it (its keys follow in the store's order). */
Test(store, truncate_and_drop_delete_every_entry_of_a_large_table_only)
{
	bool uniq[2] = { true, false };
	struct mh_table *big = create("db1/big", false, 2, uniq);
	struct mh_table *next = create("db1/next", false, 0, NULL);
	char pk[16], u[16], n[16];
	for (int i = 0; i < 1500; i++) {
		snprintf(pk, sizeof pk, "p%05d", i);
		snprintf(u, sizeof u, "u%05d", i);
		snprintf(n, sizeof n, "n%d", i % 7);
		struct mh_bytes sec[2] = { B(u), B(n) };
		cr_assert_eq(mh_row_write(txn, big, B(pk), B("row"), sec, NULL, NULL), 0);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(pk, sizeof pk, "q%d", i);
		cr_assert_eq(mh_row_write(txn, next, B(pk), B("kept"), NULL, NULL, NULL), 0);
	}
	cr_assert_eq(mh_txn_commit(txn), 0);
	cr_assert_eq(mh_txn_begin(store, true, &txn), 0);
	mh_table_close(big);
	mh_table_close(next);
	cr_assert_eq(mh_table_open(txn, "db1/big", &big), 0);
	cr_assert_eq(mh_table_truncate(txn, big), 0);
	for (unsigned i = 0; i <= 2; i++) {
		struct mh_cursor *c;
		struct mh_entry e;
		cr_assert_eq(mh_cursor_open(txn, big, i, &c), 0);
		cr_assert_eq(mh_cursor_first(c, &e), -ENOENT, "index %u is empty", i);
		mh_cursor_close(c);
	}
	uint64_t rows = 9;
	cr_assert_eq(mh_table_rows(txn, big, &rows), 0);
	cr_assert_eq(rows, 0);
	mh_table_close(big);
	cr_assert_eq(mh_table_drop(txn, "db1/big"), 0);
	cr_assert_eq(mh_table_open(txn, "db1/next", &next), 0);
	struct mh_cursor *c;
	struct mh_entry e;
	int seen = 0;
	cr_assert_eq(mh_cursor_open(txn, next, 0, &c), 0);
	for (int rc = mh_cursor_first(c, &e); rc == 0; rc = mh_cursor_next(c, &e)) {
		cr_assert(e.row.len == 4 && !memcmp(e.row.data, "kept", 4));
		seen++;
	}
	cr_assert_eq(seen, 3, "the next table keeps its rows");
	mh_cursor_close(c);
	mh_table_close(next);
}

Test(store, duplicate_keys_are_refused_with_their_index)
{
	bool uniq[2] = { true, false };
	struct mh_table *tb = create("t", false, 2, uniq);
	struct mh_bytes sec1[2] = { B("u1"), B("n1") }, sec2[2] = { B("u1"), B("n1") },
			sec3[2] = { B("u2"), B("n1") };
	int dup = -1;
	cr_assert_eq(mh_row_write(txn, tb, B("pk1"), B("row1"), sec1, NULL, &dup), 0);
	cr_assert_eq(mh_row_write(txn, tb, B("pk1"), B("row9"), sec3, NULL, &dup), -EEXIST);
	cr_assert_eq(dup, 0, "primary clash");
	cr_assert_eq(mh_row_write(txn, tb, B("pk2"), B("row2"), sec2, NULL, &dup), -EEXIST);
	cr_assert_eq(dup, 1, "unique secondary clash");
	/* Non-unique n1 twice is fine. */
	cr_assert_eq(mh_row_write(txn, tb, B("pk2"), B("row2"), sec3, NULL, &dup), 0);
	uint64_t rows;
	cr_assert_eq(mh_table_rows(txn, tb, &rows), 0);
	cr_assert_eq(rows, 2, "the refused writes left nothing");
	struct mh_bytes row;
	cr_assert_eq(mh_row_get(txn, tb, B("pk1"), &row), 0);
	cr_assert(row.len == 4 && !memcmp(row.data, "row1", 4));
	mh_table_close(tb);
}

Test(store, hidden_primary_keys_count_up)
{
	struct mh_table *tb = create("h", true, 0, NULL);
	for (uint64_t i = 1; i <= 3; i++) {
		uint64_t id = 0;
		cr_assert_eq(mh_row_write(txn, tb, B("ignored"), B("r"), NULL, &id, NULL), 0);
		cr_assert_eq(id, i);
	}
	struct mh_cursor *c;
	struct mh_entry e;
	cr_assert_eq(mh_cursor_open(txn, tb, 0, &c), 0);
	cr_assert_eq(mh_cursor_last(c, &e), 0);
	cr_assert_eq(e.pk.len, MH_HIDDEN_PK_LEN);
	cr_assert_eq(((const unsigned char *)e.pk.data)[7], 3);
	mh_cursor_close(c);
	cr_assert_eq(mh_table_truncate(txn, tb), 0);
	uint64_t id = 0;
	cr_assert_eq(mh_row_write(txn, tb, B(""), B("r"), NULL, &id, NULL), 0);
	cr_assert_eq(id, 1, "truncate restarts the row ids");
	mh_table_close(tb);
}

/* Every entry of secondary @index, in order, as "key|pk" strings. */
static void scan(struct mh_table *tb, unsigned index, char *out, size_t len)
{
	struct mh_cursor *c;
	struct mh_entry e;
	out[0] = 0;
	cr_assert_eq(mh_cursor_open(txn, tb, index, &c), 0);
	for (int rc = mh_cursor_first(c, &e); rc == 0; rc = mh_cursor_next(c, &e)) {
		size_t n = strlen(out);
		snprintf(out + n, len - n, "%.*s|%.*s ", (int)e.key.len, (const char *)e.key.data,
			 (int)e.pk.len, (const char *)e.pk.data);
	}
	mh_cursor_close(c);
}

Test(store, updates_and_deletes_keep_every_index_in_step)
{
	bool uniq[2] = { true, false };
	struct mh_table *tb = create("t", false, 2, uniq);
	struct mh_bytes a[2] = { B("ua"), B("na") }, b[2] = { B("ub"), B("nb") };
	int dup;
	cr_assert_eq(mh_row_write(txn, tb, B("p1"), B("A"), a, NULL, &dup), 0);
	cr_assert_eq(mh_row_write(txn, tb, B("p2"), B("B"), b, NULL, &dup), 0);
	/* Move p1 to p3 with new keys. */
	struct mh_bytes c[2] = { B("uc"), B("nc") };
	cr_assert_eq(mh_row_update(txn, tb, B("p1"), B("p3"), B("C"), c, &dup), 0);
	char s1[256], s2[256];
	scan(tb, 1, s1, sizeof s1);
	scan(tb, 2, s2, sizeof s2);
	cr_assert_str_eq(s1, "ub|p2 uc|p3 ");
	cr_assert_str_eq(s2, "nb|p2 nc|p3 ");
	/* Taking p2's unique key fails and changes nothing. */
	struct mh_bytes clash[2] = { B("ub"), B("nz") };
	cr_assert_eq(mh_row_update(txn, tb, B("p3"), B("p3"), B("Z"), clash, &dup), -EEXIST);
	cr_assert_eq(dup, 1);
	cr_assert_eq(mh_row_update(txn, tb, B("p3"), B("p2"), B("Z"), c, &dup), -EEXIST);
	cr_assert_eq(dup, 0);
	scan(tb, 1, s1, sizeof s1);
	cr_assert_str_eq(s1, "ub|p2 uc|p3 ");
	/* Keeping its own unique key is no clash. */
	cr_assert_eq(mh_row_update(txn, tb, B("p3"), B("p3"), B("C2"), c, &dup), 0);
	cr_assert_eq(mh_row_delete(txn, tb, B("p2")), 0);
	cr_assert_eq(mh_row_delete(txn, tb, B("p2")), -ENOENT);
	scan(tb, 1, s1, sizeof s1);
	scan(tb, 2, s2, sizeof s2);
	cr_assert_str_eq(s1, "uc|p3 ");
	cr_assert_str_eq(s2, "nc|p3 ");
	struct mh_bytes row;
	cr_assert_eq(mh_row_get(txn, tb, B("p3"), &row), 0);
	cr_assert(row.len == 2 && !memcmp(row.data, "C2", 2));
	mh_table_close(tb);
}

/* ----------------------------------------------------- find flags model */

struct model_entry {
	unsigned char key[3]; /* two key parts of one byte each, + pk byte */
};

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(a, b, 3);
}

/* Brute force: the index entry (key ++ pk) the flag should land on, by
 * MySQL's definitions over the first @klen bytes; -1 for none. */
static int expect(const struct model_entry *e, int n, const unsigned char *key, int klen,
		  enum mh_find flag)
{
	int first_ge = -1, last_lt = -1, first_match = -1, last_match = -1, first_after = -1;
	for (int i = 0; i < n; i++) {
		int c = memcmp(e[i].key, key, (size_t)klen);
		if (c >= 0 && first_ge < 0)
			first_ge = i;
		if (c < 0)
			last_lt = i;
		if (c == 0 && first_match < 0)
			first_match = i;
		if (c == 0)
			last_match = i;
		if (c > 0 && first_after < 0)
			first_after = i;
	}
	switch (flag) {
	case MH_READ_KEY_EXACT:
	case MH_READ_PREFIX:
		return first_match;
	case MH_READ_KEY_OR_NEXT:
		return first_ge;
	case MH_READ_AFTER_KEY:
		return first_after;
	case MH_READ_BEFORE_KEY:
		return last_lt;
	case MH_READ_PREFIX_LAST:
		return last_match;
	case MH_READ_KEY_OR_PREV:
	case MH_READ_PREFIX_LAST_OR_PREV:
		return last_match >= 0 ? last_match : last_lt;
	}
	return -2;
}

Test(store, find_flags_match_a_brute_force_model)
{
	bool uniq[1] = { false };
	struct mh_table *tb = create("f", false, 1, uniq);
	struct model_entry e[200];
	int n = 0;
	srand(7);
	/* Key parts from a small alphabet (0x00, 0x7f, 0xff included) so
	 * that prefixes repeat and successors overflow. */
	static const unsigned char alphabet[] = { 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff };
	for (int i = 0; i < 200; i++) {
		unsigned char k[3] = { alphabet[rand() % 6], alphabet[rand() % 6], (unsigned char)i };
		struct mh_bytes sec = { k, 2 }, pk = { k + 2, 1 };
		unsigned char pkbuf[2] = { 'p', (unsigned char)i };
		pk.data = pkbuf + 1;
		cr_assert_eq(mh_row_write(txn, tb, pk, B("r"), &sec, NULL, NULL), 0);
		memcpy(e[n++].key, k, 3);
	}
	qsort(e, (size_t)n, sizeof e[0], cmp_entry);
	struct mh_cursor *c;
	cr_assert_eq(mh_cursor_open(txn, tb, 1, &c), 0);
	int checked = 0;
	for (int a = 0; a < 6; a++)
		for (int b = -1; b < 6; b++)
			for (int f = MH_READ_KEY_EXACT; f <= MH_READ_PREFIX_LAST_OR_PREV; f++) {
				unsigned char key[2] = { alphabet[a], b < 0 ? 0 : alphabet[b] };
				int klen = b < 0 ? 1 : 2;
				struct mh_entry got;
				int want = expect(e, n, key, klen, (enum mh_find)f);
				int rc = mh_cursor_find(c, (struct mh_bytes){ key, (uint32_t)klen },
							(enum mh_find)f, &got);
				if (want < 0) {
					cr_assert_eq(rc, -ENOENT, "flag %d key %02x%02x/%d: want none, got rc %d",
						     f, key[0], key[1], klen, rc);
				} else {
					cr_assert_eq(rc, 0, "flag %d key %02x%02x/%d", f, key[0], key[1], klen);
					cr_assert(got.key.len == 2 && !memcmp(got.key.data, e[want].key, 2) &&
						  got.pk.len == 1 &&
						  ((const unsigned char *)got.pk.data)[0] == e[want].key[2],
						  "flag %d key %02x%02x/%d: wrong entry", f, key[0], key[1], klen);
					/* next/prev continue in index order from there */
					struct mh_entry nx;
					int nrc = mh_cursor_next(c, &nx);
					if (want + 1 < n)
						cr_assert(nrc == 0 && ((const unsigned char *)nx.pk.data)[0] ==
									  e[want + 1].key[2]);
					else
						cr_assert_eq(nrc, -ENOENT);
				}
				checked++;
			}
	cr_assert_eq(checked, 6 * 7 * 8);
	mh_cursor_close(c);
	mh_table_close(tb);
}

Test(store, transactions_commit_abort_and_survive_a_reopen)
{
	struct mh_table *tb = create("t", false, 0, NULL);
	cr_assert_eq(mh_row_write(txn, tb, B("kept"), B("1"), NULL, NULL, NULL), 0);
	mh_table_close(tb);
	cr_assert_eq(mh_txn_commit(txn), 0);

	/* A reader's snapshot does not see a writer's uncommitted row. */
	struct mh_txn *reader;
	cr_assert_eq(mh_txn_begin(store, true, &txn), 0);
	cr_assert_eq(mh_table_open(txn, "t", &tb), 0);
	cr_assert_eq(mh_row_write(txn, tb, B("lost"), B("2"), NULL, NULL, NULL), 0);
	cr_assert_eq(mh_txn_begin(store, false, &reader), 0);
	struct mh_table *rt;
	struct mh_bytes row;
	cr_assert_eq(mh_table_open(reader, "t", &rt), 0);
	cr_assert_eq(mh_row_get(reader, rt, B("lost"), &row), -ENOENT);
	cr_assert_eq(mh_row_get(reader, rt, B("kept"), &row), 0);
	mh_table_close(rt);
	mh_txn_abort(reader);
	mh_table_close(tb);
	mh_txn_abort(txn);

	/* Close and reopen: the committed row is there, the aborted one not. */
	mh_store_close(store);
	const char *why;
	cr_assert_eq(mh_store_open(dir, NULL, &store, &why), 0, "%s", why);
	cr_assert_eq(mh_txn_begin(store, false, &txn), 0);
	cr_assert_eq(mh_table_open(txn, "t", &tb), 0);
	cr_assert_eq(mh_row_get(txn, tb, B("kept"), &row), 0);
	cr_assert_eq(mh_row_get(txn, tb, B("lost"), &row), -ENOENT);
	cr_assert_eq(mh_row_write(txn, tb, B("x"), B("y"), NULL, NULL, NULL), -EINVAL,
		     "no writes in a read transaction");
	mh_table_close(tb);
}

Test(store, keys_longer_than_the_store_takes_are_refused)
{
	bool uniq[1] = { false };
	struct mh_table *tb = create("t", false, 1, uniq);
	uint32_t max = mh_store_max_key(store);
	char *big = malloc(max + 1);
	memset(big, 'k', max + 1);
	struct mh_bytes pk = { big, max + 1 }, sec = { big, max };
	cr_assert_eq(mh_row_write(txn, tb, pk, B("r"), &sec, NULL, NULL), -EINVAL);
	pk.len = 4;
	/* key ++ pk exceeds the limit for a non-unique index */
	cr_assert_eq(mh_row_write(txn, tb, pk, B("r"), &sec, NULL, NULL), -EINVAL);
	uint64_t rows;
	free(big);
	cr_assert_eq(mh_table_rows(txn, tb, &rows), 0);
	mh_table_close(tb);
	cr_assert_eq(rows, 0, "a refused write leaves nothing behind");
}

/* A store whose LOCK another process still holds (a worker being torn
 * down) opens once that process is gone, instead of failing at once. */
Test(store_open, waits_for_a_previous_holder_of_the_directory)
{
	char d[] = "/tmp/vamos-store-lock-XXXXXX";
	cr_assert_not_null(mkdtemp(d));
	int ready[2];
	cr_assert_eq(pipe(ready), 0);
	pid_t child = fork();
	cr_assert(child >= 0);
	if (child == 0) {
		struct mh_store *held;
		const char *why;
		if (mh_store_open(d, NULL, &held, &why))
			_exit(1);
		char one = 1;
		if (write(ready[1], &one, 1) != 1)
			_exit(1);
		struct timespec hold = { 0, 300 * 1000000L };
		nanosleep(&hold, NULL);
		_exit(0); /* gone without closing, as a killed worker is */
	}
	char one;
	cr_assert_eq(read(ready[0], &one, 1), 1, "the child opened the store");
	struct mh_store *s = NULL;
	const char *why = NULL;
	cr_assert_eq(mh_store_open(d, NULL, &s, &why), 0, "%s", why);
	int status;
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	mh_store_close(s);
	close(ready[0]);
	close(ready[1]);
	rmtree(d);
}

/* Remove secondary @index's entry (@key ++ @pk) behind the store's back. */
static void drop_entry(struct mh_table *tb, unsigned index, const char *key, const char *pk)
{
	unsigned char buf[MH_STORED_MAX];
	int len = mh_key_build(mh_table_id(tb), index, B(key), B(pk), buf);
	cr_assert_gt(len, 0);
	cr_assert_eq(mh_kv_del(txn, buf, (size_t)len), 0);
}

/* Put an entry of secondary @index whose value is @keylen. */
static void put_entry(struct mh_table *tb, unsigned index, const char *key, const char *pk,
		      uint32_t keylen)
{
	unsigned char buf[MH_STORED_MAX];
	int len = mh_key_build(mh_table_id(tb), index, B(key), B(pk), buf);
	cr_assert_gt(len, 0);
	cr_assert_eq(mh_kv_put(txn, buf, (size_t)len, &keylen, sizeof keylen), 0);
}

static struct mh_table *checked_table(void)
{
	bool uniq[2] = { true, false };
	struct mh_table *tb = create("t", false, 2, uniq);
	const char *rows[][3] = { { "a", "ua", "n1" }, { "b", "ub", "n1" }, { "c", "uc", "n2" } };
	for (unsigned i = 0; i < 3; i++) {
		struct mh_bytes sec[2] = { B(rows[i][1]), B(rows[i][2]) };
		cr_assert_eq(mh_row_write(txn, tb, B(rows[i][0]), B("row"), sec, NULL, NULL), 0);
	}
	return tb;
}

Test(store, check_passes_a_sound_table)
{
	struct mh_table *tb = checked_table();
	struct mh_check c;
	cr_assert_eq(mh_table_check(txn, tb, &c), 0);
	cr_assert_eq(c.rows, 3);
	cr_assert_eq(c.entries, 6);
	cr_assert_eq(c.missing + c.orphans + c.bad, 0);
	cr_assert_eq(c.index, -1);
	mh_table_close(tb);
}

Test(store, check_finds_a_row_without_its_index_entry)
{
	struct mh_table *tb = checked_table();
	drop_entry(tb, 2, "n1", "b");
	struct mh_check c;
	cr_assert_eq(mh_table_check(txn, tb, &c), 0);
	cr_assert_eq(c.rows, 3);
	cr_assert_eq(c.entries, 5);
	cr_assert_eq(c.missing, 1);
	cr_assert_eq(c.orphans, 0);
	cr_assert_eq(c.index, 2, "the damaged index is named");
	mh_table_close(tb);
}

Test(store, check_finds_entries_without_their_row_and_bad_entries)
{
	struct mh_table *tb = checked_table();
	put_entry(tb, 1, "ux", "gone", 2);      /* no row "gone" */
	put_entry(tb, 2, "n9", "a", 2);         /* row "a" is indexed under n1 */
	put_entry(tb, 2, "n1", "c", 4);         /* a length past the key */
	struct mh_check c;
	cr_assert_eq(mh_table_check(txn, tb, &c), 0);
	cr_assert_eq(c.orphans, 2);
	cr_assert_eq(c.bad, 1);
	cr_assert_eq(c.missing, 0);
	cr_assert_eq(c.index, 1);
	mh_table_close(tb);
}

Test(store, recount_sets_the_counters_to_the_stored_rows)
{
	struct mh_table *tb = checked_table();
	mh_table_close(tb);
	cr_assert_eq(mh_txn_commit(txn), 0);
	cr_assert_eq(mh_txn_begin(store, true, &txn), 0);
	cr_assert_eq(mh_table_open(txn, "t", &tb), 0);
	uint64_t rows, bytes = mh_table_bytes(tb);
	/* Counters that drifted from the data (as after a bug). */
	tb->cnt->rows = 99;
	tb->cnt->bytes = 1;
	cr_assert_eq(mh_table_recount(tb), 0);
	cr_assert_eq(mh_table_rows(txn, tb, &rows), 0);
	cr_assert_eq(rows, 3);
	cr_assert_eq(mh_table_bytes(tb), bytes);
	mh_table_close(tb);
}
