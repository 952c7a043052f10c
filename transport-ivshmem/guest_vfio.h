/* SPDX-License-Identifier: MIT */
/* The ivshmem device through VFIO, for MSI-X interrupts in the guest:
 * ivshmem-doorbell only signals through MSI-X, which UIO cannot deliver,
 * and Debian's kernels lack VFIO no-IOMMU, so the guest needs an (emulated)
 * IOMMU. See doc/ivshmem.md. */
#ifndef VAMOS_IVSHMEM_GUEST_VFIO_H
#define VAMOS_IVSHMEM_GUEST_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vamos/ivshmem.h>

struct guest_vfio {
	int container, group, device;
	void *bar0, *bar2;
	size_t bar0_size, bar2_size;
	uint64_t bar0_offset; /* for pwrite when BAR0 cannot be mapped */
	int irq_fds[VAMOS_IVSHMEM_MAX_VECTORS];
	unsigned vectors; /* MSI-X vectors wired to irq_fds */
};

/*
 * Open @addr through VFIO, binding it to vfio-pci first if @bind and no
 * driver holds it; map BAR0 and BAR2, enable Bus Master (without it QEMU
 * drops MSI-X messages silently) and wire every MSI-X vector to an eventfd.
 * Returns 0 or a negative errno with @why naming what is missing.
 */
int guest_vfio_open(const char *sysfs, const char *addr, bool bind,
		    struct guest_vfio *out, const char **why);

/* Read BAR0 register @reg (mapped load, or pread). */
int guest_vfio_read32(struct guest_vfio *v, unsigned reg, uint32_t *value);

void guest_vfio_close(struct guest_vfio *v);

#endif
