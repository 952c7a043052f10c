/* SPDX-License-Identifier: MIT */
/*
 * systemd's file descriptor store, spoken directly (the sd_notify datagram
 * protocol, no libsystemd): with NOTIFY_SOCKET set, the keeper (keeper.h)
 * stores every VM's ivshmem descriptors in the service manager, so that
 * they outlive vamosd as a whole (`systemctl restart`), and takes them
 * back from LISTEN_FDS at the next start. It also says READY=1 and
 * STOPPING=1. doc/restarts.md tells the whole story.
 *
 * In the store, VM NAME is "NAME.text" (a memfd holding its handover text,
 * vamos_ivshmem_server_describe()) and "NAME.0", "NAME.1", ... (the
 * descriptors that text names, in its order), each stored with FDPOLL=0
 * so that only vamosd removes them.
 */
#ifndef VAMOSD_FDSTORE_H
#define VAMOSD_FDSTORE_H

#include <stdbool.h>

/* Whether a service manager listens (NOTIFY_SOCKET names a socket). Reads
 * the environment once and unsets NOTIFY_SOCKET, so the worker and its
 * children never talk to it themselves. */
bool fdstore_enabled(void);

/* Send @state (e.g. "READY=1") to the service manager. 0 or -errno. */
int fdstore_notify(const char *state);

/* Store VM @name's @n descriptors @fds and its handover @text (whose
 * descriptors they are, in order) in place of the @old_n stored before. */
void fdstore_put_vm(const char *name, const char *text, const int *fds, unsigned n,
		    unsigned old_n);

/* Remove VM @name's text and @old_n descriptors from the store. */
void fdstore_drop_vm(const char *name, unsigned old_n);

/* What the service manager passed at start (LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES, checked and then unset): for each VM whose text and
 * every descriptor came back, @take(@arg, NAME, TEXT renumbered to the
 * descriptors received, the descriptors, their count), which owns them
 * from then on. Descriptors that fit no VM are closed and removed from the
 * store. Returns the number of VMs given to @take. */
unsigned fdstore_take(void (*take)(void *arg, const char *name, const char *text,
				   const int *fds, unsigned n),
		      void *arg);

#endif
