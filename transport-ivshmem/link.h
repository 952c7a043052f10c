/* SPDX-License-Identifier: MIT */
/* The liveness of a peer, shared by whoever watches it (server or local
 * peer) and every channel that talks to it. A channel holds a reference, so
 * it can outlive the peer and the object that watched it. */
#ifndef VAMOS_IVSHMEM_LINK_H
#define VAMOS_IVSHMEM_LINK_H

#include <stdatomic.h>

struct vamos_link {
	atomic_int refs;
	/* Why the peer is gone, NULL while it is there. Release/acquire: a
	 * channel that sees the reason also sees everything done before. */
	_Atomic(const char *) gone;
};

/* A new link with one reference, or NULL. */
struct vamos_link *vamos_link_new(void);
struct vamos_link *vamos_link_get(struct vamos_link *link);
void vamos_link_put(struct vamos_link *link);

/* Mark the peer gone (first reason wins). @why must be a static string. */
void vamos_link_cut(struct vamos_link *link, const char *why);

/* Why the peer is gone, or NULL. */
static inline const char *vamos_link_gone(struct vamos_link *link)
{
	return link ? atomic_load_explicit(&link->gone, memory_order_acquire) : NULL;
}

#endif
