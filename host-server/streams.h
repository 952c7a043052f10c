/* SPDX-License-Identifier: MIT */
/*
 * Stream clients: the vsock listener (guests without an ivshmem device),
 * each VM's own UNIX stream socket (stream_socket), and an optional shared
 * UNIX socket (local processes, no VM). Every connection is one session;
 * one poller serves them all. A session's VM comes from where it
 * connected, never from what it sends: its vsock CID as the kernel reports
 * it (stream_peers.h), or the VM whose socket it connected to. Each VM's
 * stream sessions have a poller of their own (started with the first one),
 * and so have the sessions of no VM: a stream flush waits for its peer to
 * read, so a guest that never reads its replies stalls its own stream
 * sessions, never another VM's. Runs on the main thread except the pollers.
 */
#ifndef VAMOSD_STREAMS_H
#define VAMOSD_STREAMS_H

#include "config.h"
#include "poller.h"
#include "stream_peers.h"

#define STREAMS_MAX 1024
/* The shared UNIX socket, vsock, one per VM. */
#define STREAMS_LISTENERS (2 + CONFIG_MAX_VMS)

struct stream_listener {
	int fd;                      /* -1: none */
	bool vsock;                  /* the VM is the peer's CID's */
	vm_id vm;                    /* else every connection is this VM's */
	const char *label;           /* the VM's name, or "stream" */
	char path[CONFIG_PATH_MAX];  /* a UNIX socket's, removed at stop */
};

struct streams {
	struct stream_listener listeners[STREAMS_LISTENERS];
	unsigned listener_count;
	struct stream_peers peers;   /* vsock CIDs to VMs */
	struct poller *pollers[CONFIG_MAX_VMS + 1]; /* by vm_id; [VM_NONE]: no VM */
	bool serving;                /* some stream is configured */
	int64_t spin_ns;             /* for the pollers started later */
	uint64_t boot_id;
	struct session *sessions[STREAMS_MAX];
	unsigned count;
	uint32_t next_index;
	uint64_t accepted, refused;
	uint32_t last_refused_cid;   /* for logging refusals without a flood */
	uint64_t refused_in_a_row;
	struct session_totals past; /* sessions that ended */
	/* Each VM's blocking queue, by vm_id, so that its stream sessions'
	 * blocking work counts against its own limits (NULL: the default
	 * queue, as for sessions of no VM). Set by main after the VMs start. */
	struct blocking_queue *queues[CONFIG_MAX_VMS + 1];
	/* Called by the sweep when the last stream session of a VM ended
	 * (main thread; NULL: nobody to tell). */
	void (*vm_left)(vm_id vm, void *arg);
	void *vm_left_arg;
};

/* Listen as @c says (nothing if it configures no stream at all). 0 or
 * -errno with @why. */
int streams_start(struct streams *st, const struct config *c, uint64_t boot_id,
		  const char **why);

/* Accept on listener @i (its fd was readable). */
void streams_accept(struct streams *st, unsigned i);

/* Reload: vsock CIDs as @wanted claims them, for the VMs @serving has.
 * Sessions of a CID that no longer is its VM's are ended. 0, or -1 with
 * @err (the CIDs stay as they were). */
int streams_reload(struct streams *st, const struct config *serving,
		   const struct config *wanted, char *err, size_t errlen);

/* Let go of sessions that ended (called now and then by the main loop,
 * and before a new session is added, so that one that comes after a VM's
 * last one ended is never counted as still there). */
void streams_sweep(struct streams *st);

/* Drain, close every session and the listeners. */
void streams_stop(struct streams *st);

#endif
