/* SPDX-License-Identifier: MIT */
/*
 * One attached VM: its ivshmem server (QEMU connects to its socket), and
 * the sessions of its channels while a peer is attached, served by the
 * host's pollers (pollers.h: dealt to the least loaded ones as the peer
 * attaches) and beating its heartbeat (heartbeat.h). The
 * server takes one peer at a time (the VM's QEMU, or a local peer); when it
 * leaves, its sessions are taken off the pollers, freed once no blocking
 * request holds them, and the region is laid out afresh for the next one.
 * Runs on the main thread except the pollers.
 */
#ifndef VAMOSD_VM_H
#define VAMOSD_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vamos/ivshmem.h>

#include "config.h"
#include "heartbeat.h"
#include "pollers.h"

struct vm_counters {
	uint64_t joins, leaves, rejects;
};

struct vm {
	struct vm_config cfg;
	struct vamos_ivshmem_server *server;
	struct pollers *pollers;     /* the host's */
	struct blocking_queue *queue; /* its blocking work (the pool's) */
	struct heartbeat beat;       /* names the pollers its channels go to */
	int peer;                    /* attached peer id, or -1 */
	struct session **sessions;   /* cfg.channels entries while attached */
	unsigned *poller_of;         /* cfg.channels entries: each one's poller */
	struct vm_counters counters; /* main thread only */
	struct session_totals past;  /* sessions of peers that left */
};

/* Start serving @cfg: data dir, server socket; its channels go to
 * @pollers (the host's, started). With @adopt (a
 * predecessor's vm_handover() text, or the keeper's copy), take over its
 * socket, memory and attached peer instead, and with @after_death bump the
 * host generation; if taking over fails, say so and start afresh. Then
 * publish the server to the keeper. 0 or -errno + @why. */
int vm_start(struct vm *vm, const struct vm_config *cfg, const struct config *global,
	     struct pollers *pollers, const char *adopt, bool after_death, const char **why);

/* The server's fd (readable: call vm_dispatch). */
int vm_fd(const struct vm *vm);
void vm_dispatch(struct vm *vm);
/* Now and then: repair a file region a peer shrank (see the server's
 * vamos_ivshmem_server_check_memory). */
void vm_check(struct vm *vm);

/* Once the host's pollers are drained and stopped (pollers_stop): detach
 * like vm_stop(), then hand the server over for an execve()
 * (vamos_ivshmem_server_handover(): its text in @buf). 0, or -ENOSPC with
 * the server still there (vm_stop() it). */
int vm_handover(struct vm *vm, char *buf, size_t len);

/* Once the host's pollers are drained and stopped: detach, stop the
 * server (the region says CLOSED). */
void vm_stop(struct vm *vm);

/* Hand every VM over (pollers stopped first); returns the environment
 * value naming what each left open (malloc'd), or NULL. A VM that cannot
 * be handed over is stopped: its guest loses vamosd. */
char *vms_handover_all(struct vm *vms, unsigned n);

#endif
