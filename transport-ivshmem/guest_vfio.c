/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_pci.h"
#include "guest_vfio.h"

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4

static int write_sysfs(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	int rc = n < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Make sure vfio-pci drives @addr. */
static int bind_vfio(const char *sysfs, const char *addr, bool bind, const char **why)
{
	char drv[64], path[PATH_MAX];
	pci_driver_name(sysfs, addr, drv, sizeof drv);
	if (!strcmp(drv, "vfio-pci"))
		return 0;
	if (drv[0]) {
		*why = "the ivshmem device is held by another driver, not vfio-pci";
		return -EBUSY;
	}
	if (!bind) {
		*why = "the ivshmem device is not bound to vfio-pci";
		return -ENODEV;
	}
	snprintf(path, sizeof path, "%s/bus/pci/drivers/vfio-pci", sysfs);
	if (access(path, F_OK) < 0) {
		*why = "vfio-pci is not loaded (modprobe vfio-pci)";
		return -ENODEV;
	}
	snprintf(path, sizeof path, "%s/bus/pci/devices/%s/driver_override", sysfs, addr);
	int rc = write_sysfs(path, "vfio-pci");
	if (rc == 0) {
		snprintf(path, sizeof path, "%s/bus/pci/drivers_probe", sysfs);
		rc = write_sysfs(path, addr);
	}
	pci_driver_name(sysfs, addr, drv, sizeof drv);
	if (rc || strcmp(drv, "vfio-pci")) {
		*why = "binding the ivshmem device to vfio-pci failed (no IOMMU? boot with intel_iommu=on)";
		return rc ? rc : -ENODEV;
	}
	return 0;
}

static int group_of(const char *sysfs, const char *addr, const char **why)
{
	char path[PATH_MAX], target[PATH_MAX];
	snprintf(path, sizeof path, "%s/bus/pci/devices/%s/iommu_group", sysfs, addr);
	ssize_t n = readlink(path, target, sizeof target - 1);
	if (n < 0) {
		*why = "the device has no IOMMU group (add -device intel-iommu and intel_iommu=on)";
		return -ENODEV;
	}
	target[n] = 0;
	const char *slash = strrchr(target, '/');
	return atoi(slash ? slash + 1 : target);
}

static int map_region(struct guest_vfio *v, unsigned index, void **map,
		      size_t *size, uint64_t *offset)
{
	struct vfio_region_info info = { .argsz = sizeof info, .index = index };
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
		return -errno;
	*size = info.size;
	if (offset)
		*offset = info.offset;
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return -ENOTSUP;
	void *m = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       v->device, (off_t)info.offset);
	if (m == MAP_FAILED)
		return -errno;
	*map = m;
	return 0;
}

static int enable_bus_master(struct guest_vfio *v)
{
	struct vfio_region_info info = { .argsz = sizeof info,
					 .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd;
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
		return -errno;
	off_t at = (off_t)info.offset + PCI_COMMAND;
	if (pread(v->device, &cmd, sizeof cmd, at) != (ssize_t)sizeof cmd)
		return -EIO;
	cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	if (pwrite(v->device, &cmd, sizeof cmd, at) != (ssize_t)sizeof cmd)
		return -EIO;
	return 0;
}

static int wire_msix(struct guest_vfio *v)
{
	struct vfio_irq_info irq = { .argsz = sizeof irq, .index = VFIO_PCI_MSIX_IRQ_INDEX };
	if (ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, &irq) < 0)
		return -errno;
	if (irq.count == 0)
		return -ENOTSUP;
	unsigned n = irq.count < VAMOS_IVSHMEM_MAX_VECTORS ? irq.count
							   : VAMOS_IVSHMEM_MAX_VECTORS;
	size_t argsz = sizeof(struct vfio_irq_set) + n * sizeof(int);
	struct vfio_irq_set *set = calloc(1, argsz);
	if (!set)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		v->irq_fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->irq_fds[i] < 0) {
			free(set);
			return -errno;
		}
		v->vectors = i + 1;
	}
	set->argsz = (uint32_t)argsz;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	set->count = n;
	memcpy(set->data, v->irq_fds, n * sizeof(int));
	int rc = ioctl(v->device, VFIO_DEVICE_SET_IRQS, set) < 0 ? -errno : 0;
	free(set);
	return rc;
}

int guest_vfio_open(const char *sysfs, const char *addr, bool bind,
		    struct guest_vfio *v, const char **why)
{
	char path[PATH_MAX];
	int rc;

	memset(v, 0, sizeof *v);
	v->container = v->group = v->device = -1;
	for (unsigned i = 0; i < VAMOS_IVSHMEM_MAX_VECTORS; i++)
		v->irq_fds[i] = -1;

	if ((rc = bind_vfio(sysfs, addr, bind, why)))
		return rc;
	int group = group_of(sysfs, addr, why);
	if (group < 0)
		return group;
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		*why = "cannot open /dev/vfio/vfio";
		return -errno;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU)) {
		*why = "VFIO API or type1 IOMMU not supported";
		rc = -ENOTSUP;
		goto fail;
	}
	snprintf(path, sizeof path, "/dev/vfio/%d", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		rc = -errno;
		*why = "cannot open the VFIO group (is another process using it?)";
		goto fail;
	}
	struct vfio_group_status status = { .argsz = sizeof status };
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &status) < 0 ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		*why = "VFIO group not viable (other devices of the group are not bound to vfio-pci)";
		rc = -EBUSY;
		goto fail;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0 ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0) {
		rc = -errno;
		*why = "cannot attach the VFIO group to a type1 container";
		goto fail;
	}
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, addr);
	if (v->device < 0) {
		rc = -errno;
		*why = "cannot get the VFIO device";
		goto fail;
	}
	if ((rc = map_region(v, VFIO_PCI_BAR2_REGION_INDEX, &v->bar2, &v->bar2_size, NULL))) {
		*why = "cannot map BAR2 (shared memory) through VFIO";
		goto fail;
	}
	/* BAR0 is 256 bytes; if VFIO will not map it, pwrite reaches it. */
	v->bar0 = NULL;
	if (map_region(v, VFIO_PCI_BAR0_REGION_INDEX, &v->bar0, &v->bar0_size,
		       &v->bar0_offset))
		v->bar0 = NULL;
	if ((rc = enable_bus_master(v))) {
		*why = "cannot enable Bus Master in PCI config";
		goto fail;
	}
	if ((rc = wire_msix(v))) {
		*why = "cannot wire MSI-X vectors to eventfds (is it ivshmem-doorbell?)";
		goto fail;
	}
	return 0;
fail:
	guest_vfio_close(v);
	return rc;
}


int guest_vfio_read32(struct guest_vfio *v, unsigned reg, uint32_t *value)
{
	if (v->bar0) {
		*value = *(volatile uint32_t *)((unsigned char *)v->bar0 + reg);
		return 0;
	}
	ssize_t n = pread(v->device, value, sizeof *value, (off_t)(v->bar0_offset + reg));
	return n == (ssize_t)sizeof *value ? 0 : -EIO;
}

void guest_vfio_close(struct guest_vfio *v)
{
	if (v->device >= 0 && v->vectors) {
		struct vfio_irq_set off = { .argsz = sizeof off,
					    .flags = VFIO_IRQ_SET_DATA_NONE |
						     VFIO_IRQ_SET_ACTION_TRIGGER,
					    .index = VFIO_PCI_MSIX_IRQ_INDEX };
		ioctl(v->device, VFIO_DEVICE_SET_IRQS, &off);
	}
	for (unsigned i = 0; i < VAMOS_IVSHMEM_MAX_VECTORS; i++)
		if (v->irq_fds[i] >= 0)
			close(v->irq_fds[i]);
	if (v->bar2)
		munmap(v->bar2, v->bar2_size);
	if (v->bar0)
		munmap(v->bar0, v->bar0_size);
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	memset(v, 0, sizeof *v);
	v->container = v->group = v->device = -1;
	for (unsigned i = 0; i < VAMOS_IVSHMEM_MAX_VECTORS; i++)
		v->irq_fds[i] = -1;
}
