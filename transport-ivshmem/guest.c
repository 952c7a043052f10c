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
#include <pthread.h>
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

/* The device as this process has it mapped: shared by every vamos_guest
 * opened on it, since VFIO lets a process open a device once and a client
 * re-attaching (a new vamosd took the region over) may still hold the old
 * one. The last close releases it. */
struct guest_dev {
	struct guest_dev *next;
	int refs;
	char key[320]; /* sysfs root + PCI address */
	char addr[64];
	bool use_vfio;
	struct guest_vfio vfio;
	void *bar0, *bar2; /* sysfs mappings when not through VFIO */
	size_t bar0_size, bar2_size;
	int peer_id;       /* IVPosition, -1 for ivshmem-plain */
	enum vamos_notify_mode mode;
	char reason[160];
};

static pthread_mutex_t devs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct guest_dev *devs;

/* One attachment to the region behind a device. */
struct vamos_guest {
	struct guest_dev *dev;
	struct vamos_region region;
};

/* Our peer id, or -1 when the device has no doorbell peer: QEMU's
 * ivshmem-plain reads 0, and 0 is the host's own id on a vamos server,
 * which never hands it to a VM. */
static int read_ivposition(struct guest_dev *g)
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

static int map_sysfs(struct guest_dev *g, const char *sysfs, const char **why)
{
	int rc = pci_map_bar(sysfs, g->addr, 2, &g->bar2, &g->bar2_size, why);
	if (rc == 0)
		rc = pci_map_bar(sysfs, g->addr, 0, &g->bar0, &g->bar0_size, why);
	if (rc == 0 && g->bar0_size < IVSHMEM_REG_DOORBELL + 4) {
		*why = "BAR0 is too small for the ivshmem registers";
		rc = -EPROTO;
	}
	return rc;
}

static void dev_free(struct guest_dev *g)
{
	if (g->use_vfio)
		guest_vfio_close(&g->vfio);
	if (g->bar2)
		munmap(g->bar2, g->bar2_size);
	if (g->bar0)
		munmap(g->bar0, g->bar0_size);
	free(g);
}

/* Open the device at @addr, or share it if this process has it. Lock held. */
static int dev_get(const struct vamos_guest_params *p, const char *sysfs, const char *addr,
		   struct guest_dev **out, const char **why)
{
	char key[sizeof devs->key];
	snprintf(key, sizeof key, "%s|%s", sysfs, addr);
	for (struct guest_dev *d = devs; d; d = d->next)
		if (!strcmp(d->key, key)) {
			d->refs++;
			*out = d;
			return 0;
		}
	struct guest_dev *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	snprintf(g->key, sizeof g->key, "%s", key);
	snprintf(g->addr, sizeof g->addr, "%s", addr);
	g->vfio.container = g->vfio.group = g->vfio.device = -1;
	int rc = 0;
	const char *no_irq = "polling was asked for";
	int msix = pci_has_msix(sysfs, g->addr);
	if (msix <= 0 && p->irq != VAMOS_GUEST_IRQ_POLL) {
		no_irq = "the device has no MSI-X (ivshmem-plain, or vectors=0)";
		if (p->irq == VAMOS_GUEST_IRQ_VFIO) {
			*why = no_irq;
			rc = -ENOTSUP;
			goto fail;
		}
	} else if (p->irq != VAMOS_GUEST_IRQ_POLL) {
		rc = guest_vfio_open(sysfs, g->addr, p->bind_vfio, &g->vfio, &no_irq);
		if (rc == 0) {
			g->use_vfio = true;
		} else if (p->irq == VAMOS_GUEST_IRQ_VFIO) {
			*why = no_irq;
			goto fail;
		}
	}
	if (!g->use_vfio && (rc = map_sysfs(g, sysfs, why)))
		goto fail;
	g->peer_id = read_ivposition(g);
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
	g->refs = 1;
	g->next = devs;
	devs = g;
	*out = g;
	return 0;
fail:
	dev_free(g);
	return rc;
}

/* Drop a reference; true if it was the last (the device is then closed). */
static bool dev_put(struct guest_dev *g, const struct vamos_region *region)
{
	pthread_mutex_lock(&devs_lock);
	bool last = --g->refs == 0;
	if (last) {
		for (struct guest_dev **pp = &devs; *pp; pp = &(*pp)->next)
			if (*pp == g) {
				*pp = g->next;
				break;
			}
		if (region && region->base)
			vamos_region_set_state(region, VAMOS_SIDE_GUEST, VAMOS_STATE_CLOSED);
		dev_free(g);
	}
	pthread_mutex_unlock(&devs_lock);
	return last;
}

int vamos_guest_open(const struct vamos_guest_params *params,
		     struct vamos_guest **out, const char **why_out)
{
	const char *why_dummy;
	const char **why = why_out ? why_out : &why_dummy;
	struct vamos_guest_params defaults = { 0 };
	const struct vamos_guest_params *p = params ? params : &defaults;
	const char *sysfs = p->sysfs_root ? p->sysfs_root : "/sys";
	char addr[64];
	int rc;

	*why = NULL;
	if ((rc = pci_find_ivshmem(sysfs, p->pci_address, addr, sizeof addr, why)))
		return rc;
	struct vamos_guest *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	pthread_mutex_lock(&devs_lock);
	rc = dev_get(p, sysfs, addr, &g->dev, why);
	pthread_mutex_unlock(&devs_lock);
	if (rc) {
		free(g);
		return rc;
	}
	struct guest_dev *d = g->dev;
	void *mem = d->use_vfio ? d->vfio.bar2 : d->bar2;
	size_t size = d->use_vfio ? d->vfio.bar2_size : d->bar2_size;
	rc = vamos_region_attach(mem, size, &g->region);
	if (rc) {
		*why = g->region.error;
		dev_put(d, NULL);
		free(g);
		return rc;
	}
	vamos_region_set_state(&g->region, VAMOS_SIDE_GUEST, VAMOS_STATE_READY);
	*out = g;
	return 0;
}

int vamos_guest_peer_id(const struct vamos_guest *g)
{
	return g->dev->peer_id;
}

const char *vamos_guest_pci_address(const struct vamos_guest *g)
{
	return g->dev->addr;
}

enum vamos_notify_mode vamos_guest_mode(const struct vamos_guest *g,
					const char **reason)
{
	if (reason)
		*reason = g->dev->reason;
	return g->dev->mode;
}

const struct vamos_region *vamos_guest_region(const struct vamos_guest *g)
{
	return &g->region;
}

int vamos_guest_channel(struct vamos_guest *vg, uint32_t index,
			struct vamos_chan **out)
{
	const struct guest_dev *g = vg->dev;
	if (index >= vg->region.params.channel_count)
		return -EINVAL;
	struct shm_chan_params cp = {
		.region = &vg->region,
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
	dev_put(g->dev, &g->region);
	free(g);
}
