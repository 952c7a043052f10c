/* SPDX-License-Identifier: MIT */
/*
 * vamosctl: ask a running vamosd.
 *
 *   vamosctl [--control PATH] stats [--prometheus]
 *   vamosctl [--control PATH] ping
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = "/run/vamos/control.sock";
	char cmd[128] = "";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--control") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "stats") || !strcmp(argv[i], "ping"))
			snprintf(cmd, sizeof cmd, "%s", argv[i]);
		else if (!strcmp(argv[i], "--prometheus") && !strcmp(cmd, "stats"))
			snprintf(cmd, sizeof cmd, "stats prometheus");
		else {
			fprintf(stderr, "usage: vamosctl [--control PATH] stats [--prometheus] | ping\n");
			return 2;
		}
	}
	if (!cmd[0]) {
		fprintf(stderr, "usage: vamosctl [--control PATH] stats [--prometheus] | ping\n");
		return 2;
	}
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path) {
		fprintf(stderr, "vamosctl: control socket path too long\n");
		return 2;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		fprintf(stderr, "vamosctl: cannot reach vamosd at %s (is it running?)\n", path);
		return 1;
	}
	strcat(cmd, "\n");
	if (write(fd, cmd, strlen(cmd)) < 0) {
		fprintf(stderr, "vamosctl: cannot send the command\n");
		return 1;
	}
	char buf[4096];
	ssize_t n;
	int any = 0;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		any = 1;
	}
	close(fd);
	if (!any) {
		fprintf(stderr, "vamosctl: vamosd closed the connection without answering\n");
		return 1;
	}
	return strncmp(buf, "error:", 6) ? 0 : 1;
}
