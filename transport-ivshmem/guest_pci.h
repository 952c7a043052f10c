/* SPDX-License-Identifier: MIT */
/* Finding the ivshmem PCI device in sysfs and mapping its BARs there
 * (root, no driver needed). */
#ifndef VAMOS_IVSHMEM_GUEST_PCI_H
#define VAMOS_IVSHMEM_GUEST_PCI_H

#include <stddef.h>

#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110

/* BAR0 registers (QEMU's ivshmem spec). */
#define IVSHMEM_REG_IVPOSITION 8
#define IVSHMEM_REG_DOORBELL 12

/*
 * Find 1af4:1110 under @sysfs/bus/pci/devices: @want (an address) or, if
 * NULL, the lowest address of any such device. Copies the address to @addr.
 * Returns 0 or -ENOENT/-errno with @why.
 */
int pci_find_ivshmem(const char *sysfs, const char *want, char *addr, size_t len,
		     const char **why);

/* Map BAR @bar of @addr through sysfs resourceN (O_RDWR|O_SYNC). */
int pci_map_bar(const char *sysfs, const char *addr, int bar, void **map,
		size_t *size, const char **why);

/* 1 if @addr has an MSI-X capability (ivshmem-doorbell with vectors),
 * 0 if not (ivshmem-plain), -errno if its config space cannot be read. */
int pci_has_msix(const char *sysfs, const char *addr);

/* Name of the driver bound to @addr into @buf ("" if none). */
void pci_driver_name(const char *sysfs, const char *addr, char *buf, size_t len);

#endif
