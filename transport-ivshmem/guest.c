/* SPDX-License-Identifier: MIT */
/*
 * The guest side of transport-ivshmem, inside the VM: find the device, map
 * its memory (BAR2) and registers (BAR0), learn our peer id (IVPosition),
 * ring the host through the Doorbell register, and take the host's
 * notifications as MSI-X interrupts through VFIO when there is an IOMMU;
 * otherwise poll adaptively. The mode chosen and why are always reported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vamos/ivshmem.h>

#include "guest_pci.h"
#include "guest_vfio.h"
#include "shm_channel.h"

struct vamos_guest {
	char addr[64];
	const char *sysfs;
	bool use_vfio;
	struct guest_vfio vfio;
	void *bar0, *bar2; /* sysfs mappings when not through VFIO */
	size_t bar0_size, bar2_size;
	int peer_id;       /* IVPosition, -1 for ivshmem-plain */
	enum vamos_notify_mode mode;
	char reason[160];
	struct vamos_region region;
};

/* Our peer id, or -1 when the device has no doorbell peer: QEMU's
 * ivshmem-plain reads 0, and 0 is the host's own id on a vamos server,
 * which never hands it to a VM. */
static int read_ivposition(struct vamos_guest *g)
{
	uint32_t v;
	if (g->use_vfio) {
		if (guest_vfio_read32(&g->vfio, IVSHMEM_REG_IVPOSITION, &v))
			return -1;
	} else {
		v = *(volatile uint32_t *)((unsigned char *)g->bar0 + IVSHMEM_REG_IVPOSITION);
	}
	/* Trust check: the device's word; only a 16-bit id is an id. */
	return v > VAMOS_IVSHMEM_HOST_ID && v <= VAMOS_IVSHMEM_MAX_PEER_ID ? (int)v : -1;
}

static int map_sysfs(struct vamos_guest *g, const char **why)
{
	int rc = pci_map_bar(g->sysfs, g->addr, 2, &g->bar2, &g->bar2_size, why);
	if (rc == 0)
		rc = pci_map_bar(g->sysfs, g->addr, 0, &g->bar0, &g->bar0_size, why);
	if (rc == 0 && g->bar0_size < IVSHMEM_REG_DOORBELL + 4) {
		*why = "BAR0 is too small for the ivshmem registers";
		rc = -EPROTO;
	}
	return rc;
}

int vamos_guest_open(const struct vamos_guest_params *params,
		     struct vamos_guest **out, const char **why_out)
{
	const char *why_dummy;
	const char **why = why_out ? why_out : &why_dummy;
	struct vamos_guest_params defaults = { 0 };
	const struct vamos_guest_params *p = params ? params : &defaults;
	int rc;

	*why = NULL;
	struct vamos_guest *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	g->sysfs = p->sysfs_root ? p->sysfs_root : "/sys";
	g->vfio.container = g->vfio.group = g->vfio.device = -1;
	if ((rc = pci_find_ivshmem(g->sysfs, p->pci_address, g->addr, sizeof g->addr, why)))
		goto fail;

	const char *no_irq = "polling was asked for";
	int msix = pci_has_msix(g->sysfs, g->addr);
	if (msix <= 0 && p->irq != VAMOS_GUEST_IRQ_POLL) {
		no_irq = "the device has no MSI-X (ivshmem-plain, or vectors=0)";
		if (p->irq == VAMOS_GUEST_IRQ_VFIO) {
			*why = no_irq;
			rc = -ENOTSUP;
			goto fail;
		}
	} else if (p->irq != VAMOS_GUEST_IRQ_POLL) {
		rc = guest_vfio_open(g->sysfs, g->addr, p->bind_vfio, &g->vfio, &no_irq);
		if (rc == 0) {
			g->use_vfio = true;
		} else if (p->irq == VAMOS_GUEST_IRQ_VFIO) {
			*why = no_irq;
			goto fail;
		}
	}
	if (!g->use_vfio && (rc = map_sysfs(g, why)))
		goto fail;
	g->peer_id = read_ivposition(g);

	void *mem = g->use_vfio ? g->vfio.bar2 : g->bar2;
	size_t size = g->use_vfio ? g->vfio.bar2_size : g->bar2_size;
	rc = vamos_region_attach(mem, size, &g->region);
	if (rc) {
		*why = g->region.error;
		goto fail;
	}
	if (g->use_vfio && g->peer_id < 0) {
		/* MSI-X without a doorbell peer id cannot happen with QEMU. */
		*why = "device has MSI-X but no IVPosition";
		rc = -EPROTO;
		goto fail;
	}
	g->mode = g->use_vfio ? VAMOS_NOTIFY_INTERRUPT : VAMOS_NOTIFY_POLL;
	if (g->use_vfio)
		snprintf(g->reason, sizeof g->reason, "MSI-X through VFIO, %u vectors",
			 g->vfio.vectors);
	else
		snprintf(g->reason, sizeof g->reason, "%s%s",
			 no_irq, g->peer_id < 0 ? "; no doorbell either"
						 : "; doorbells to the host still work");
	vamos_region_set_state(&g->region, VAMOS_SIDE_GUEST, VAMOS_STATE_READY);
	*out = g;
	return 0;
fail:
	g->region.base = NULL;
	vamos_guest_close(g);
	return rc;
}

int vamos_guest_peer_id(const struct vamos_guest *g)
{
	return g->peer_id;
}

const char *vamos_guest_pci_address(const struct vamos_guest *g)
{
	return g->addr;
}

enum vamos_notify_mode vamos_guest_mode(const struct vamos_guest *g,
					const char **reason)
{
	if (reason)
		*reason = g->reason;
	return g->mode;
}

const struct vamos_region *vamos_guest_region(const struct vamos_guest *g)
{
	return &g->region;
}

int vamos_guest_channel(struct vamos_guest *g, uint32_t index,
			struct vamos_chan **out)
{
	if (index >= g->region.params.channel_count)
		return -EINVAL;
	struct shm_chan_params cp = {
		.region = &g->region,
		.index = index,
		.side = VAMOS_SIDE_GUEST,
		.notify = SHM_NOTIFY_NONE,
		.notify_fd = -1,
		.wait_fd = -1,
		.watch_region = true,
	};
	if (g->peer_id >= 0) {
		/* The host is a peer like any other: Doorbell = peer << 16 |
		 * vector, and QEMU writes the host's eventfd of that vector. */
		uint32_t vectors = g->use_vfio ? g->vfio.vectors : 1;
		cp.doorbell_value = (uint32_t)VAMOS_IVSHMEM_HOST_ID << 16 | (index % vectors);
		if (g->use_vfio && !g->vfio.bar0) {
			cp.notify = SHM_NOTIFY_PWRITE;
			cp.doorbell_fd = g->vfio.device;
			cp.doorbell_offset = g->vfio.bar0_offset + IVSHMEM_REG_DOORBELL;
		} else {
			cp.notify = SHM_NOTIFY_MMIO;
			cp.doorbell = (volatile uint32_t *)((unsigned char *)
				(g->use_vfio ? g->vfio.bar0 : g->bar0) + IVSHMEM_REG_DOORBELL);
		}
	}
	if (g->use_vfio) {
		cp.wait_fd = fcntl(g->vfio.irq_fds[index % g->vfio.vectors], F_DUPFD_CLOEXEC, 0);
		if (cp.wait_fd < 0)
			return -errno;
	}
	return shm_chan_open(&cp, out);
}

void vamos_guest_close(struct vamos_guest *g)
{
	if (!g)
		return;
	if (g->region.base)
		vamos_region_set_state(&g->region, VAMOS_SIDE_GUEST, VAMOS_STATE_CLOSED);
	if (g->use_vfio)
		guest_vfio_close(&g->vfio);
	if (g->bar2)
		munmap(g->bar2, g->bar2_size);
	if (g->bar0)
		munmap(g->bar0, g->bar0_size);
	free(g);
}
