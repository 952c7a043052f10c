/* SPDX-License-Identifier: MIT */
/* The fd store stand-in: see fdstore_standin.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdstore_standin.h"

#define FIRST_FD 3

const char *standin_open(struct standin *s)
{
	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "/tmp/vamos-fdstore-XXXXXX");
	if (!mkdtemp(s->dir))
		return "mkdtemp failed";
	snprintf(s->path, sizeof s->path, "%s/notify.sock", s->dir);
	s->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", s->path);
	if (s->sock < 0 || bind(s->sock, (struct sockaddr *)&a, sizeof a) < 0)
		return "cannot bind the notify socket";
	return NULL;
}

static void drop_name(struct standin *s, const char *name)
{
	for (unsigned i = 0; i < s->n;)
		if (!strcmp(s->names[i], name)) {
			close(s->fds[i]);
			s->n--;
			s->fds[i] = s->fds[s->n];
			memcpy(s->names[i], s->names[s->n], sizeof s->names[i]);
		} else {
			i++;
		}
}

/* One datagram: "KEY=VALUE" lines, maybe with descriptors. */
static void handle(struct standin *s, char *text, const int *fds, unsigned nfds)
{
	bool store = false, remove = false;
	const char *name = "stored";
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(l, "FDSTORE=1"))
			store = true;
		else if (!strcmp(l, "FDSTOREREMOVE=1"))
			remove = true;
		else if (!strncmp(l, "FDNAME=", 7))
			name = l + 7;
		else if (!strcmp(l, "READY=1"))
			s->ready++;
		else if (!strcmp(l, "STOPPING=1"))
			s->stopping++;
	}
	if (remove)
		drop_name(s, name);
	for (unsigned i = 0; i < nfds; i++) {
		if (store && s->n < STANDIN_MAX_FDS && strlen(name) < sizeof s->names[0]) {
			s->fds[s->n] = fds[i];
			snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
			s->n++;
		} else {
			s->bad++;
			close(fds[i]);
		}
	}
}

int standin_pump(struct standin *s, int ms)
{
	int taken = 0;
	for (;;) {
		struct pollfd p = { .fd = s->sock, .events = POLLIN };
		if (poll(&p, 1, taken ? 0 : ms) <= 0)
			return taken;
		char buf[4096];
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int) * 253)];
		} ctl;
		struct iovec iov = { buf, sizeof buf - 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
				    .msg_controllen = sizeof ctl.b };
		ssize_t got = recvmsg(s->sock, &m, MSG_CMSG_CLOEXEC);
		if (got < 0)
			return taken;
		buf[got] = 0;
		int fds[253];
		unsigned n = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
				memcpy(fds + n, CMSG_DATA(c), sizeof(int) * k);
				n += k;
			}
		handle(s, buf, fds, n);
		taken++;
	}
}

unsigned standin_count(const struct standin *s, const char *prefix)
{
	unsigned c = 0;
	for (unsigned i = 0; i < s->n; i++)
		c += !strncmp(s->names[i], prefix, strlen(prefix));
	return c;
}

void standin_child_env(struct standin *s)
{
	/* Out of the way first, so moving one to 3 + i clobbers no other. */
	int high[STANDIN_MAX_FDS];
	for (unsigned i = 0; i < s->n; i++)
		high[i] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, FIRST_FD + STANDIN_MAX_FDS + 64);
	static char names[STANDIN_MAX_FDS * 257];
	size_t off = 0;
	for (unsigned i = 0; i < s->n; i++) {
		dup2(high[i], FIRST_FD + (int)i); /* dup2 clears close-on-exec */
		close(high[i]);
		off += (size_t)snprintf(names + off, sizeof names - off, "%s%s", i ? ":" : "",
					s->names[i]);
	}
	char v[32];
	setenv("NOTIFY_SOCKET", s->path, 1);
	if (s->n) {
		snprintf(v, sizeof v, "%u", s->n);
		setenv("LISTEN_FDS", v, 1);
		setenv("LISTEN_FDNAMES", names, 1);
		snprintf(v, sizeof v, "%d", (int)getpid());
		setenv("LISTEN_PID", v, 1);
	}
}

void standin_close(struct standin *s)
{
	for (unsigned i = 0; i < s->n; i++)
		close(s->fds[i]);
	s->n = 0;
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
	unlink(s->path);
	rmdir(s->dir);
}
