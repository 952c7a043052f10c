/* SPDX-License-Identifier: MIT */
/*
 * The VM's worker pool: requests that may block (writes that met a row
 * lock held by another transaction, commits, locking reads, the reads of a
 * context with a write transaction, DDL) run here, each context's one
 * at a time (a context takes one request at a time). A job blocked on a row
 * lock holds only its own thread: the pool grows while jobs wait for a
 * thread, up to max_workers, and a thread idle for opt.worker_idle_ms
 * exits, the last one too: an idle VM holds no thread, and its next request
 * that needs the pool starts one (microseconds, once per idle period).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "executor_state.h"
#include "vamos_clock.h"

static struct mx_job *pop(struct mx_vm *vm)
{
	struct mx_job *j = vm->queue;
	if (j) {
		if (!(vm->queue = j->next))
			vm->queue_tail = &vm->queue;
		vm->queued--;
	}
	return j;
}

static void *worker_main(void *arg)
{
	struct mx_worker *w = arg;
	struct mx_vm *vm = w->vm;
	unsigned char *scratch = NULL;
	uint32_t cap = 0;
	pthread_mutex_lock(&vm->lock);
	for (;;) {
		struct mx_job *j = pop(vm);
		if (j && j->task) {
			pthread_mutex_unlock(&vm->lock);
			j->task(vm); /* the VM's own job: neither answered nor freed */
			pthread_mutex_lock(&vm->lock);
			continue;
		}
		if (j && vm->stopping) {
			pthread_mutex_unlock(&vm->lock);
			mx_job_refuse(vm, j, -ESHUTDOWN);
			pthread_mutex_lock(&vm->lock);
			continue;
		}
		if (j) {
			pthread_mutex_unlock(&vm->lock);
			mx_job_run(vm, j, &scratch, &cap);
			pthread_mutex_lock(&vm->lock);
			continue;
		}
		if (vm->stopping)
			break;
		struct timespec ts = vamos_monotonic_in(vm->opt.worker_idle_ms);
		vm->idle++;
		int rc = pthread_cond_timedwait(&vm->wake, &vm->lock, &ts);
		vm->idle--;
		if (rc == ETIMEDOUT && !vm->queue)
			break; /* idle: mx_pool_queue starts a thread when needed */
	}
	vm->alive--;
	w->exited = true; /* joined by the next spawn or by mx_pool_stop */
	pthread_mutex_unlock(&vm->lock);
	free(scratch);
	return NULL;
}

/* Join the threads that exited (lock held; they no longer take it). */
static void reap(struct mx_vm *vm)
{
	for (unsigned i = 0; i < vm->opt.max_workers; i++) {
		struct mx_worker *w = &vm->workers[i];
		if (w->used && w->exited) {
			pthread_join(w->thread, NULL);
			w->used = false;
		}
	}
}

/* Start one more thread (lock held): 0, or -EAGAIN at the bound. */
static int spawn(struct mx_vm *vm)
{
	reap(vm);
	for (unsigned i = 0; i < vm->opt.max_workers; i++) {
		struct mx_worker *w = &vm->workers[i];
		if (w->used)
			continue;
		*w = (struct mx_worker){ .vm = vm, .used = true };
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			w->used = false;
			return -EAGAIN;
		}
		vm->alive++;
		return 0;
	}
	return -EAGAIN;
}

int mx_pool_start(struct mx_vm *vm)
{
	vm->queue_tail = &vm->queue;
	vm->workers = calloc(vm->opt.max_workers, sizeof *vm->workers);
	if (!vm->workers)
		return -ENOMEM;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_lock(&vm->lock);
	int rc = spawn(vm);
	pthread_mutex_unlock(&vm->lock);
	if (rc) {
		pthread_cond_destroy(&vm->wake);
		free(vm->workers);
	}
	return rc;
}

struct mx_job *mx_job_make(const struct mx_call *call, const struct vamos_mysql_req *h,
			   enum mx_job_kind kind, struct mx_ctx *c,
			   const struct mx_table_ref *ref, const struct mx_in *body)
{
	struct mx_job *j = malloc(sizeof *j + body->left);
	if (!j)
		return NULL;
	j->task = NULL;
	j->kind = kind;
	j->op = call->op;
	j->h = *h;
	j->ctx = c;
	j->ref = *ref;
	j->token = NULL;
	j->max_reply = call->max_reply;
	j->lock_wait_ms = call->lock_wait_ms;
	j->len = body->left;
	/* The body leaves guest memory here: the job reads only its copy. */
	memcpy(j->body, body->p, body->left);
	j->next = NULL;
	return j;
}

int mx_pool_queue(struct mx_vm *vm, struct mx_job *j)
{
	/* A thread for every waiting job: an idle one, or a new one (at the
	 * bound the job waits for a thread to finish). */
	if (vm->queued + 1 > vm->idle && spawn(vm) && !vm->alive)
		return -EAGAIN; /* nobody would ever run it */
	*vm->queue_tail = j;
	vm->queue_tail = &j->next;
	vm->queued++;
	if (!j->task)
		vm->stats.writer_requests++; /* a request's, not the VM's own job */
	pthread_cond_signal(&vm->wake);
	return 0;
}

int mx_pool_submit(struct mx_vm *vm, const struct mx_call *call,
		   const struct vamos_mysql_req *h, enum mx_job_kind kind, struct mx_ctx *c,
		   const struct mx_table_ref *ref, const struct mx_in *body, void *token)
{
	struct mx_job *j = mx_job_make(call, h, kind, c, ref, body);
	if (!j) {
		if (c)
			c->busy = false;
		vm->done(token, -ENOMEM, NULL, 0);
		return 0;
	}
	j->token = token;
	int rc = mx_pool_queue(vm, j);
	if (rc) {
		/* Not queued, answered now (the context was made busy under
		 * this same lock: it cannot have died meanwhile). */
		if (c)
			c->busy = false;
		vm->done(token, rc, NULL, 0);
		free(j);
	}
	return 0;
}

void mx_pool_stop(struct mx_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->stopping = true;
	pthread_cond_broadcast(&vm->wake);
	pthread_mutex_unlock(&vm->lock);
	/* No new thread starts once stopping is seen: submit runs under the
	 * lock from callers that have stopped. */
	for (unsigned i = 0; i < vm->opt.max_workers; i++)
		if (vm->workers[i].used)
			pthread_join(vm->workers[i].thread, NULL);
	pthread_cond_destroy(&vm->wake);
	free(vm->workers);
}
