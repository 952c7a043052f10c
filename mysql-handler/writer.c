/* SPDX-License-Identifier: MIT */
/*
 * The VM's writer thread: it begins, uses and ends every write transaction
 * of the VM, one context's at a time. It serves the context that holds the
 * writer, and
 * grants the writer to the next waiting request when that context commits
 * or rolls back. Waiting requests are queued data, not blocked threads, so
 * no thread of vamosd ever waits on a guest; they time out with
 * -ETIMEDOUT (MySQL's lock wait timeout).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "executor_state.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void push(struct mx_job ***tail, struct mx_job *j)
{
	j->next = NULL;
	**tail = j;
	*tail = &j->next;
}

static struct mx_job *pop(struct mx_job **head, struct mx_job ***tail)
{
	struct mx_job *j = *head;
	if (j && !(*head = j->next))
		*tail = head;
	return j;
}

int mx_writer_submit(struct mx_vm *vm, const struct mx_call *call,
		     const struct vamos_mysql_req *h, enum mx_job_kind kind, struct mx_ctx *c,
		     const struct mx_table_ref *ref, const struct mx_in *body, void *token,
		     uint64_t now)
{
	struct mx_job *j = malloc(sizeof *j + body->left);
	if (!j) {
		if (c)
			c->busy = false;
		vm->done(token, -ENOMEM, NULL, 0);
		return 0;
	}
	j->kind = kind;
	j->op = call->op;
	j->h = *h;
	j->ctx = c;
	j->ref = *ref;
	j->token = token;
	j->max_reply = call->max_reply;
	j->deadline_ns = now + (uint64_t)vm->opt.lock_wait_ms * 1000000u;
	j->len = body->left;
	/* The body leaves guest memory here: the job reads only its copy. */
	memcpy(j->body, body->p, body->left);
	if (kind == MX_JOB_CTX && vm->owner == c)
		push(&vm->ready_tail, j);
	else
		push(&vm->waiting_tail, j);
	vm->stats.writer_requests++;
	pthread_cond_signal(&vm->wake);
	return 0;
}

void mx_writer_reset_locked(struct mx_vm *vm)
{
	vm->reset_pending = true;
	pthread_cond_signal(&vm->wake);
}

/* ---- running jobs (lock not held) ---- */

/* End the context's transaction (commit or not) and give up the writer. */
static int end_txn(struct mx_vm *vm, struct mx_ctx *c, bool commit)
{
	int rc = 0;
	if (c->stmt) {
		if (commit)
			rc = mh_txn_commit(c->stmt);
		else
			mh_txn_abort(c->stmt);
		c->stmt = NULL;
	}
	if (c->txn) {
		if (commit && rc == 0) {
			rc = mh_txn_commit(c->txn); /* durable on return */
		} else {
			mh_txn_abort(c->txn);
		}
		c->txn = NULL;
	}
	pthread_mutex_lock(&vm->lock);
	if (vm->owner == c)
		vm->owner = NULL;
	if (commit && rc == 0)
		vm->stats.commits++;
	else
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

static int run_write(struct mx_ctx *c, struct mx_job *j, struct mx_in *in, struct mx_out *out)
{
	switch (j->op) {
	case VAMOS_MYSQL_TRUNCATE:
		return in->left ? mx_fail(out, -EINVAL, "TRUNCATE: malformed request")
				: mx_op_truncate(c->stmt, &j->ref, out);
	case VAMOS_MYSQL_WRITE: return mx_op_write(c->stmt, &j->ref, in, out);
	case VAMOS_MYSQL_UPDATE: return mx_op_update(c->stmt, &j->ref, in, out);
	case VAMOS_MYSQL_DELETE: return mx_op_delete(c->stmt, &j->ref, in, out);
	case VAMOS_MYSQL_AUTOINC: return mx_op_autoinc(c->stmt, &j->ref, in, out);
	}
	return -ENOSYS;
}

static int run_ctx(struct mx_vm *vm, struct mx_job *j, struct mx_out *out)
{
	struct mx_ctx *c = j->ctx;
	struct mx_in in = { j->body, j->len };
	pthread_mutex_lock(&vm->lock);
	bool dead = c->dead;
	pthread_mutex_unlock(&vm->lock);
	if (dead) {
		end_txn(vm, c, false);
		return -ECONNRESET;
	}
	int rc;
	switch (j->op) {
	case VAMOS_MYSQL_STMT_COMMIT:
	case VAMOS_MYSQL_STMT_ROLLBACK:
		if (in.left)
			return mx_fail(out, -EINVAL, "malformed request");
		rc = 0;
		if (c->stmt && j->op == VAMOS_MYSQL_STMT_COMMIT)
			rc = mh_txn_commit(c->stmt);
		else if (c->stmt)
			mh_txn_abort(c->stmt);
		c->stmt = NULL;
		if (rc) /* the statement could not be kept: the transaction cannot go on */
			end_txn(vm, c, false);
		return rc ? mx_store_fail(vm->store, out, rc) : 0;
	case VAMOS_MYSQL_COMMIT:
	case VAMOS_MYSQL_ROLLBACK:
	case VAMOS_MYSQL_CTX_CLOSE:
		if (in.left)
			return mx_fail(out, -EINVAL, "malformed request");
		rc = end_txn(vm, c, j->op == VAMOS_MYSQL_COMMIT);
		if (j->op == VAMOS_MYSQL_CTX_CLOSE) {
			pthread_mutex_lock(&vm->lock);
			mx_ctx_unlink(vm, c);
			pthread_mutex_unlock(&vm->lock);
		}
		return rc ? mx_store_fail(vm->store, out, rc) : 0;
	}
	/* A write, or a read for one: the writer's transaction (begun on the
	 * first), then a statement inside it for writes. */
	bool read = j->op == VAMOS_MYSQL_INFO || j->op == VAMOS_MYSQL_RECORDS_IN_RANGE ||
		    j->op == VAMOS_MYSQL_GET || j->op == VAMOS_MYSQL_READ;
	if (!c->txn) {
		if (c->snap) {
			mh_txn_abort(c->snap);
			c->snap = NULL;
			c->snap_live = false;
		}
		if ((rc = mh_txn_begin(vm->store, true, &c->txn))) {
			c->txn = NULL;
			end_txn(vm, c, false);
			return mx_store_fail(vm->store, out, rc);
		}
	}
	if (read) /* the writer reads the latest rows and its own writes */
		return mx_run_read(c->stmt ? c->stmt : c->txn, j->op, &j->ref, &in, out);
	if (!c->stmt && (rc = mh_txn_begin_nested(c->txn, &c->stmt))) {
		c->stmt = NULL;
		return mx_store_fail(vm->store, out, rc);
	}
	return run_write(c, j, &in, out);
}

static void run(struct mx_vm *vm, struct mx_job *j)
{
	if (vm->scratch_cap < j->max_reply) {
		unsigned char *b = realloc(vm->scratch, j->max_reply);
		if (b) {
			vm->scratch = b;
			vm->scratch_cap = j->max_reply;
		}
	}
	struct mx_out out = { vm->scratch, vm->scratch_cap < j->max_reply ? vm->scratch_cap
									  : j->max_reply, 0 };
	int rc;
	if (!out.buf || out.cap < 1024) {
		rc = -ENOMEM;
	} else if (j->kind == MX_JOB_DDL) {
		rc = run_ddl(vm, j, &out);
		pthread_mutex_lock(&vm->lock);
		vm->ddl_running = false;
		pthread_mutex_unlock(&vm->lock);
	} else {
		rc = run_ctx(vm, j, &out);
	}
	/* Released before answering: the guest may send its next request as
	 * soon as it has this answer. */
	if (j->ctx)
		mx_ctx_release(vm, j->ctx);
	vm->done(j->token, rc, out.buf, out.len);
	free(j);
}

/* Answer a job that never ran. */
static void refuse(struct mx_vm *vm, struct mx_job *j, int status)
{
	if (j->ctx)
		mx_ctx_release(vm, j->ctx);
	vm->done(j->token, status, NULL, 0);
	free(j);
}

/* ---- the loop ---- */

/* Take jobs off the waiting list that cannot wait any longer (dead
 * contexts, deadlines passed, shutdown) into @out with their status. */
static void sweep(struct mx_vm *vm, uint64_t now, struct mx_job **out, uint64_t *next_deadline)
{
	struct mx_job **pp = &vm->waiting, *j;
	*next_deadline = UINT64_MAX;
	vm->waiting_tail = &vm->waiting;
	while ((j = *pp)) {
		bool dead = j->kind == MX_JOB_CTX && j->ctx->dead;
		if (dead || vm->stopping || j->deadline_ns <= now) {
			*pp = j->next;
			j->status = dead ? -ECONNRESET : vm->stopping ? -ESHUTDOWN : -ETIMEDOUT;
			if (j->status == -ETIMEDOUT)
				vm->stats.lock_timeouts++;
			j->next = *out;
			*out = j;
			continue;
		}
		if (j->deadline_ns < *next_deadline)
			*next_deadline = j->deadline_ns;
		vm->waiting_tail = &j->next;
		pp = &j->next;
	}
}

static void *writer_main(void *arg)
{
	struct mx_vm *vm = arg;
	pthread_mutex_lock(&vm->lock);
	for (;;) {
		if (vm->reset_pending) {
			vm->reset_pending = false;
			struct mx_ctx *o = vm->owner;
			if (o && o->dead && !o->busy) {
				/* Its client is gone: roll back, on this thread. */
				pthread_mutex_unlock(&vm->lock);
				end_txn(vm, o, false);
				mx_ctx_free(o);
				pthread_mutex_lock(&vm->lock);
			}
		}
		struct mx_job *j = pop(&vm->ready, &vm->ready_tail);
		if (j) {
			pthread_mutex_unlock(&vm->lock);
			run(vm, j);
			pthread_mutex_lock(&vm->lock);
			continue;
		}
		uint64_t next_deadline;
		struct mx_job *expired = NULL;
		sweep(vm, now_ns(), &expired, &next_deadline);
		if (expired) {
			pthread_mutex_unlock(&vm->lock);
			while ((j = expired)) {
				expired = j->next;
				refuse(vm, j, j->status);
			}
			pthread_mutex_lock(&vm->lock);
			continue;
		}
		/* Grant the writer to the first waiting request. */
		if (!vm->owner && !vm->ddl_running && vm->waiting) {
			j = pop(&vm->waiting, &vm->waiting_tail);
			if (j->kind == MX_JOB_DDL)
				vm->ddl_running = true;
			else
				vm->owner = j->ctx;
			push(&vm->ready_tail, j);
			continue;
		}
		if (vm->stopping)
			break;
		if (next_deadline == UINT64_MAX) {
			pthread_cond_wait(&vm->wake, &vm->lock);
		} else {
			struct timespec ts = { (time_t)(next_deadline / 1000000000u),
					       (long)(next_deadline % 1000000000u) };
			pthread_cond_timedwait(&vm->wake, &vm->lock, &ts);
		}
	}
	/* Stopping: the writer's open transaction rolls back here, on the
	 * thread that began it. */
	struct mx_ctx *o = vm->owner;
	pthread_mutex_unlock(&vm->lock);
	if (o)
		end_txn(vm, o, false);
	return NULL;
}

int mx_writer_start(struct mx_vm *vm)
{
	vm->ready_tail = &vm->ready;
	vm->waiting_tail = &vm->waiting;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&vm->thread, NULL, writer_main, vm)) {
		pthread_cond_destroy(&vm->wake);
		return -EAGAIN;
	}
	return 0;
}

void mx_writer_stop(struct mx_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->stopping = true;
	pthread_cond_signal(&vm->wake);
	pthread_mutex_unlock(&vm->lock);
	pthread_join(vm->thread, NULL);
	pthread_cond_destroy(&vm->wake);
	free(vm->scratch);
}
