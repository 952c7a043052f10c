/* SPDX-License-Identifier: MIT */
/* The executor under concurrency, without Criterion (so ThreadSanitizer
 * can run it): writer threads each in their own context commit and roll
 * back, readers scan in their snapshots, a maintainer runs ANALYZE (a
 * recount, exclusive against commits) and CHECK (every CHECK must find the
 * table sound), and a "restarted server" resets the VM now and then.
 * Commits made at once are answered after the WAL sync the pool makes for
 * them (while ANALYZE holds commits off, the pool makes them instead).
 * Every status must be one the protocol allows in that situation. A reset
 * takes away only open transactions, so the table must end with exactly
 * the rows whose commit was answered 0, by INFO and by a last ANALYZE.
 * Some writers' transactions go in two phases: PREPARE, then COMMIT on the
 * context, or its close and COMMIT_BY_XID; a reset meanwhile keeps a
 * prepared transaction, which COMMIT_BY_XID then ends. A locker reads
 * rows for update (tried at once on the calling thread, on the pool when
 * a writer holds one of them), writes a row of its own, reads again with
 * a request that ends its statement (VAMOS_MYSQL_STMT_ENDED), and rolls
 * everything back. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rmtree.h"

#include "mx_harness.h"

#define WRITERS 3
#define ROUNDS 150

static struct mx_vm *vm;
static atomic_int failures, committed;
static atomic_bool stop;

static void bad(const char *what, int status)
{
	fprintf(stderr, "threaded-executor: %s: unexpected status %d\n", what, status);
	atomic_fetch_add(&failures, 1);
}

/* A status a reset may cause: the context or handle is gone. */
static bool reset_status(int st)
{
	return st == -EBADF || st == -ECONNRESET;
}

/* PREPARE @ctx's transaction under XID @name, then commit it: on the
 * context, or (@by_xid) by XID after closing the context. 0 when it
 * committed, 1 when a reset took the context before the prepare (rolled
 * back), else a failure. */
static int two_phase(uint64_t ctx, const char *name, bool by_xid, struct mxh_reply *rep)
{
	static __thread struct mxh_req r;
	struct vamos_mysql_xid x = { .format_id = 1, .gtrid_len = (uint16_t)strlen(name) };
	mxh_begin(&r, ctx, 0, 0);
	mxh_put(&r, &x, sizeof x);
	mxh_put(&r, name, x.gtrid_len);
	int st = mxh_call(vm, VAMOS_MYSQL_PREPARE, &r, rep);
	if (reset_status(st))
		return 1;
	if (st) {
		bad("prepare", st);
		return -1;
	}
	st = by_xid ? mxh_simple(vm, VAMOS_MYSQL_CTX_CLOSE, ctx, 0, 0, NULL, 0, rep)
		    : mxh_simple(vm, VAMOS_MYSQL_COMMIT, ctx, 0, 0, NULL, 0, rep);
	if (st == 0 && !by_xid)
		return 0;
	if (st && !reset_status(st)) {
		bad(by_xid ? "close prepared" : "commit prepared", st);
		return -1;
	}
	/* The context is gone; its prepared transaction is kept. */
	mxh_begin(&r, 0, 0, 0);
	mxh_put(&r, &x, sizeof x);
	mxh_put(&r, name, x.gtrid_len);
	st = mxh_call(vm, VAMOS_MYSQL_COMMIT_BY_XID, &r, rep);
	if (st)
		bad("commit by xid", st);
	return st ? -1 : 0;
}

static void *writer(void *arg)
{
	long id = (long)arg;
	static __thread struct mxh_reply rep;
	uint64_t ctx = 0;
	uint32_t t = 0;
	for (int i = 0; i < ROUNDS; i++) {
		if (!ctx)
			ctx = mxh_ctx_open(vm);
		if (!t)
			t = (uint32_t)mxh_open(vm, "t");
		char pk[32];
		snprintf(pk, sizeof pk, "w%ld-%04d", id, i);
		const char *key[1] = { pk };
		int st = mxh_write1(vm, ctx, t, pk, "row", 1, key, 0, &rep);
		if (reset_status(st)) {
			ctx = t = 0;
			continue;
		}
		if (st && st != -ETIMEDOUT)
			bad("write", st);
		if (i % 4 == 1) {
			int tp = two_phase(ctx, pk, i % 8 == 5, &rep);
			if (tp == 0 && st == 0)
				atomic_fetch_add(&committed, 1);
			if (tp != 0 || i % 8 == 5)
				ctx = t = 0; /* closed, or gone */
			continue;
		}
		bool keep = i % 4 != 0 && st == 0;
		st = mxh_simple(vm, keep ? VAMOS_MYSQL_COMMIT : VAMOS_MYSQL_ROLLBACK, ctx, 0, 0, NULL,
				0, &rep);
		if (reset_status(st)) {
			ctx = t = 0;
			continue;
		}
		if (st)
			bad("commit", st);
		else if (keep)
			atomic_fetch_add(&committed, 1);
	}
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	static __thread struct mxh_reply rep;
	uint64_t ctx = 0;
	uint32_t t = 0;
	while (!atomic_load(&stop)) {
		if (!ctx)
			ctx = mxh_ctx_open(vm);
		if (!t)
			t = (uint32_t)mxh_open(vm, "t");
		struct mxh_read rd = { .start = VAMOS_MYSQL_START_FIRST, .max_rows = 50,
				       .flags = VAMOS_MYSQL_FRESH_SNAPSHOT };
		int st = mxh_read(vm, ctx, t, &rd, &rep);
		if (reset_status(st))
			ctx = t = 0;
		else if (st && st != -ENOENT)
			bad("read", st);
	}
	return NULL;
}

/* A status a locking request may end with besides 0 and a reset's. */
static bool lock_status(int st)
{
	return st == -ETIMEDOUT || st == -EDEADLK;
}

static void *locker(void *arg)
{
	(void)arg;
	static __thread struct mxh_reply rep;
	uint64_t ctx = 0;
	uint32_t t = 0;
	for (int i = 0; !atomic_load(&stop); i++) {
		if (!ctx)
			ctx = mxh_ctx_open(vm);
		if (!t)
			t = (uint32_t)mxh_open(vm, "t");
		struct mxh_read rd = { .start = VAMOS_MYSQL_START_FIRST, .max_rows = 20,
				       .flags = VAMOS_MYSQL_FOR_UPDATE };
		int st = mxh_read(vm, ctx, t, &rd, &rep);
		char pk[32];
		snprintf(pk, sizeof pk, "l-%04d", i);
		const char *key[1] = { pk };
		if (st == 0 || st == -ENOENT)
			st = mxh_write1(vm, ctx, t, pk, "row", 1, key, 0, &rep);
		if (st == 0) {
			struct mxh_read again = { .start = VAMOS_MYSQL_START_FIRST, .max_rows = 5,
						  .flags = VAMOS_MYSQL_STMT_ENDED };
			st = mxh_read(vm, ctx, t, &again, &rep);
			if (st == 0)
				st = mxh_simple(vm, VAMOS_MYSQL_STMT_ROLLBACK, ctx, 0, 0, NULL, 0,
						&rep);
		}
		if (st && !reset_status(st) && !lock_status(st))
			bad("locker", st);
		/* Never committed: the table's rows stay the writers'. */
		st = mxh_simple(vm, VAMOS_MYSQL_ROLLBACK, ctx, 0, 0, NULL, 0, &rep);
		if (reset_status(st))
			ctx = t = 0;
		else if (st)
			bad("locker rollback", st);
	}
	return NULL;
}

/* A CHECK's answer: 0 if it found the table sound. */
static int check_sound(struct mxh_reply *rep)
{
	struct vamos_mysql_check_report r;
	if (rep->len != sizeof r)
		return -EPROTO;
	memcpy(&r, rep->data, sizeof r);
	return r.missing || r.orphans || r.bad_rows || r.index != -1 ? -EUCLEAN : 0;
}

static void *maintainer(void *arg)
{
	(void)arg;
	static __thread struct mxh_reply rep;
	uint32_t t = 0;
	while (!atomic_load(&stop)) {
		if (!t)
			t = (uint32_t)mxh_open(vm, "t");
		int st = mxh_simple(vm, VAMOS_MYSQL_ANALYZE, 0, t, 0, NULL, 0, &rep);
		if (st == 0)
			st = mxh_simple(vm, VAMOS_MYSQL_CHECK, 0, t, 0, NULL, 0, &rep);
		if (st == 0)
			st = check_sound(&rep);
		if (reset_status(st))
			t = 0;
		else if (st)
			bad("analyze/check", st);
	}
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/vamos-mxt-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	const char *why = NULL;
	struct mx_options o = { .lock_wait_ms = 20000 };
	if (mx_vm_open(dir, "vm", &o, mxh_done, &vm, &why)) {
		fprintf(stderr, "open: %s\n", why);
		return 1;
	}
	uint8_t unique = 0;
	if (mxh_create(vm, "t", false, 1, &unique, 0))
		return 1;
	pthread_t w[WRITERS], r[2], m, l;
	for (long i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i], NULL, reader, NULL);
	pthread_create(&m, NULL, maintainer, NULL);
	pthread_create(&l, NULL, locker, NULL);
	for (int i = 0; i < 3; i++) {
		usleep(100000);
		mx_vm_reset(vm);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	pthread_join(m, NULL);
	pthread_join(l, NULL);

	/* Every row whose commit was answered 0 is there. */
	static struct mxh_reply rep;
	uint64_t ctx = mxh_ctx_open(vm);
	uint32_t t = (uint32_t)mxh_open(vm, "t");
	mxh_simple(vm, VAMOS_MYSQL_INFO, ctx, t, 0, NULL, 0, &rep);
	struct vamos_mysql_info info;
	memcpy(&info, rep.data, sizeof info);
	printf("threaded-executor: %d commits answered, %llu rows, %d failures\n",
	       atomic_load(&committed), (unsigned long long)info.rows, atomic_load(&failures));
	if (info.rows != (uint64_t)atomic_load(&committed))
		atomic_fetch_add(&failures, 1);
	/* The counters a recount under commits left are the rows there are. */
	if (mxh_simple(vm, VAMOS_MYSQL_ANALYZE, 0, t, 0, NULL, 0, &rep) ||
	    mxh_simple(vm, VAMOS_MYSQL_INFO, ctx, t, 0, NULL, 0, &rep))
		atomic_fetch_add(&failures, 1);
	memcpy(&info, rep.data, sizeof info);
	if (info.rows != (uint64_t)atomic_load(&committed))
		atomic_fetch_add(&failures, 1);
	if (mxh_simple(vm, VAMOS_MYSQL_CHECK, 0, t, 0, NULL, 0, &rep) || check_sound(&rep))
		atomic_fetch_add(&failures, 1);
	/* Commits made at once were answered by WAL syncs, each for one
	 * commit or more. */
	struct mx_stats st = mx_vm_stats(vm);
	printf("threaded-executor: %llu commits answered after %llu WAL syncs\n",
	       (unsigned long long)st.synced_commits, (unsigned long long)st.wal_syncs);
	if (!st.wal_syncs || st.wal_syncs > st.synced_commits || st.synced_commits > st.commits)
		atomic_fetch_add(&failures, 1);
	mx_vm_close(vm);
	rmtree(dir);
	return atomic_load(&failures) ? 1 : 0;
}
