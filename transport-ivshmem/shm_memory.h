/* SPDX-License-Identifier: MIT */
/* Creating and mapping the shared memory behind a region. */
#ifndef VAMOS_IVSHMEM_SHM_MEMORY_H
#define VAMOS_IVSHMEM_SHM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shm_memory {
	int fd;
	void *base;
	size_t size;
	bool guarded; /* a SIGBUS in it severs it (shm_guard.h) */
	bool severed; /* it was, and is not repaired yet */
};

/* Smallest power of two >= @n (n >= 1), or 0 on overflow. */
uint64_t shm_pow2_at_least(uint64_t n);

/*
 * Create @size bytes of shared memory and map them: an anonymous memfd when
 * @path is NULL, sealed against resizing (a peer holding the fd cannot
 * shrink it under us and make our accesses fault), else the file @path,
 * created or truncated with mode 0600. Returns 0 or a negative errno.
 */
int shm_memory_create(const char *path, uint64_t size, struct shm_memory *out);

/* Map the memory behind @fd (taken over) at its current size. A size that
 * is zero or not a power of two is refused (-EPROTO): QEMU never offers
 * one. */
int shm_memory_map_fd(int fd, struct shm_memory *out);

/* For memory a peer can shrink (a file, unsealed): survive SIGBUS in it
 * (see shm_guard.h). 0 or a negative errno. */
int shm_memory_guard(struct shm_memory *m);

/* Did a SIGBUS sever it (and it is not repaired yet)? */
bool shm_memory_severed(struct shm_memory *m);

/* If a SIGBUS severed it: grow the file back to its size and map it again
 * in place. Nobody may be reading it meanwhile (the mapping changes under
 * them). 1 (repaired), 0 (intact), or a negative errno. */
int shm_memory_repair(struct shm_memory *m);

void shm_memory_release(struct shm_memory *m);

#endif
