/* SPDX-License-Identifier: MIT */
/*
 * Running a deferred request on a pool thread (exec_pool.c): a context's
 * write transaction, begun by its first write (or locking read) and kept
 * until COMMIT/ROLLBACK, each statement a savepoint inside it; DDL in a
 * transaction of its own, ANALYZE and CHECK in a read transaction of their
 * own. A row lock held by another transaction is waited
 * for here, on this job's own thread, until the store's lock wait timeout
 * (-ETIMEDOUT) or a deadlock (-EDEADLK).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "executor_state.h"

/* End the context's transaction (commit or not); a commit that may not
 * @wait is made without its fsync (mh_txn_commit_unsynced), or not at
 * all (MX_WOULD_WAIT, the transaction kept). */
static int end_txn(struct mx_vm *vm, struct mx_ctx *c, bool commit, bool wait)
{
	int rc = 0;
	if (c->stmt) {
		if (commit)
			rc = mh_txn_commit(c->stmt);
		else
			mh_txn_abort(c->stmt);
		c->stmt = NULL;
	}
	bool had = c->txn != NULL;
	if (c->txn && !wait && commit && rc == 0) {
		/* A prepared one's commit is the pool's (its own sync). */
		if (c->prepared || (rc = mh_txn_commit_unsynced(c->txn)) == -EWOULDBLOCK)
			return MX_WOULD_WAIT;
		c->txn = NULL;
	}
	if (c->txn && c->prepared)
		mx_prepared_ended(vm); /* committed or rolled back below */
	if (c->txn) {
		if (commit && rc == 0)
			rc = mh_txn_commit(c->txn); /* durable on return */
		else
			mh_txn_abort(c->txn);
		c->txn = NULL;
	}
	c->nsp = 0; /* its savepoints went with it */
	pthread_mutex_lock(&vm->lock);
	c->writing = false;
	c->prepared = false;
	if (had && commit && rc == 0)
		vm->stats.commits++;
	else if (had)
		vm->stats.rollbacks++;
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

static int run_ddl(struct mx_vm *vm, struct mx_job *j, struct mx_out *out)
{
	struct mh_txn *t;
	struct mx_in in = { j->body, j->len };
	uint32_t id = 0;
	int rc = mh_txn_begin(vm->store, true, &t);
	if (rc)
		return mx_store_fail(vm->store, out, rc);
	switch (j->op) {
	case VAMOS_MYSQL_CREATE: rc = mx_op_create(t, &in, out); break;
	case VAMOS_MYSQL_DROP: rc = mx_op_drop(t, &in, out, &id); break;
	case VAMOS_MYSQL_RENAME: rc = mx_op_rename(t, &in, out, &id); break;
	default: rc = -ENOSYS;
	}
	if (rc == 0 && (rc = mh_txn_commit(t)))
		rc = mx_store_fail(vm->store, out, rc);
	else if (rc)
		mh_txn_abort(t);
	return rc;
}

/* ANALYZE and CHECK: a read transaction of their own, from now. */
static int run_maint(struct mx_vm *vm, struct mx_job *j, struct mx_out *out)
{
	if (j->len)
		return mx_fail(out, -EINVAL, "%s: malformed request",
			       j->op == VAMOS_MYSQL_CHECK ? "CHECK" : "ANALYZE");
	struct mh_txn *t;
	int rc = mh_txn_begin(vm->store, false, &t);
	if (rc)
		return mx_store_fail(vm->store, out, rc);
	rc = j->op == VAMOS_MYSQL_CHECK ? mx_op_check(t, &j->ref, out)
					: mx_op_analyze(t, &j->ref, out);
	mh_txn_abort(t); /* it wrote nothing */
	return rc;
}

/* A write op of @j in @t (the context's statement, or an attempt in it). */
static int run_write(struct mh_txn *t, struct mx_job *j, struct mx_in *in, struct mx_out *out)
{
	switch (j->op) {
	case VAMOS_MYSQL_TRUNCATE:
		return in->left ? mx_fail(out, -EINVAL, "TRUNCATE: malformed request")
				: mx_op_truncate(t, &j->ref, out);
	case VAMOS_MYSQL_WRITE: return mx_op_write(t, &j->ref, in, out);
	case VAMOS_MYSQL_UPDATE: return mx_op_update(t, &j->ref, in, out);
	case VAMOS_MYSQL_DELETE: return mx_op_delete(t, &j->ref, in, out);
	case VAMOS_MYSQL_AUTOINC: return mx_op_autoinc(t, &j->ref, in, out);
	}
	return -ENOSYS;
}

/* The context's write transaction, begun now if it has none: from its
 * read snapshot when it holds one (REPEATABLE READ from the first read). */
static int begin_txn(struct mx_vm *vm, struct mx_ctx *c, bool fresh)
{
	int rc;
	if (c->txn)
		return 0;
	if (c->snap)
		mh_txn_set_lock_wait(c->snap, c->lock_wait_ms);
	if (c->snap && c->snap_live && !fresh && (rc = mh_txn_write(c->snap)) == 0) {
		c->txn = c->snap;
		c->snap = NULL;
		c->snap_live = false;
	} else {
		if (c->snap) {
			mh_txn_abort(c->snap);
			c->snap = NULL;
			c->snap_live = false;
		}
		if ((rc = mh_txn_begin_write(vm->store, c->lock_wait_ms, &c->txn))) {
			c->txn = NULL;
			return rc;
		}
	}
	pthread_mutex_lock(&vm->lock);
	c->writing = true; /* its reads now run here, in c->txn */
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int find_savepoint(const struct mx_ctx *c, uint64_t id)
{
	for (unsigned i = 0; i < c->nsp; i++)
		if (c->sp[i].id == id)
			return (int)i;
	return -1;
}

/* SAVEPOINT, ROLLBACK_TO_SAVEPOINT, RELEASE_SAVEPOINT on the context's
 * transaction (begun by a SAVEPOINT if it has none). */
static int run_savepoint(struct mx_vm *vm, struct mx_ctx *c, struct mx_job *j, struct mx_in *in,
			 struct mx_out *out)
{
	struct vamos_mysql_savepoint sv;
	if (mx_take(in, &sv, sizeof sv) || in->left || sv.id == 0)
		return mx_fail(out, -EINVAL, "savepoint: malformed request");
	int rc, i = find_savepoint(c, sv.id);
	if (j->op != VAMOS_MYSQL_SAVEPOINT && (i < 0 || !c->txn))
		return mx_fail(out, -ENOENT, "no such savepoint");
	if (j->op == VAMOS_MYSQL_SAVEPOINT && i >= 0)
		return mx_fail(out, -EINVAL, "savepoint id already set");
	if ((rc = begin_txn(vm, c, false)))
		return mx_store_fail(vm->store, out, rc);
	/* A statement still open folds into the transaction first. */
	if (c->stmt) {
		rc = mh_txn_commit(c->stmt);
		c->stmt = NULL;
		if (rc) {
			end_txn(vm, c, false, true);
			return mx_store_fail(vm->store, out, rc);
		}
	}
	switch (j->op) {
	case VAMOS_MYSQL_SAVEPOINT: {
		if (c->nsp == c->cap_sp) {
			unsigned cap = c->cap_sp ? 2 * c->cap_sp : 4;
			struct mx_savepoint *s = realloc(c->sp, cap * sizeof *s);
			if (!s)
				return -ENOMEM;
			c->sp = s;
			c->cap_sp = cap;
		}
		unsigned depth;
		if ((rc = mh_txn_savepoint(c->txn, &depth)))
			return mx_store_fail(vm->store, out, rc);
		c->sp[c->nsp++] = (struct mx_savepoint){ sv.id, depth };
		return 0;
	}
	case VAMOS_MYSQL_ROLLBACK_TO_SAVEPOINT:
		if ((rc = mh_txn_rollback_to(c->txn, c->sp[i].depth)))
			return mx_store_fail(vm->store, out, rc);
		c->nsp = (unsigned)i + 1; /* later ones are gone */
		return 0;
	default:
		if ((rc = mh_txn_release(c->txn, c->sp[i].depth)))
			return mx_store_fail(vm->store, out, rc);
		c->nsp = (unsigned)i;
		return 0;
	}
}

static bool is_read(uint16_t op)
{
	return op == VAMOS_MYSQL_INFO || op == VAMOS_MYSQL_RECORDS_IN_RANGE ||
	       op == VAMOS_MYSQL_GET || op == VAMOS_MYSQL_READ;
}

/* A statement kept (STMT_COMMIT, or VAMOS_MYSQL_STMT_ENDED before a
 * request): its writes join the transaction. 0, or the store's error
 * (then the transaction cannot go on and is rolled back). */
static int keep_stmt(struct mx_vm *vm, struct mx_ctx *c, struct mx_out *out)
{
	int rc = c->stmt ? mh_txn_commit(c->stmt) : 0;
	c->stmt = NULL;
	if (rc) {
		end_txn(vm, c, false, true);
		return mx_store_fail(vm->store, out, rc);
	}
	return 0;
}

/* Before any request of a context runs: -ECONNRESET if it ended; the
 * previous statement kept if the request says it ended. */
static int ctx_enter(struct mx_vm *vm, struct mx_job *j, struct mx_out *out)
{
	struct mx_ctx *c = j->ctx;
	pthread_mutex_lock(&vm->lock);
	bool dead = c->dead;
	pthread_mutex_unlock(&vm->lock);
	if (dead)
		return -ECONNRESET; /* its transaction rolls back as it is freed */
	/* A prepared transaction takes nothing but its end. */
	if (c->prepared && j->op != VAMOS_MYSQL_COMMIT && j->op != VAMOS_MYSQL_ROLLBACK &&
	    j->op != VAMOS_MYSQL_CTX_CLOSE && j->op != VAMOS_MYSQL_STMT_COMMIT &&
	    j->op != VAMOS_MYSQL_STMT_ROLLBACK)
		return -EINVAL;
	/* The guest's lock wait (its session's), for the transaction this
	 * request may begin; only whoever runs the context's request reads it. */
	if (j->lock_wait_ms)
		c->lock_wait_ms = j->lock_wait_ms;
	if (j->h.flags & VAMOS_MYSQL_STMT_ENDED) {
		/* Once: a request tried at once that goes on to the pool
		 * must not end the statement it began meanwhile. */
		j->h.flags &= (uint16_t)~VAMOS_MYSQL_STMT_ENDED;
		return keep_stmt(vm, c, out);
	}
	return 0;
}

/* The context's transaction and a statement in it, for a write (neither
 * waits for a lock). */
static int open_stmt(struct mx_vm *vm, struct mx_ctx *c, struct mx_job *j, struct mx_out *out)
{
	int rc;
	bool fresh = j->h.flags & VAMOS_MYSQL_FRESH_SNAPSHOT;
	if ((rc = begin_txn(vm, c, fresh)))
		return mx_store_fail(vm->store, out, rc);
	/* READ COMMITTED: the statement's first request renews the snapshot
	 * (as in run_ctx), a write tried at once included. */
	if (fresh && !c->stmt && (rc = mh_txn_renew(c->txn)))
		return mx_store_fail(vm->store, out, rc);
	if (!c->stmt && (rc = mh_txn_begin_nested(c->txn, &c->stmt))) {
		c->stmt = NULL;
		return mx_store_fail(vm->store, out, rc);
	}
	return 0;
}

static bool is_table_write(uint16_t op)
{
	return op == VAMOS_MYSQL_WRITE || op == VAMOS_MYSQL_UPDATE || op == VAMOS_MYSQL_DELETE ||
	       op == VAMOS_MYSQL_AUTOINC || op == VAMOS_MYSQL_TRUNCATE;
}

/* Run context job @j; @at_once: on the caller's thread (mx_job_try),
 * where a COMMIT is made without its fsync, or not at all. */
static int run_ctx(struct mx_vm *vm, struct mx_job *j, struct mx_out *out, bool at_once)
{
	struct mx_ctx *c = j->ctx;
	struct mx_in in = { j->body, j->len };
	int rc = ctx_enter(vm, j, out);
	if (rc)
		return rc;
	switch (j->op) {
	case VAMOS_MYSQL_STMT_COMMIT:
	case VAMOS_MYSQL_STMT_ROLLBACK:
		if (in.left)
			return mx_fail(out, -EINVAL, "malformed request");
		if (j->op == VAMOS_MYSQL_STMT_COMMIT)
			return keep_stmt(vm, c, out);
		mh_txn_abort(c->stmt); /* none open: nothing */
		c->stmt = NULL;
		return 0;
	case VAMOS_MYSQL_PREPARE:
		return mx_ctx_prepare(vm, c, &in, out);
	case VAMOS_MYSQL_COMMIT:
	case VAMOS_MYSQL_ROLLBACK:
	case VAMOS_MYSQL_CTX_CLOSE:
		if (in.left)
			return mx_fail(out, -EINVAL, "malformed request");
		if (j->op == VAMOS_MYSQL_CTX_CLOSE && c->prepared) {
			/* Not rolled back: it waits, no longer this
			 * context's, for COMMIT_BY_XID or ROLLBACK_BY_XID. */
			mx_prepared_keep(vm, c->txn);
			c->txn = NULL;
		}
		rc = end_txn(vm, c, j->op == VAMOS_MYSQL_COMMIT, !at_once);
		if (rc == MX_WOULD_WAIT)
			return rc;
		if (c->snap && c->snap_live) {
			mh_txn_reset(c->snap);
			c->snap_live = false;
		}
		if (j->op == VAMOS_MYSQL_CTX_CLOSE) {
			pthread_mutex_lock(&vm->lock);
			mx_ctx_unlink(vm, c);
			pthread_mutex_unlock(&vm->lock);
		}
		return rc ? mx_store_fail(vm->store, out, rc) : 0;
	}
	if (j->op == VAMOS_MYSQL_SNAPSHOT) {
		/* A write transaction's snapshot, renewed between statements. */
		if (!c->txn)
			return -EPROTO; /* routed here only with a transaction */
		if (in.left || c->stmt)
			return mx_fail(out, -EINVAL, "SNAPSHOT: malformed request or statement open");
		rc = mh_txn_renew(c->txn);
		return rc ? mx_store_fail(vm->store, out, rc) : 0;
	}
	if (j->op == VAMOS_MYSQL_SAVEPOINT || j->op == VAMOS_MYSQL_ROLLBACK_TO_SAVEPOINT ||
	    j->op == VAMOS_MYSQL_RELEASE_SAVEPOINT)
		return run_savepoint(vm, c, j, &in, out);
	/* A write, or a read of a context that writes or reads for a write:
	 * the context's transaction (begun on the first), then a statement
	 * inside it for writes. */
	bool for_update = j->h.flags & VAMOS_MYSQL_FOR_UPDATE;
	if (is_read(j->op) && !c->txn && !for_update)
		return -EPROTO; /* routed here only with a transaction */
	bool fresh = j->h.flags & VAMOS_MYSQL_FRESH_SNAPSHOT;
	if ((rc = begin_txn(vm, c, fresh)))
		return mx_store_fail(vm->store, out, rc);
	/* READ COMMITTED: a statement's first request (a read or a write)
	 * renews the transaction's snapshot, so its plain reads see what is
	 * committed now. */
	if (fresh && !c->stmt && (rc = mh_txn_renew(c->txn)))
		return mx_store_fail(vm->store, out, rc);
	if (is_read(j->op)) {
		struct mh_txn *t = c->stmt ? c->stmt : c->txn;
		mh_txn_lock_reads(t, for_update);
		rc = mx_run_read(t, j->op, &j->ref, &in, out);
		mh_txn_lock_reads(t, false);
		return rc;
	}
	if (!c->stmt && (rc = mh_txn_begin_nested(c->txn, &c->stmt))) {
		c->stmt = NULL;
		return mx_store_fail(vm->store, out, rc);
	}
	return run_write(c->stmt, j, &in, out);
}

/* End an attempt made at once with result @rc. A lock held by another
 * transaction (-ETIMEDOUT at once) undoes the attempt whole (also rows of
 * a batch written before it): MX_WOULD_WAIT, and the pool runs the request
 * again from the state it found. */
static int end_attempt(struct mx_vm *vm, struct mh_txn *a, int rc, struct mx_out *out)
{
	int end = mh_txn_try_end(a, rc != -ETIMEDOUT);
	if (rc == -ETIMEDOUT && !end) {
		out->len = 0;
		return MX_WOULD_WAIT;
	}
	if (end) {
		out->len = 0;
		return mx_store_fail(vm->store, out, end);
	}
	return rc;
}

/* A read of a context with a write transaction, or a locking read, with
 * lock waits of 0: a plain read never waits (it reads its snapshot or the
 * latest rows without locks); a locking read that meets a lock held by
 * another transaction is undone (the locks it took go too) and waits on
 * the pool instead. */
static int try_read(struct mx_vm *vm, struct mx_job *j, struct mx_out *out)
{
	bool for_update = j->h.flags & VAMOS_MYSQL_FOR_UPDATE;
	if (!for_update)
		return run_ctx(vm, j, out, true);
	struct mx_ctx *c = j->ctx;
	struct mx_in in = { j->body, j->len };
	bool fresh = j->h.flags & VAMOS_MYSQL_FRESH_SNAPSHOT;
	struct mh_txn *a;
	int rc = ctx_enter(vm, j, out);
	if (rc)
		return rc;
	/* As run_ctx: the transaction (begun now if none), its snapshot
	 * renewed by a READ COMMITTED statement's first request. */
	if ((rc = begin_txn(vm, c, fresh)))
		return mx_store_fail(vm->store, out, rc);
	if (fresh && !c->stmt && (rc = mh_txn_renew(c->txn)))
		return mx_store_fail(vm->store, out, rc);
	if ((rc = mh_txn_try_begin(c->stmt ? c->stmt : c->txn, &a)))
		return mx_store_fail(vm->store, out, rc);
	mh_txn_lock_reads(a, true);
	rc = mx_run_read(a, j->op, &j->ref, &in, out);
	mh_txn_lock_reads(a, false);
	return end_attempt(vm, a, rc, out);
}

int mx_job_try(struct mx_vm *vm, struct mx_job *j, struct mx_out *out)
{
	if (is_read(j->op))
		return try_read(vm, j, out);
	/* Statement ends and rollbacks never wait for a lock. */
	if (!is_table_write(j->op))
		return run_ctx(vm, j, out, true);
	struct mx_ctx *c = j->ctx;
	struct mx_in in = { j->body, j->len };
	struct mh_txn *a;
	int rc = ctx_enter(vm, j, out);
	if (rc || (rc = open_stmt(vm, c, j, out)))
		return rc;
	if ((rc = mh_txn_try_begin(c->stmt, &a)))
		return mx_store_fail(vm->store, out, rc);
	rc = run_write(a, j, &in, out);
	return end_attempt(vm, a, rc, out);
}

void mx_job_run(struct mx_vm *vm, struct mx_job *j, unsigned char **scratch, uint32_t *cap)
{
	if (*cap < j->max_reply) {
		unsigned char *b = realloc(*scratch, j->max_reply);
		if (b) {
			*scratch = b;
			*cap = j->max_reply;
		}
	}
	struct mx_out out = { *scratch, *cap < j->max_reply ? *cap : j->max_reply, 0 };
	int rc;
	if (!out.buf || out.cap < 1024)
		rc = -ENOMEM;
	else if (j->kind == MX_JOB_DDL &&
		 (j->op == VAMOS_MYSQL_COMMIT_BY_XID || j->op == VAMOS_MYSQL_ROLLBACK_BY_XID ||
		  j->op == VAMOS_MYSQL_RECOVER))
		rc = mx_run_xa(vm, j, &out);
	else if (j->kind == MX_JOB_DDL &&
		 (j->op == VAMOS_MYSQL_CHECK || j->op == VAMOS_MYSQL_ANALYZE))
		rc = run_maint(vm, j, &out);
	else if (j->kind == MX_JOB_DDL)
		rc = run_ddl(vm, j, &out);
	else
		rc = run_ctx(vm, j, &out, false);
	if (rc == -ETIMEDOUT || rc == -EDEADLK) {
		pthread_mutex_lock(&vm->lock);
		if (rc == -ETIMEDOUT)
			vm->stats.lock_timeouts++;
		else
			vm->stats.deadlocks++;
		pthread_mutex_unlock(&vm->lock);
	}
	/* Released before answering: the guest may send its next request as
	 * soon as it has this answer. */
	if (j->ctx)
		mx_ctx_release(vm, j->ctx);
	vm->done(j->token, rc, out.buf, out.len);
	free(j);
}

void mx_job_refuse(struct mx_vm *vm, struct mx_job *j, int status)
{
	if (j->ctx)
		mx_ctx_release(vm, j->ctx);
	vm->done(j->token, status, NULL, 0);
	free(j);
}
