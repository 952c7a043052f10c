/* SPDX-License-Identifier: MIT */
/*
 * The keeper: vamosd runs as two processes. The one started (the keeper)
 * forks the daemon proper (the worker) and holds copies of every VM's
 * ivshmem descriptors, which the worker sends it whenever they change. If
 * the worker dies (a crash, SIGKILL, the OOM killer), the keeper starts a
 * new one with those descriptors (VAMOS_HANDOVER, as for a restart in
 * place): QEMU cannot attach to a new ivshmem server, so only descriptors
 * that outlive the worker let a running VM survive its death. The new
 * worker bumps each region's generation, so guests fail what they had in
 * flight and attach again. Signals to the keeper go to the worker; the
 * keeper exits with the worker's status once it stopped when asked to.
 * VAMOS_NO_KEEPER=1 runs the worker alone (a debugger, valgrind).
 * Under systemd (NOTIFY_SOCKET) the keeper also keeps the descriptors in
 * the service manager's fd store and takes them back at start
 * (fdstore.h), so VMs survive the keeper too.
 */
#ifndef VAMOSD_KEEPER_H
#define VAMOSD_KEEPER_H

#include <stdbool.h>

#include <vamos/ivshmem.h>

/* In the process started: true if it is to become the keeper (it then
 * calls keeper_main()), false in a worker or with VAMOS_NO_KEEPER=1. */
bool keeper_wanted(void);

/* Be the keeper: run workers (@exe with @argv) until one stops when asked,
 * or fails before it was ready. Returns the exit status. */
int keeper_main(const char *exe, char *const *argv);

/* Worker: take the keeper's socket from the environment (if any). True if
 * this worker replaces one that died (its VMs' generations must move). */
bool keeper_worker_init(void);

/* Worker: tell the keeper it is serving (so a later death is a crash to
 * recover from, not a start-up failure). */
void keeper_ready(void);

/* Worker: send the keeper VM @name's descriptors as @server has them now
 * (after a peer attached or left, and at start). */
void keeper_publish(const char *name, struct vamos_ivshmem_server *server);

/* Worker: whether a stop (SIGTERM) is to leave the VMs' devices and
 * regions as they stand, handed over to nobody (vamosd runs under systemd
 * with an fd store, which keeps the descriptors for the next start: see
 * fdstore.h), instead of closing them. */
bool keeper_vms_outlive_stop(void);

/* Worker: VM @name, handed over by the predecessor, is no longer
 * configured: the keeper (and the fd store) let its descriptors go. */
void keeper_forget(const char *name);

/* Worker, before re-executing itself: keep the keeper's socket open. */
void keeper_keep_across_exec(void);

#endif
