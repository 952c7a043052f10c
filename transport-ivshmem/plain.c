/* SPDX-License-Identifier: MIT */
/* ivshmem-plain: a region in a file QEMU maps as a memory-backend-file.
 * No interrupts exist on this path, so both sides poll. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vamos/ivshmem.h>

#include "shm_channel.h"
#include "shm_memory.h"

struct vamos_plain {
	struct shm_memory mem;
	struct vamos_region region;
	char *path;
	int creator;
};

int vamos_plain_create(const char *path, uint64_t size,
		       const struct vamos_region_params *params,
		       struct vamos_plain **out, const char **why_out)
{
	const char *why_dummy;
	const char **why = why_out ? why_out : &why_dummy;
	size_t need = vamos_region_size(params);

	*why = NULL;
	if (need == 0) {
		*why = "invalid region params (channels, capacities)";
		return -EINVAL;
	}
	if (size == 0 || (size & (size - 1)) || size < need) {
		*why = "size must be a power of two that holds the region";
		return -EINVAL;
	}
	struct vamos_plain *p = calloc(1, sizeof *p);
	if (!p || !(p->path = strdup(path))) {
		free(p);
		return -ENOMEM;
	}
	p->creator = 1;
	int rc = shm_memory_create(path, size, &p->mem);
	if (rc) {
		*why = "cannot create the shared memory file";
		free(p->path);
		free(p);
		return rc;
	}
	rc = vamos_region_init(p->mem.base, p->mem.size, params, &p->region);
	if (rc) {
		*why = p->region.error;
		vamos_plain_close(p, 1);
		return rc;
	}
	*out = p;
	return 0;
}

int vamos_plain_attach(const char *path, struct vamos_plain **out,
		       const char **why_out)
{
	const char *why_dummy;
	const char **why = why_out ? why_out : &why_dummy;
	*why = NULL;
	struct vamos_plain *p = calloc(1, sizeof *p);
	if (!p || !(p->path = strdup(path))) {
		free(p);
		return -ENOMEM;
	}
	p->mem.fd = -1;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	int rc = fd < 0 ? -errno : shm_memory_map_fd(fd, &p->mem);
	if (rc) {
		*why = rc == -EPROTO ? "file size is not a power of two"
				     : "cannot open or map the file";
		goto fail;
	}
	rc = vamos_region_attach(p->mem.base, p->mem.size, &p->region);
	if (rc) {
		*why = p->region.error;
		goto fail;
	}
	vamos_region_set_state(&p->region, VAMOS_SIDE_GUEST, VAMOS_STATE_READY);
	*out = p;
	return 0;
fail:
	vamos_plain_close(p, 0);
	return rc;
}

const struct vamos_region *vamos_plain_region(const struct vamos_plain *p)
{
	return &p->region;
}

int vamos_plain_channel(struct vamos_plain *p, uint32_t index,
			enum vamos_side side, struct vamos_chan **out)
{
	if (index >= p->region.params.channel_count ||
	    (side != VAMOS_SIDE_HOST && side != VAMOS_SIDE_GUEST))
		return -EINVAL;
	struct shm_chan_params cp = {
		.region = &p->region,
		.index = index,
		.side = side,
		.notify = SHM_NOTIFY_NONE,
		.notify_fd = -1,
		.wait_fd = -1,
		/* A guest notices a host that closed or re-laid the region. */
		.watch_region = side == VAMOS_SIDE_GUEST,
	};
	return shm_chan_open(&cp, out);
}

void vamos_plain_close(struct vamos_plain *p, int unlink_file)
{
	if (!p)
		return;
	if (p->region.base)
		vamos_region_set_state(&p->region,
				       p->creator ? VAMOS_SIDE_HOST : VAMOS_SIDE_GUEST,
				       VAMOS_STATE_CLOSED);
	shm_memory_release(&p->mem);
	if (p->creator && unlink_file)
		unlink(p->path);
	free(p->path);
	free(p);
}
