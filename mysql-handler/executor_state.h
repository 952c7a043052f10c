/* SPDX-License-Identifier: MIT */
/* The executor's VM, contexts and jobs (executor.c, exec_ctx.c,
 * exec_job.c and exec_pool.c). */
#ifndef VAMOS_MYSQL_EXECUTOR_STATE_H
#define VAMOS_MYSQL_EXECUTOR_STATE_H

#include <pthread.h>
#include <stdbool.h>

#include "exec_internal.h"

/* One guest connection. busy, dead, writing: under the VM's lock. snap,
 * txn, stmt: used only by whoever runs its current request (it is busy),
 * or by whoever frees it once it is dead and idle. */
/* A named SQL savepoint of a context: the guest's id, the store's depth. */
struct mx_savepoint {
	uint64_t id;
	unsigned depth;
};

struct mx_ctx {
	uint64_t id;
	bool busy;        /* a request of it is running or queued */
	bool dead;        /* closed or reset: freed when no longer busy */
	bool writing;     /* txn is open: its requests run on the pool */
	bool snap_live;   /* snap holds a snapshot (not reset) */
	bool prepared;    /* txn is prepared: commit, rollback or close only */
	struct mh_txn *snap;
	struct mh_txn *txn, *stmt;
	struct mx_savepoint *sp; /* of txn, oldest first */
	unsigned lock_wait_ms;   /* the guest's session value; 0: the VM's */
	unsigned nsp, cap_sp;
};

struct mx_table_slot {
	uint32_t refs, generation;
	struct mx_table_ref ref;
};

enum mx_job_kind { MX_JOB_CTX, MX_JOB_DDL };

/* A request for the worker pool, with a private copy of its body. */
struct mx_job {
	struct mx_job *next;
	/* Not a request but the VM's own work, run as it is (also while the
	 * pool stops): the WAL sync for the commits waiting for it
	 * (exec_sync.c). NULL for a request. */
	void (*task)(struct mx_vm *vm);
	enum mx_job_kind kind;
	uint16_t op;
	struct vamos_mysql_req h;
	struct mx_ctx *ctx;      /* MX_JOB_CTX (busy while queued) */
	struct mx_table_ref ref;
	void *token;
	uint32_t max_reply;
	uint32_t lock_wait_ms;   /* the guest's, for its transaction (0: none) */
	uint32_t len;
	unsigned char body[];
};

/* A pool thread's slot: joined once it has exited. */
struct mx_worker {
	struct mx_vm *vm;
	pthread_t thread;
	bool used, exited;
};

struct mx_vm {
	char name[64];
	struct mx_options opt;
	struct mh_store *store;
	mx_done_fn done;

	pthread_mutex_t lock; /* everything below */
	struct mx_ctx **ctx;  /* by slot */
	uint32_t ctx_count, ctx_next;
	uint64_t ctx_generation;
	uint32_t table_gen_base; /* added to every slot's generation */
	struct mx_table_slot *tables;
	uint32_t table_count;

	/* The worker pool: grows while jobs wait for a thread, up to
	 * opt.max_workers; a thread idle for a while exits. */
	struct mx_job *queue, **queue_tail;
	uint32_t queued;        /* jobs in the queue */
	uint32_t alive, idle;   /* pool threads, and those waiting for a job */
	struct mx_worker *workers;
	bool stopping;
	pthread_cond_t wake;

	struct mx_stats stats;

	/* Commits made at once, waiting for the WAL sync that makes them
	 * durable (exec_sync.c): their jobs, oldest first, and whether
	 * sync_job is queued or running. Its own lock, never held with
	 * vm->lock. */
	pthread_mutex_t sync_lock;
	struct mx_job *sync_waiting, **sync_tail;
	bool sync_running;
	struct mx_job *sync_job; /* made at open, reused */

	/* Prepared transactions no context holds (its context closed, the
	 * guest detached, or recovered at open), for COMMIT_BY_XID,
	 * ROLLBACK_BY_XID and RECOVER. Its own lock, taken after vm->lock
	 * when both are held. */
	pthread_mutex_t prepared_lock;
	struct mh_txn **prepared;
	size_t nprepared, cap_prepared;
	/* Every prepared transaction of the VM, a context's or kept here: at
	 * most opt.max_contexts, so a guest cannot pile them up on the host. */
	size_t prepared_total;
};

/* exec_xa.c. Keep prepared transaction @t, no longer a context's, until
 * COMMIT_BY_XID or ROLLBACK_BY_XID (takes prepared_lock). */
void mx_prepared_keep(struct mx_vm *vm, struct mh_txn *t);
/* Take the store's recovered prepared transactions (at open). */
int mx_prepared_load(struct mx_vm *vm);
/* A prepared transaction of the VM ended (committed or rolled back). */
void mx_prepared_ended(struct mx_vm *vm);
/* Let go of every kept one, leaving it prepared in the store (at close). */
void mx_prepared_forget_all(struct mx_vm *vm);
/* PREPARE of context @c (run by whoever runs its request). */
int mx_ctx_prepare(struct mx_vm *vm, struct mx_ctx *c, struct mx_in *in, struct mx_out *out);
/* COMMIT_BY_XID, ROLLBACK_BY_XID and RECOVER (no context). */
int mx_run_xa(struct mx_vm *vm, struct mx_job *j, struct mx_out *out);
/* Read and check an XID (vamos_mysql_xid + data, the rest of @in) into
 * @buf (MX_XID_MAX bytes): its length, or -EINVAL. */
#define MX_XID_MAX (sizeof(struct vamos_mysql_xid) + VAMOS_MYSQL_XID_GTRID_MAX + \
		    VAMOS_MYSQL_XID_BQUAL_MAX)
int mx_take_xid(struct mx_in *in, unsigned char *buf);

/* exec_ctx.c (lock held unless said) */
struct mx_ctx *mx_ctx_find(struct mx_vm *vm, uint64_t id);
/* A new context: 0 and its id, -EMFILE (too many) or -ENOMEM. */
int mx_ctx_new(struct mx_vm *vm, uint64_t *id);
void mx_ctx_unlink(struct mx_vm *vm, struct mx_ctx *c); /* lock held */
/* Roll back whatever @c holds and free it (nobody else uses it). */
void mx_ctx_free(struct mx_vm *vm, struct mx_ctx *c);
void mx_ctx_release(struct mx_vm *vm, struct mx_ctx *c);  /* lock not held */
void mx_tables_clear(struct mx_vm *vm);                  /* lock held */

/* Run one job on a pool thread and answer it; @scratch is the thread's
 * reply buffer (grown as needed). */
void mx_job_run(struct mx_vm *vm, struct mx_job *j, unsigned char **scratch, uint32_t *cap);
/* Answer a job that never ran with @status. */
void mx_job_refuse(struct mx_vm *vm, struct mx_job *j, int status);

int mx_pool_start(struct mx_vm *vm);
/* Queue a request for the pool (lock held). Always takes it: on failure
 * it is answered through vm->done. */
int mx_pool_submit(struct mx_vm *vm, const struct mx_call *call,
		   const struct vamos_mysql_req *h, enum mx_job_kind kind, struct mx_ctx *c,
		   const struct mx_table_ref *ref, const struct mx_in *body, void *token);
/* A job of the request, with a private copy of its body (no token yet);
 * NULL when memory is short. */
struct mx_job *mx_job_make(const struct mx_call *call, const struct vamos_mysql_req *h,
			   enum mx_job_kind kind, struct mx_ctx *c,
			   const struct mx_table_ref *ref, const struct mx_in *body);
/* Queue job @j (its token set) for the pool (lock held): 0, or -EAGAIN
 * when no thread is alive and none could start (@j is not queued). */
int mx_pool_queue(struct mx_vm *vm, struct mx_job *j);
/* Run ctx job @j now on the caller's thread, without waiting for a row
 * lock: its status (answer in @out), or MX_WOULD_WAIT when it would have
 * to wait, and nothing of it happened (it goes to the pool as it is). */
int mx_job_try(struct mx_vm *vm, struct mx_job *j, struct mx_out *out);
#define MX_WOULD_WAIT 2

/* exec_sync.c. Commit job @j, made at once without its fsync, is
 * answered (0) once a WAL sync that began after it returns: the pool
 * makes one for every commit waiting then. Lock not held. */
void mx_sync_wait(struct mx_vm *vm, struct mx_job *j);
/* Sync the WAL and answer the commits waiting for it, until none waits
 * (the sync job's task, also while the pool stops: its commits are made;
 * at close, whatever is left). */
void mx_sync_run(struct mx_vm *vm);

/* Refuse queued requests (-ESHUTDOWN; the VM's own jobs run), let
 * running ones finish, join every thread. */
void mx_pool_stop(struct mx_vm *vm);

#endif
