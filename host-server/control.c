/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

int control_listen(const char *path, const char **why)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path) {
		*why = "control socket path too long";
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*why = "control socket path exists and is not a socket";
			return -EEXIST;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int alive = probe >= 0 &&
			    connect(probe, (struct sockaddr *)&addr, sizeof addr) == 0;
		if (probe >= 0)
			close(probe);
		if (alive) {
			*why = "another vamosd answers on the control socket";
			return -EADDRINUSE;
		}
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Stats are for the host's operators: owner and group only. */
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || chmod(path, 0660) < 0 ||
	    listen(fd, 16) < 0) {
		int rc = -errno;
		*why = "cannot listen on the control socket";
		close(fd);
		return rc;
	}
	return fd;
}

void control_serve(int listen_fd, const struct daemon_view *d)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* A client that never finishes its line cannot hold the main thread
	 * for more than a second. */
	struct timeval tv = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char cmd[128];
	size_t got = 0;
	while (got < sizeof cmd - 1) {
		ssize_t n = read(fd, cmd + got, sizeof cmd - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(cmd, '\n', got))
			break;
	}
	cmd[got] = 0;
	cmd[strcspn(cmd, "\r\n")] = 0;

	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out) {
		close(fd);
		return;
	}
	if (!strcmp(cmd, "stats"))
		stats_table(out, d);
	else if (!strcmp(cmd, "stats prometheus"))
		stats_prometheus(out, d);
	else if (!strcmp(cmd, "ping"))
		fprintf(out, "pong %016llx\n", (unsigned long long)d->boot_id);
	else
		fprintf(out, "error: unknown command '%s' (stats, stats prometheus, ping)\n", cmd);
	fclose(out);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(text);
	close(fd);
}
