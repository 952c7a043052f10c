/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_guard.h"
#include "shm_memory.h"

uint64_t shm_pow2_at_least(uint64_t n)
{
	uint64_t p = 1;
	while (p < n) {
		if (p > UINT64_MAX / 2)
			return 0;
		p *= 2;
	}
	return p;
}

static int map_it(int fd, uint64_t size, struct shm_memory *out)
{
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	out->fd = fd;
	out->base = base;
	out->size = size;
	return 0;
}

int shm_memory_create(const char *path, uint64_t size, struct shm_memory *out)
{
	int fd, rc;

	if (size == 0 || (size & (size - 1)) || size > SIZE_MAX)
		return -EINVAL;
	if (path)
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	else
		fd = memfd_create("vamos-ivshmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail_errno;
	if (!path && fcntl(fd, F_ADD_SEALS,
			   F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail_errno;
	rc = map_it(fd, size, out);
	if (rc == 0)
		return 0;
	close(fd);
	return rc;
fail_errno:
	rc = -errno;
	close(fd);
	return rc;
}

int shm_memory_map_fd(int fd, struct shm_memory *out)
{
	struct stat st;
	int rc = -EPROTO;

	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	uint64_t size = (uint64_t)st.st_size;
	/* Trust check: the size comes from the peer's file; only a power of
	 * two that fits our address space is mapped. */
	if (st.st_size <= 0 || (size & (size - 1)) || size > SIZE_MAX / 2)
		goto fail;
	rc = map_it(fd, size, out);
	if (rc == 0)
		return 0;
fail:
	close(fd);
	return rc;
}

int shm_memory_guard(struct shm_memory *m)
{
	int rc = shm_guard_add(m->base, m->size);
	m->guarded = rc == 0;
	return rc;
}

bool shm_memory_severed(struct shm_memory *m)
{
	if (m->guarded && shm_guard_take_severed(m->base))
		m->severed = true;
	return m->severed;
}

int shm_memory_repair(struct shm_memory *m)
{
	if (!shm_memory_severed(m))
		return 0;
	m->severed = false;
	/* Grow the file back (what was cut reads as zeros) and share it
	 * again at the same address. */
	if (ftruncate(m->fd, (off_t)m->size) < 0)
		return -errno;
	void *p = mmap(m->base, m->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       m->fd, 0);
	return p == MAP_FAILED ? -errno : 1;
}

void shm_memory_release(struct shm_memory *m)
{
	if (m->guarded)
		shm_guard_remove(m->base);
	m->guarded = false;
	if (m->base)
		munmap(m->base, m->size);
	if (m->fd >= 0)
		close(m->fd);
	m->base = NULL;
	m->fd = -1;
}
