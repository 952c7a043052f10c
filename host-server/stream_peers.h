/* SPDX-License-Identifier: MIT */
/*
 * Which VM a vsock connection belongs to. The kernel tells vamosd the
 * peer's CID (accept()'s struct sockaddr_vm; a guest cannot choose it,
 * QEMU's vhost-vsock-pci,guest-cid=N does), and `cid = N` in a [vm NAME]
 * section claims it. A CID no VM claims belongs to nobody: its connections
 * are refused. Built from the configuration at start and again on reload;
 * main thread only.
 */
#ifndef VAMOSD_STREAM_PEERS_H
#define VAMOSD_STREAM_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

struct stream_peer {
	uint32_t cid;
	vm_id vm;         /* the served VM's identity */
	const char *name; /* its name, in the served configuration */
};

struct stream_peers {
	struct stream_peer peers[CONFIG_MAX_VMS];
	unsigned count;
};

/*
 * The CIDs that @wanted's VMs claim, each mapped to the VM of the same name
 * in @serving (the configuration vamosd runs with; @wanted is the same at
 * start, a re-read file on reload). A VM that only @wanted has is not
 * served until a restart: its CID is left out, and counted in *@unserved.
 * Returns 0, or -1 with @err if two VMs claim one CID (@out untouched).
 */
int stream_peers_build(struct stream_peers *out, const struct config *serving,
		       const struct config *wanted, unsigned *unserved, char *err,
		       size_t errlen);

/* The VM whose guest has CID @cid, or NULL (nobody's: refuse it). */
const struct stream_peer *stream_peers_find(const struct stream_peers *m, uint32_t cid);

/* The VM of the peer whose address accept() gave as @addr, @len bytes:
 * its CID's if @addr is a whole AF_VSOCK address, else NULL (refuse it). */
const struct stream_peer *stream_peers_of_address(const struct stream_peers *m,
						  const void *addr, socklen_t len);

#endif
