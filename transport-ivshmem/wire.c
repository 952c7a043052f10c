/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

int wire_send(int sock, int64_t value, int fd)
{
	uint64_t le = htole64((uint64_t)value);
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof le };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&control, 0, sizeof control);
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof control.buf;
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
	}
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* Eight bytes always fit a non-full socket at once; a short send
	 * would split a message, which the protocol cannot express. */
	return n == (ssize_t)sizeof le ? 0 : -EPIPE;
}

static int wait_readable(int sock, int timeout_ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int rc;
	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return rc == 0 ? -EAGAIN : 0;
}

/* Close every descriptor in @msg's control data; return how many. */
static int take_fds(struct msghdr *msg, int *first)
{
	int count = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (count == 0 && first)
				*first = fd;
			else
				close(fd);
			count++;
		}
	}
	return count;
}

int wire_recv(int sock, int timeout_ms, int64_t *value, int *fd,
	      const char **why)
{
	unsigned char bytes[8];
	size_t got = 0;
	int rc;

	*fd = -1;
	while (got < sizeof bytes) {
		/* The rest of a started message gets a second to arrive. */
		rc = wait_readable(sock, got ? 1000 : timeout_ms);
		if (rc < 0) {
			if (got == 0 || rc != -EAGAIN)
				goto fail;
			*why = "message cut short";
			rc = -EPROTO;
			goto fail;
		}
		/* Room for a few descriptors, so a message carrying more than
		 * one is seen (and refused) rather than silently truncated. */
		union {
			char buf[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = bytes + got,
				     .iov_len = sizeof bytes - got };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = control.buf,
				      .msg_controllen = sizeof control.buf };
		ssize_t n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = -errno;
			goto fail;
		}
		int fds = take_fds(&msg, *fd < 0 ? fd : NULL);
		if (n == 0) {
			if (got == 0)
				return 0;
			*why = "connection closed inside a message";
			rc = -EPROTO;
			goto fail;
		}
		/* Trust checks: at most one descriptor per message, attached
		 * to its first byte, and nothing was cut off. */
		if ((msg.msg_flags & MSG_CTRUNC) || fds > 1 || (fds > 0 && got > 0)) {
			*why = "message carries more than one descriptor";
			rc = -EPROTO;
			goto fail;
		}
		got += (size_t)n;
	}
	uint64_t le;
	memcpy(&le, bytes, sizeof le);
	*value = (int64_t)le64toh(le);
	return 1;
fail:
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}
