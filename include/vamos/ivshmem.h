/* SPDX-License-Identifier: MIT */
/*
 * transport-ivshmem: libvamos channels over QEMU's ivshmem device.
 *
 * Three roles share one region laid out by libvamos-ring:
 *
 *  - the *server* (host): owns the shared memory (a memfd or a file), speaks
 *    QEMU's ivshmem server protocol on a UNIX socket so that a VM attaches
 *    with `-chardev socket,path=SOCK,id=v -device
 *    ivshmem-doorbell,chardev=v,vectors=K`, hands every peer the memory and
 *    one eventfd per vector, and announces joins and leaves. The server is
 *    itself peer VAMOS_IVSHMEM_HOST_ID: guests ring it through the doorbell.
 *  - a *local peer* (host process): joins a server the way QEMU does and
 *    plays the guest side of the channels — for containers, tests and
 *    benchmarks without a VM.
 *  - the *guest* (inside the VM): finds the PCI device, maps its BARs, rings
 *    the host through the doorbell register and takes the host's
 *    notifications as MSI-X interrupts through VFIO, or polls.
 *
 * Plus *plain* mode for `-device ivshmem-plain` with a memory-backend-file:
 * the same region, no interrupts, both sides poll.
 *
 * Channel i of a region is notified on vector i % vectors, both ways.
 * Channels that share a vector share its eventfd: a wakeup one of them
 * reads is not seen by the other until its next look (at most 50 ms
 * later). Give a VM at least as many vectors as channels that different
 * threads wait on, or wait on the channels of one vector from one thread.
 * Server and peer objects are driven by one thread each (their event
 * calls); channels they hand out are independent objects (vamos/channel.h)
 * that any one thread may use, and that outlive the peer they talk to: when
 * it leaves, they fail with -ECONNRESET.
 *
 * Errors: a negative errno, the failed object's ..._error() in words, or
 * why_out when no object exists yet (doc/errors.md, the one convention).
 */
#ifndef VAMOS_IVSHMEM_H
#define VAMOS_IVSHMEM_H

#include <stddef.h>
#include <stdint.h>

#include <vamos/channel.h>
#include <vamos/ring.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Peer id the server takes for itself: guests ring the host on it. */
#define VAMOS_IVSHMEM_HOST_ID 0
/** Largest peer id the protocol can address (doorbell's 16-bit field). */
#define VAMOS_IVSHMEM_MAX_PEER_ID 0xffff
/** Most eventfds (vectors) per peer this library handles. */
#define VAMOS_IVSHMEM_MAX_VECTORS 64u
/** The server protocol version QEMU speaks. */
#define VAMOS_IVSHMEM_PROTOCOL_VERSION 0

/* ------------------------------------------------------------------ server */

/** What happened to a peer, as told to vamos_ivshmem_server_params.on_event. */
enum vamos_ivshmem_event_kind {
	VAMOS_IVSHMEM_JOIN = 1,   /**< a peer got its id, memory and eventfds */
	VAMOS_IVSHMEM_LEAVE = 2,  /**< a peer disconnected; others were told */
	VAMOS_IVSHMEM_REJECT = 3, /**< a peer broke the protocol or could not
				       be served, and was dropped */
	VAMOS_IVSHMEM_ADOPT = 4,  /**< a peer taken over from a predecessor
				       (vamos_ivshmem_server_params.adopt): its
				       channels carry on where they stood */
};

struct vamos_ivshmem_event {
	enum vamos_ivshmem_event_kind kind;
	int peer;           /**< its id, or -1 if it never got one */
	const char *detail; /**< words for the log; valid during the call */
};

struct vamos_ivshmem_server_params {
	/** UNIX socket to listen on. A stale socket there is replaced; any
	 *  other kind of file is an error. */
	const char *socket_path;
	/** NULL: the memory is an anonymous memfd (QEMU gets it by fd). Else a
	 *  file to create or truncate (e.g. under /dev/shm), left in place on
	 *  stop only if @keep_shm_file. */
	const char *shm_path;
	int keep_shm_file;
	/** Bytes of shared memory: a power of two (QEMU refuses others), at
	 *  least vamos_region_size(&region). 0 picks the smallest that fits. */
	uint64_t shm_size;
	/** Channels and ring capacities laid out in the memory. */
	struct vamos_region_params region;
	/** Eventfds per peer; must equal the VMs' `vectors=`. 1 .. 64. */
	uint32_t vectors;
	/** Most peers served at once (besides the host); 0 means 16. */
	uint32_t max_peers;
	/** Called from vamos_ivshmem_server_dispatch() for each event; may be
	 *  NULL. It may call vamos_ivshmem_server_channel(). */
	void (*on_event)(void *arg, const struct vamos_ivshmem_event *event);
	void *arg;
	/** NULL: start afresh. Else the text a predecessor's
	 *  vamos_ivshmem_server_handover() wrote: take over its listening
	 *  socket, memory, eventfds and connected peers (each descriptor is
	 *  checked for its kind; @socket_path must be the same) and the region
	 *  as it stands, which must have exactly @region's layout (-EINVAL
	 *  otherwise). Nothing is reset: rings carry on at their positions,
	 *  so requests the guest published meanwhile are served, and QEMU never
	 *  notices (it keeps its connection, memory and interrupts). Then call
	 *  vamos_ivshmem_server_announce_adopted(). */
	const char *adopt;
};

struct vamos_ivshmem_server;

/**
 * Create the memory, lay out the region, create the host's eventfds and
 * listen. Returns 0 or a negative errno (-EINVAL for bad params, with
 * @why_out, if not NULL, naming the problem).
 */
int vamos_ivshmem_server_start(const struct vamos_ivshmem_server_params *params,
			       struct vamos_ivshmem_server **out,
			       const char **why_out);

/**
 * A file descriptor (epoll) that becomes readable when
 * vamos_ivshmem_server_dispatch() has work: a connection to accept, a peer
 * that left or wrote something.
 */
int vamos_ivshmem_server_fd(const struct vamos_ivshmem_server *s);

/**
 * Handle whatever is pending, waiting up to @timeout_ms (-1: until
 * something happens, 0: don't wait) for the first event. A misbehaving
 * peer is dropped and reported; it never stops the server. Returns the
 * number of events handled, or a negative errno if the server itself failed.
 */
int vamos_ivshmem_server_dispatch(struct vamos_ivshmem_server *s, int timeout_ms);

/**
 * Dispatch until @stop_fd (e.g. an eventfd another thread writes) becomes
 * readable, for a thread that does nothing else. Returns 0 when stopped,
 * or a negative errno if the server itself failed.
 */
int vamos_ivshmem_server_run(struct vamos_ivshmem_server *s, int stop_fd);

/** The region as the host sees it (host side of every channel). */
const struct vamos_region *vamos_ivshmem_server_region(const struct vamos_ivshmem_server *s);

/** Number of peers connected now (the host not counted). */
unsigned vamos_ivshmem_server_peer_count(const struct vamos_ivshmem_server *s);

/**
 * Open the host side of channel @index for peer @peer (a connected peer's
 * id): replies ring the peer's eventfd of vector index % vectors; requests
 * wake the host on its own eventfd of that vector. The channel fails with
 * -ECONNRESET when the peer leaves. Returns 0, -EINVAL (bad index), -ENOENT
 * (no such peer), -EPROTO (the ring's positions are bad), -ENOMEM, -EMFILE.
 */
int vamos_ivshmem_server_channel(struct vamos_ivshmem_server *s, int peer,
				 uint32_t index, struct vamos_chan **out);

/**
 * Drop peer @peer (a connected peer's id) that cannot be served, e.g. its
 * channels could not be opened: its socket is closed, the others are told
 * it left, and on_event reports VAMOS_IVSHMEM_REJECT with @why. May be
 * called from on_event. 0, or -ENOENT if there is no such peer.
 */
int vamos_ivshmem_server_drop_peer(struct vamos_ivshmem_server *s, int peer, const char *why);

/**
 * For a file region (shm_path): if a peer shrank the file and a host access
 * faulted (the mapping was severed, zero pages mapped over it, rather than
 * crash), drop the attached peers (REJECT events: the owner closes their
 * channels and calls vamos_ivshmem_server_reset_region(), which grows the
 * file back and maps it again before laying it out). Returns the number of
 * events, 0 when intact, or a negative errno. Call it now and then.
 */
int vamos_ivshmem_server_check_memory(struct vamos_ivshmem_server *s);

/**
 * Lay the region out anew (fresh rings, new epoch), for a new guest after
 * the last one left. Channels opened before are stale: close them first.
 */
int vamos_ivshmem_server_reset_region(struct vamos_ivshmem_server *s);

/** Tell every peer goodbye, mark the host side CLOSED, free everything and
 *  remove the socket (and the shm file unless kept). NULL is fine. */
void vamos_ivshmem_server_stop(struct vamos_ivshmem_server *s);

/**
 * Hand the server over to a successor process (vamosd re-executing itself):
 * write into @buf (@len bytes) one line describing the listening socket, the
 * memory, the host's eventfds and every peer's connection and eventfds, for
 * the successor's vamos_ivshmem_server_params.adopt; clear close-on-exec on
 * exactly those descriptors; and free the server without closing them,
 * removing the socket or touching the region (the host side stays READY:
 * guests go on publishing requests, which the successor serves). Close the
 * channels first, with every request taken answered and released. Returns
 * 0, or -ENOSPC if @len is too small (the server is then untouched).
 */
int vamos_ivshmem_server_handover(struct vamos_ivshmem_server *s, char *buf, size_t len);

/**
 * Write the same text as vamos_ivshmem_server_handover() into @buf, without
 * handing anything over: for a keeper process that holds copies of the
 * descriptors (vamos_ivshmem_handover_fds() lists them) so that a successor
 * can take the server over after this process dies. 0 or -ENOSPC.
 */
int vamos_ivshmem_server_describe(struct vamos_ivshmem_server *s, char *buf, size_t len);

/**
 * The descriptors a handover text names, in the order they appear: up to
 * @max into @fds. Returns how many, -ENOSPC if more than @max, -EINVAL if
 * @text is not such a text.
 */
int vamos_ivshmem_handover_fds(const char *text, int *fds, unsigned max);

/**
 * Rewrite @text with its @n descriptors, in order, replaced by @to (the
 * numbers another process got for the same files, e.g. over SCM_RIGHTS).
 * Returns 0, -EINVAL if @text names other than @n, -ENOSPC if @len is short.
 */
int vamos_ivshmem_handover_renumber(const char *text, const int *to, unsigned n, char *out,
				    size_t len);

/**
 * After taking a server over from a predecessor that died (not one that
 * handed over cleanly): bump the host's generation in the region
 * (vamos_region_bump_generation), so its guests fail what they had in flight
 * and attach again. Returns the new generation.
 */
int vamos_ivshmem_server_bump_generation(struct vamos_ivshmem_server *s);

/**
 * Close every descriptor a handover text names, for a successor that will
 * not serve that server (its VM left the configuration): the VM's QEMU then
 * sees its server gone instead of a connection nobody reads.
 */
void vamos_ivshmem_handover_discard(const char *text);

/**
 * Report each peer taken over through vamos_ivshmem_server_params.adopt as
 * a VAMOS_IVSHMEM_ADOPT event (through on_event), once. Call it after
 * vamos_ivshmem_server_start(), when the caller is ready to open channels.
 */
void vamos_ivshmem_server_announce_adopted(struct vamos_ivshmem_server *s);

/* -------------------------------------------------------------- local peer */

struct vamos_ivshmem_peer;

/**
 * Join the server at @socket_path as QEMU would, with @vectors eventfds
 * (must match the server's; 0: as many as the server has, learned from the
 * host's eventfds, which it sends before ours), waiting at most @timeout_ms for the server's
 * welcome. Maps the memory and attaches to its region. Every message is
 * checked: a server that breaks the protocol gives -EPROTO and @why_out.
 */
int vamos_ivshmem_peer_connect(const char *socket_path, uint32_t vectors,
			       int timeout_ms, struct vamos_ivshmem_peer **out,
			       const char **why_out);

/**
 * Carry on after vamosd's worker died and its keeper kept this peer's
 * connection, memory and eventfds (the host's generation moved, so every
 * channel of @old fails): a new peer on the same connection, whose region
 * is attached again at the host's current generation, as a guest's device
 * is. No new join, so the server's peer slot stays ours. Open the channels
 * anew on it; @old's fail until closed, and closing @old afterwards
 * neither leaves the server nor marks the region closed. Returns 0;
 * -ECONNRESET if the server has gone (join anew instead); -EAGAIN if the
 * host has not laid the region out again yet (try again); -EPROTO,
 * -EMFILE, -ENOMEM. @old and the result are used by one thread at a time.
 */
int vamos_ivshmem_peer_reattach(struct vamos_ivshmem_peer *old,
				struct vamos_ivshmem_peer **out, const char **why_out);

/** The id the server gave this peer. */
int vamos_ivshmem_peer_id(const struct vamos_ivshmem_peer *p);

/** The peer's vectors (eventfds each way): as given, or as learned. */
uint32_t vamos_ivshmem_peer_vectors(const struct vamos_ivshmem_peer *p);

/** The region as this peer sees it (guest side of every channel). */
const struct vamos_region *vamos_ivshmem_peer_region(const struct vamos_ivshmem_peer *p);

/** The server socket: readable when vamos_ivshmem_peer_dispatch() has news. */
int vamos_ivshmem_peer_fd(const struct vamos_ivshmem_peer *p);

/**
 * Read the server's announcements (other peers joining or leaving) without
 * blocking. Returns 0; -ECONNRESET once the server has gone (every channel
 * of this peer then fails with -ECONNRESET too); -EPROTO for a malformed
 * message (the peer disconnects).
 */
int vamos_ivshmem_peer_dispatch(struct vamos_ivshmem_peer *p);

/** Open the guest side of channel @index (see vamos_ivshmem_server_channel). */
int vamos_ivshmem_peer_channel(struct vamos_ivshmem_peer *p, uint32_t index,
			       struct vamos_chan **out);

/** Leave the server and unmap. Channels must be closed first. */
void vamos_ivshmem_peer_close(struct vamos_ivshmem_peer *p);

/* ------------------------------------------------------------------- guest */

/** How the guest takes the host's notifications. */
enum vamos_guest_irq {
	VAMOS_GUEST_IRQ_AUTO = 0,  /**< VFIO MSI-X if possible, else polling */
	VAMOS_GUEST_IRQ_VFIO = 1,  /**< VFIO MSI-X or fail */
	VAMOS_GUEST_IRQ_POLL = 2,  /**< always poll */
};

struct vamos_guest_params {
	/** PCI address ("0000:00:04.0"), or NULL for the first 1af4:1110. */
	const char *pci_address;
	enum vamos_guest_irq irq;
	/** Bind the device to vfio-pci if no driver holds it (AUTO/VFIO). */
	int bind_vfio;
	/** sysfs root, for tests; NULL means "/sys". */
	const char *sysfs_root;
};

struct vamos_guest;

/**
 * Find and map the ivshmem device, read IVPosition and attach to the
 * region. A device this process already has open (VFIO allows one open)
 * is shared, with the mode it was opened in, and only attached to anew:
 * how a client re-attaches after vamosd restarted while its old channels
 * are still being closed. Returns 0 or a negative errno with @why_out
 * saying what was missing (no device, no BAR2, no VFIO: reasons are
 * specific).
 */
int vamos_guest_open(const struct vamos_guest_params *params,
		     struct vamos_guest **out, const char **why_out);

/** This VM's peer id (IVPosition), or -1 for ivshmem-plain. */
int vamos_guest_peer_id(const struct vamos_guest *g);

/** The PCI address in use. */
const char *vamos_guest_pci_address(const struct vamos_guest *g);

/**
 * The notification mode in use and, for VAMOS_NOTIFY_POLL, why interrupts
 * were not used (e.g. "no IOMMU group: boot with intel_iommu=on"). Never
 * silent: print it.
 */
enum vamos_notify_mode vamos_guest_mode(const struct vamos_guest *g,
					const char **reason);

const struct vamos_region *vamos_guest_region(const struct vamos_guest *g);

/** Open the guest side of channel @index. */
int vamos_guest_channel(struct vamos_guest *g, uint32_t index,
			struct vamos_chan **out);

/** Mark the guest side CLOSED and unmap. Channels must be closed first. */
void vamos_guest_close(struct vamos_guest *g);

/* ------------------------------------------------------------------- plain */

struct vamos_plain;

/**
 * Host side of ivshmem-plain: create (or truncate) @path with @size bytes
 * (a power of two) and lay out a region for @params in it. QEMU maps the
 * same file with `-object memory-backend-file,mem-path=@path,share=on`.
 */
int vamos_plain_create(const char *path, uint64_t size,
		       const struct vamos_region_params *params,
		       struct vamos_plain **out, const char **why_out);

/** Attach to a region a host laid out in @path (a local guest-side peer). */
int vamos_plain_attach(const char *path, struct vamos_plain **out,
		       const char **why_out);

const struct vamos_region *vamos_plain_region(const struct vamos_plain *p);

/** Open channel @index as @side; both sides poll (VAMOS_NOTIFY_POLL). */
int vamos_plain_channel(struct vamos_plain *p, uint32_t index,
			enum vamos_side side, struct vamos_chan **out);

/** Unmap; the creator also marks the host CLOSED and, if @unlink_file,
 *  removes the file. */
void vamos_plain_close(struct vamos_plain *p, int unlink_file);

#ifdef __cplusplus
}
#endif

#endif /* VAMOS_IVSHMEM_H */
