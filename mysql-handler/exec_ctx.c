/* SPDX-License-Identifier: MIT */
/* A VM's contexts (one per guest connection): their slots and ids, and
 * freeing one once it is closed and no request of it runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "executor_state.h"

struct mx_ctx *mx_ctx_find(struct mx_vm *vm, uint64_t id)
{
	uint32_t slot = (uint32_t)id - 1;
	if (slot >= vm->opt.max_contexts || !vm->ctx[slot] || vm->ctx[slot]->id != id)
		return NULL;
	return vm->ctx[slot];
}

int mx_ctx_new(struct mx_vm *vm, uint64_t *id)
{
	if (vm->ctx_count >= vm->opt.max_contexts)
		return -EMFILE;
	struct mx_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	uint32_t slot = vm->ctx_next;
	while (vm->ctx[slot])
		slot = (slot + 1) % vm->opt.max_contexts;
	vm->ctx_next = (slot + 1) % vm->opt.max_contexts;
	/* Ids carry a generation: a closed context's id is never valid again. */
	vm->ctx_generation = (vm->ctx_generation + 1) & UINT32_MAX;
	c->id = (vm->ctx_generation << 32) | (slot + 1);
	vm->ctx[slot] = c;
	vm->ctx_count++;
	*id = c->id;
	return 0;
}

void mx_ctx_unlink(struct mx_vm *vm, struct mx_ctx *c)
{
	uint32_t slot = (uint32_t)c->id - 1;
	if (!c->dead && vm->ctx[slot] == c) {
		vm->ctx[slot] = NULL;
		vm->ctx_count--;
	}
	c->dead = true;
}

void mx_ctx_free(struct mx_vm *vm, struct mx_ctx *c)
{
	/* Nobody runs a request of it: its transaction rolls back here (a
	 * rollback never waits for a lock) — unless it is prepared: then it
	 * waits for COMMIT_BY_XID or ROLLBACK_BY_XID. */
	mh_txn_abort(c->stmt);
	if (c->txn && mh_txn_prepared(c->txn))
		mx_prepared_keep(vm, c->txn);
	else
		mh_txn_abort(c->txn);
	mh_txn_abort(c->snap);
	free(c->sp);
	free(c);
}

/* Done with a request of @c (which was busy): free it if it ended meanwhile. */
void mx_ctx_release(struct mx_vm *vm, struct mx_ctx *c)
{
	pthread_mutex_lock(&vm->lock);
	c->busy = false;
	bool gone = c->dead;
	pthread_mutex_unlock(&vm->lock);
	if (gone)
		mx_ctx_free(vm, c);
}
