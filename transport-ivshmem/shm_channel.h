/* SPDX-License-Identifier: MIT */
/* A vamos_chan over one channel of a shared-memory region, with a way to
 * notify the peer and a way to sleep until it notifies us. Used by the
 * server, the local peer, the guest and plain mode alike. */
#ifndef VAMOS_IVSHMEM_SHM_CHANNEL_H
#define VAMOS_IVSHMEM_SHM_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include <vamos/channel.h>

#include "link.h"

enum shm_notify_kind {
	SHM_NOTIFY_NONE,    /* the peer polls */
	SHM_NOTIFY_EVENTFD, /* write 1 to an eventfd (host, local peer) */
	SHM_NOTIFY_MMIO,    /* store a value to a doorbell register (guest) */
	SHM_NOTIFY_PWRITE,  /* pwrite a value to a device fd at an offset
			       (guest, VFIO when BAR0 cannot be mapped) */
};

struct shm_chan_params {
	const struct vamos_region *region;
	uint32_t index;
	enum vamos_side side;
	enum shm_notify_kind notify;
	int notify_fd;                 /* SHM_NOTIFY_EVENTFD: taken over */
	volatile uint32_t *doorbell;   /* SHM_NOTIFY_MMIO */
	int doorbell_fd;               /* SHM_NOTIFY_PWRITE: not taken over */
	uint64_t doorbell_offset;      /* SHM_NOTIFY_PWRITE */
	uint32_t doorbell_value;       /* MMIO and PWRITE */
	int wait_fd;                   /* eventfd to sleep on, taken over;
					  -1: poll with backoff */
	bool guard_fds;                /* the peer holds our eventfds (shares
					  their flags): see eventfd_io.h */
	struct vamos_link *link;       /* peer liveness, or NULL; referenced */
	bool watch_region;             /* fail once the host re-lays it out */
};

/*
 * Open the channel. On success the fds belong to the channel; on failure
 * they are closed too, so the caller never leaks them. Returns 0, -EINVAL,
 * -EPROTO (bad positions), -ENOMEM.
 */
int shm_chan_open(const struct shm_chan_params *params, struct vamos_chan **out);

#endif
