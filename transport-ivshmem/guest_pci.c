/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_pci.h"

static long read_hex(const char *sysfs, const char *addr, const char *file)
{
	char path[PATH_MAX], buf[32];
	snprintf(path, sizeof path, "%s/bus/pci/devices/%s/%s", sysfs, addr, file);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char *ok = fgets(buf, sizeof buf, f);
	fclose(f);
	return ok ? strtol(buf, NULL, 16) : -1;
}

int pci_find_ivshmem(const char *sysfs, const char *want, char *addr, size_t len,
		     const char **why)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/bus/pci/devices", sysfs);
	DIR *d = opendir(dir);
	if (!d) {
		*why = "cannot read /sys/bus/pci/devices (is sysfs mounted?)";
		return -errno;
	}
	char best[64] = "";
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof best)
			continue;
		if (want && strcmp(want, e->d_name))
			continue;
		if (read_hex(sysfs, e->d_name, "vendor") != IVSHMEM_VENDOR ||
		    read_hex(sysfs, e->d_name, "device") != IVSHMEM_DEVICE)
			continue;
		/* The lowest address, so the choice does not depend on
		 * readdir's order. */
		if (!best[0] || strcmp(e->d_name, best) < 0)
			strcpy(best, e->d_name);
	}
	closedir(d);
	if (!best[0]) {
		*why = want ? "no ivshmem device (1af4:1110) at that PCI address"
			    : "no ivshmem device (1af4:1110) on the PCI bus";
		return -ENOENT;
	}
	snprintf(addr, len, "%s", best);
	return 0;
}

int pci_map_bar(const char *sysfs, const char *addr, int bar, void **map,
		size_t *size, const char **why)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof path, "%s/bus/pci/devices/%s/resource%d", sysfs, addr, bar);
	int fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		*why = bar == 2 ? "cannot open BAR2 (shared memory) in sysfs (root needed)"
				: "cannot open BAR0 (registers) in sysfs (root needed)";
		return -errno;
	}
	int rc = 0;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		rc = -EIO;
		*why = "BAR has no size in sysfs";
	} else {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			rc = -errno;
			*why = "cannot map the BAR";
		} else {
			*map = m;
			*size = (size_t)st.st_size;
		}
	}
	close(fd);
	return rc;
}

void pci_driver_name(const char *sysfs, const char *addr, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	snprintf(path, sizeof path, "%s/bus/pci/devices/%s/driver", sysfs, addr);
	ssize_t n = readlink(path, target, sizeof target - 1);
	if (n < 0) {
		snprintf(buf, len, "%s", "");
		return;
	}
	target[n] = 0;
	const char *slash = strrchr(target, '/');
	snprintf(buf, len, "%s", slash ? slash + 1 : target);
}

int pci_has_msix(const char *sysfs, const char *addr)
{
	char path[PATH_MAX];
	unsigned char cfg[256];
	snprintf(path, sizeof path, "%s/bus/pci/devices/%s/config", sysfs, addr);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, cfg, sizeof cfg, 0);
	close(fd);
	if (n < 64)
		return -EIO;
	/* Status bit 4: a capability list starts at 0x34. The walk stays in
	 * the bytes read and gives up after 48 hops (a looping list). */
	if (!(cfg[6] & 0x10))
		return 0;
	unsigned at = cfg[0x34] & 0xfc;
	for (int hops = 0; at >= 0x40 && at + 1 < (unsigned)n && hops < 48; hops++) {
		if (cfg[at] == 0x11)
			return 1;
		at = cfg[at + 1] & 0xfc;
	}
	return 0;
}
