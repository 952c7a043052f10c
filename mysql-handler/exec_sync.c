/* SPDX-License-Identifier: MIT */
/*
 * Commits answered after their WAL sync (group commit). With the store's
 * sync full, a COMMIT made at once on the caller's thread (executor.c) is
 * in the memtable and in the WAL's file, not yet on disk: its job waits
 * here, and the VM's one sync job, on the worker pool, syncs the WAL for
 * every commit waiting when it starts, then answers them. Commits that
 * arrive during a sync wait for the next one: one fsync in flight per VM,
 * shared by every commit that came meanwhile, and no thread that serves
 * rings ever waits for the disk.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "executor_state.h"

void mx_sync_wait(struct mx_vm *vm, struct mx_job *j)
{
	pthread_mutex_lock(&vm->sync_lock);
	j->next = NULL;
	*vm->sync_tail = j;
	vm->sync_tail = &j->next;
	bool start = !vm->sync_running;
	vm->sync_running = true;
	pthread_mutex_unlock(&vm->sync_lock);
	if (!start)
		return; /* the sync job running or queued takes it */
	/* The sync job is out of the queue (popped by the run that ended
	 * the last round), so it can go in again. */
	pthread_mutex_lock(&vm->lock);
	vm->sync_job->next = NULL;
	int rc = mx_pool_queue(vm, vm->sync_job);
	pthread_mutex_unlock(&vm->lock);
	if (rc)
		mx_sync_run(vm); /* no pool thread at all: synced here */
}

void mx_sync_run(struct mx_vm *vm)
{
	for (;;) {
		pthread_mutex_lock(&vm->sync_lock);
		struct mx_job *list = vm->sync_waiting;
		vm->sync_waiting = NULL;
		vm->sync_tail = &vm->sync_waiting;
		if (!list)
			vm->sync_running = false; /* the next waiter queues it again */
		pthread_mutex_unlock(&vm->sync_lock);
		if (!list)
			return;
		/* Every commit of the list returned before this sync began. */
		int rc = mh_store_sync(vm->store);
		uint64_t n = 0;
		for (const struct mx_job *j = list; j; j = j->next)
			n++;
		/* Counted before the answers: whoever has one sees its sync. */
		pthread_mutex_lock(&vm->lock);
		vm->stats.wal_syncs++;
		vm->stats.synced_commits += n;
		pthread_mutex_unlock(&vm->lock);
		while (list) {
			struct mx_job *j = list;
			list = j->next;
			vm->done(j->token, rc, NULL, 0);
			free(j);
		}
	}
}
