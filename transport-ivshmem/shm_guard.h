/* SPDX-License-Identifier: MIT */
/*
 * Surviving a shared-memory file that a peer shrinks.
 *
 * A memfd region is sealed against resizing, but a file region (shm_path)
 * cannot be: a file opened by path takes no seals, and QEMU or a local peer
 * holding it may ftruncate() it, after which any access past the new end
 * raises SIGBUS. A guarded mapping is registered here; on SIGBUS inside it
 * the handler maps anonymous zero pages over the whole range (MAP_FIXED,
 * so every pointer into it stays valid and the faulting access completes)
 * and marks it severed: to the host the region then reads as nonsense, a
 * broken ring, never a crash. The owner later repairs it (the file grown
 * back, mapped again at the same address) and drops the peer. A SIGBUS
 * anywhere else goes to the previous handler, or kills as before.
 */
#ifndef VAMOS_IVSHMEM_SHM_GUARD_H
#define VAMOS_IVSHMEM_SHM_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* Watch [@base, @base + @size). 0, or -ENOSPC (too many), or -errno from
 * installing the handler. */
int shm_guard_add(void *base, size_t size);
/* Stop watching it (before unmapping). */
void shm_guard_remove(void *base);
/* Was it severed since the last call? Clears the mark. */
bool shm_guard_take_severed(void *base);

#endif
