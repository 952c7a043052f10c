/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "blocking.h"
#include "handover.h"
#include "keeper.h"
#include "liveness.h"
#include "log.h"
#include "mysql_service.h"
#include "vm.h"

/* Give each poller that serves this VM the sessions of its channels
 * (vm->poller_of), or (@add false) take them off again. */
static void publish(struct vm *vm, bool add)
{
	struct session *mine[1024];
	/* Relaxed: only this thread writes it (heartbeat.h). */
	uint64_t serving = atomic_load_explicit(&vm->beat.pollers, memory_order_relaxed);
	for (unsigned k = 0; k < vm->pollers->count; k++) {
		if (!(serving >> k & 1))
			continue;
		unsigned n = 0;
		for (unsigned i = 0; i < vm->cfg.channels; i++)
			if (vm->poller_of[i] == k)
				mine[n++] = vm->sessions[i];
		if (add)
			pollers_add(&vm->pollers->all[k], mine, n);
		else
			pollers_remove(&vm->pollers->all[k], mine, n);
	}
}

/* Take the peer's sessions off the pollers and let them go; with @reset,
 * lay the region out afresh for the next peer. */
static void detach(struct vm *vm, const char *why, bool reset)
{
	if (vm->peer < 0)
		return;
	publish(vm, false);
	for (unsigned i = 0; i < vm->cfg.channels; i++)
		if (vm->sessions[i]) {
			session_totals_add(&vm->past, vm->sessions[i]);
			session_unref(vm->sessions[i]);
		}
	vm->past.in_flight = 0;
	/* What they left waiting is dropped: never run for a guest that is gone. */
	blocking_forget_removed(vm->queue);
	free(vm->sessions);
	vm->sessions = NULL;
	/* Relaxed: the liveness thread's verdict, heartbeat.h. */
	atomic_store_explicit(&vm->beat.pollers, 0, memory_order_relaxed);
	log_info("vm %s: peer %d detached (%s)", vm->cfg.name, vm->peer, why);
	vm->peer = -1;
	/* Its guest's connections are gone: their transactions roll back. */
	mysql_service_vm_reset(vm->cfg.id);
	/* Fresh rings and a new epoch for whoever attaches next. */
	if (reset)
		vamos_ivshmem_server_reset_region(vm->server);
}

/* A peer that cannot be served (its rings' positions are guest memory and
 * may be nonsense; memory may be short) is dropped, and the region laid out
 * afresh, so the next peer is served whatever this one wrote. */
static void refuse(struct vm *vm, int peer, const char *why)
{
	vamos_ivshmem_server_reset_region(vm->server);
	vamos_ivshmem_server_drop_peer(vm->server, peer, why);
}

/* Open the peer's channels as sessions. A peer taken over from a
 * predecessor said HELLO to it: its sessions carry on as welcomed. */
static void attach(struct vm *vm, int peer, bool adopted)
{
	vm->sessions = calloc(vm->cfg.channels, sizeof *vm->sessions);
	if (!vm->sessions || !vm->poller_of) {
		free(vm->sessions);
		vm->sessions = NULL;
		log_error("vm %s: out of memory attaching peer %d", vm->cfg.name, peer);
		refuse(vm, peer, "out of memory for its sessions");
		return;
	}
	for (uint32_t i = 0; i < vm->cfg.channels; i++) {
		struct vamos_chan *ch;
		int rc = vamos_ivshmem_server_channel(vm->server, peer, i, &ch);
		if (rc == 0)
			vm->sessions[i] = session_new(ch, vm->cfg.id, vm->cfg.name, i);
		if (vm->sessions[i] && adopted)
			session_assume_welcomed(vm->sessions[i]);
		if (!vm->sessions[i]) {
			log_error("vm %s: cannot open channel %u for peer %d: %s", vm->cfg.name,
				  i, peer, strerror(-rc));
			for (uint32_t j = 0; j < i; j++)
				session_unref(vm->sessions[j]);
			free(vm->sessions);
			vm->sessions = NULL;
			refuse(vm, peer, "its channels cannot be opened");
			return;
		}
		vm->sessions[i]->queue = vm->queue;
		vm->sessions[i]->beat = &vm->beat;
		/* Channel i is notified on vector i % vectors (vamos/ivshmem.h):
		 * one it shares with another channel is never parked. */
		vm->sessions[i]->shared_doorbell =
			i >= vm->cfg.vectors || i + vm->cfg.vectors < vm->cfg.channels;
	}
	/* Its channels go to the pollers with the fewest sessions now. */
	uint64_t serving = pollers_deal(vm->pollers, vm->cfg.channels, vm->poller_of);
	for (uint32_t i = 0; i < vm->cfg.channels; i++) {
		vm->sessions[i]->inbox = &vm->pollers->all[vm->poller_of[i]].inbox;
		/* A move between pollers (pollers_move) keeps it right. */
		vm->sessions[i]->placed = &vm->poller_of[i];
	}
	/* Relaxed: the liveness thread's verdict, heartbeat.h. Set before
	 * the sessions are published, so their pollers are judged. */
	atomic_store_explicit(&vm->beat.pollers, serving, memory_order_relaxed);
	vm->peer = peer;
	publish(vm, true);
	log_info("vm %s: peer %d %s, %u channels on %u pollers", vm->cfg.name, peer,
		 adopted ? "taken over (its channels carry on)" : "attached", vm->cfg.channels,
		 (unsigned)__builtin_popcountll(serving));
}

static void on_event(void *arg, const struct vamos_ivshmem_event *ev)
{
	struct vm *vm = arg;
	switch (ev->kind) {
	case VAMOS_IVSHMEM_JOIN:
	case VAMOS_IVSHMEM_ADOPT:
		vm->counters.joins++;
		if (vm->peer < 0)
			attach(vm, ev->peer, ev->kind == VAMOS_IVSHMEM_ADOPT);
		break;
	case VAMOS_IVSHMEM_LEAVE:
		vm->counters.leaves++;
		if (ev->peer == vm->peer)
			detach(vm, ev->detail, true);
		break;
	case VAMOS_IVSHMEM_REJECT:
		vm->counters.rejects++;
		log_warn("vm %s: peer %d rejected: %s", vm->cfg.name, ev->peer, ev->detail);
		if (ev->peer == vm->peer)
			detach(vm, ev->detail, true);
		break;
	}
	/* Peers came or went: the keeper holds what a successor needs. Not
	 * while starting (vm_start publishes once the server is set). */
	if (vm->server)
		keeper_publish(vm->cfg.name, vm->server);
}

int vm_start(struct vm *vm, const struct vm_config *cfg, const struct config *global,
	     struct pollers *pollers, const char *adopt, bool after_death, const char **why)
{
	memset(vm, 0, sizeof *vm);
	vm->cfg = *cfg;
	vm->peer = -1;
	vm->pollers = pollers;
	vm->beat.name = vm->cfg.name;
	atomic_init(&vm->beat.ok, true);

	/* Each VM's data lives under its own directory, named by the host's
	 * configuration, never by anything the guest says. */
	char dir[CONFIG_PATH_MAX + 80];
	snprintf(dir, sizeof dir, "%s/%s", global->data_dir, cfg->name);
	if (mkdir(global->data_dir, 0700) < 0 && errno != EEXIST) {
		*why = "cannot create the data directory";
		return -errno;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*why = "cannot create the VM's data directory";
		return -errno;
	}
	struct blocking_limits lim = { cfg->max_queued_requests, cfg->max_queued_bytes };
	vm->queue = blocking_queue_new(cfg->name, &lim);
	if (!vm->queue) {
		*why = "cannot make its blocking queue";
		return -ENOMEM;
	}
	vm->poller_of = calloc(cfg->channels, sizeof *vm->poller_of);
	if (!vm->poller_of) {
		*why = "out of memory";
		return -ENOMEM;
	}
	struct vamos_ivshmem_server_params sp = {
		.socket_path = cfg->socket,
		.shm_path = cfg->shm_path[0] ? cfg->shm_path : NULL,
		.shm_size = cfg->shm_size,
		.region = { cfg->channels, cfg->ring_bytes, cfg->ring_bytes },
		.vectors = cfg->vectors,
		.max_peers = 1,
		.on_event = on_event,
		.arg = vm,
		.adopt = adopt,
	};
	int rc = vamos_ivshmem_server_start(&sp, &vm->server, why);
	/* A predecessor killed a moment ago (with its keeper) may still be
	 * closing its socket: give it a second before calling it a rival. */
	for (int i = 0; rc == -EADDRINUSE && !adopt && i < 20; i++) {
		nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
		rc = vamos_ivshmem_server_start(&sp, &vm->server, why);
	}
	if (rc && adopt) {
		/* What could not be taken over is closed: its VM has lost us
		 * for good, but the next one can attach. */
		log_error("vm %s: cannot take over from the previous vamosd: %s", cfg->name,
			  *why ? *why : strerror(-rc));
		sp.adopt = NULL;
		rc = vamos_ivshmem_server_start(&sp, &vm->server, why);
	}
	if (rc)
		return rc;
	/* Before any session is published: the pollers beat this region. */
	vm->beat.region = *vamos_ivshmem_server_region(vm->server);
	liveness_watch(&vm->beat);
	log_info("vm %s: serving %s (%u channels of %u KiB rings, %u vectors%s)", cfg->name,
		 cfg->socket, cfg->channels, cfg->ring_bytes >> 10, cfg->vectors,
		 sp.adopt ? ", taken over from the previous vamosd" : "");
	/* Our predecessor died: what it had taken may be lost, so its guests
	 * must fail what they have in flight (they attach again). */
	if (sp.adopt && after_death)
		log_info("vm %s: host generation %d (the previous vamosd died)", cfg->name,
			 vamos_ivshmem_server_bump_generation(vm->server));
	/* A peer taken over attaches now, on the rings as they stand. */
	vamos_ivshmem_server_announce_adopted(vm->server);
	keeper_publish(cfg->name, vm->server);
	return 0;
}

int vm_fd(const struct vm *vm)
{
	return vamos_ivshmem_server_fd(vm->server);
}

void vm_check(struct vm *vm)
{
	/* A file region a peer shrank was severed, not crashed on: repair
	 * it (the peer is dropped, a REJECT) for the next one. */
	int rc = vamos_ivshmem_server_check_memory(vm->server);
	if (rc < 0)
		log_error("vm %s: cannot repair its shared memory: %s", vm->cfg.name,
			  strerror(-rc));
}

void vm_dispatch(struct vm *vm)
{
	int rc = vamos_ivshmem_server_dispatch(vm->server, 0);
	if (rc < 0)
		log_error("vm %s: server failed: %s", vm->cfg.name, strerror(-rc));
}

/* With the host's pollers drained and stopped (requests taken are
 * answered): detach, so what stays is the server alone. */
static void quiesce(struct vm *vm, const char *why)
{
	/* Beats stop before the sessions and the server go. */
	liveness_forget(&vm->beat);
	detach(vm, why, false);
	free(vm->poller_of);
	vm->poller_of = NULL;
}

int vm_handover(struct vm *vm, char *buf, size_t len)
{
	quiesce(vm, "vamosd restarting in place");
	int rc = vamos_ivshmem_server_handover(vm->server, buf, len);
	if (rc == 0)
		vm->server = NULL;
	return rc;
}

void vm_stop(struct vm *vm)
{
	quiesce(vm, "vamosd stopping");
	vamos_ivshmem_server_stop(vm->server);
	vm->server = NULL;
}

char *vms_handover_all(struct vm *vms, unsigned n)
{
	char *env = malloc(HANDOVER_MAX);
	size_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t nl = strlen(vms[i].cfg.name);
		int rc = -ENOMEM;
		if (env && off + nl + 2 < HANDOVER_MAX) {
			memcpy(env + off, vms[i].cfg.name, nl);
			env[off + nl] = '=';
			rc = vm_handover(&vms[i], env + off + nl + 1, HANDOVER_MAX - off - nl - 1);
		}
		if (rc) {
			log_error("vm %s: cannot hand over (%s); its VM loses vamosd",
				  vms[i].cfg.name, strerror(-rc));
			vm_stop(&vms[i]);
			continue;
		}
		off += strlen(env + off);
		env[off++] = '\n';
	}
	if (env)
		env[off] = 0;
	return env;
}
