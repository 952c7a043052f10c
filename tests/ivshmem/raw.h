/* SPDX-License-Identifier: MIT */
/* Raw protocol helpers for tests that play a misbehaving peer or server. */
#ifndef VAMOS_TEST_IVSHMEM_RAW_H
#define VAMOS_TEST_IVSHMEM_RAW_H

#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../transport-ivshmem/wire.h"

/* A socket connected to @path, or -1. */
static inline int raw_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path)
		return -1;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Open descriptors of this process right now. */
static inline int raw_fd_count(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#endif
