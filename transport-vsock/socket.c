/* SPDX-License-Identifier: MIT */
/* Getting a connected stream socket: AF_UNIX paths and AF_VSOCK ports,
 * connecting, listening and accepting. */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "stream_internal.h"

/* connect(), finishing a connection that a signal interrupted. */
static int connect_fd(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (connect(fd, addr, len) == 0)
		return 0;
	if (errno != EINTR)
		return -errno;
	/* The connection goes on in the background: wait for its outcome. */
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	int err = 0;
	socklen_t elen = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
		return -errno;
	return -err;
}

/* A new stream socket of @family connected to @addr, or a negative errno. */
static int connected_socket(int family, const struct sockaddr *addr, socklen_t len)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = connect_fd(fd, addr, len);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* A new stream socket of @family bound to @addr and listening, or a
 * negative errno. */
static int listening_socket(int family, const struct sockaddr *addr,
			    socklen_t len, int backlog)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, addr, len) || listen(fd, backlog)) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Fill @sun for filesystem @path. Returns 0, -EINVAL or -ENAMETOOLONG. */
static int unix_address(const char *path, struct sockaddr_un *sun)
{
	if (!path || !*path)
		return -EINVAL;
	size_t n = strlen(path);
	if (n >= sizeof sun->sun_path)
		return -ENAMETOOLONG;
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	return 0;
}

int vamos_stream_connect_unix(const char *path,
			      const struct vamos_stream_params *params,
			      struct vamos_chan **out)
{
	struct sockaddr_un sun;
	int rc = unix_address(path, &sun);
	if (rc)
		return rc;
	if (!out || !vamos_stream_max_frame_of(params))
		return -EINVAL;
	int fd = connected_socket(AF_UNIX, (struct sockaddr *)&sun, sizeof sun);
	if (fd < 0)
		return fd;
	return vamos_stream_open_fd(fd, params, out);
}

int vamos_stream_listen_unix(const char *path, int backlog)
{
	struct sockaddr_un sun;
	int rc = unix_address(path, &sun);
	if (rc)
		return rc;
	return listening_socket(AF_UNIX, (struct sockaddr *)&sun, sizeof sun, backlog);
}

int vamos_stream_accept(int listen_fd, const struct vamos_stream_params *params,
			struct vamos_chan **out)
{
	int fd;

	/* Refuse bad arguments before taking a connection off the queue. */
	if (listen_fd < 0 || !out || !vamos_stream_max_frame_of(params))
		return -EINVAL;
	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd < 0)
		return -errno;
	return vamos_stream_open_fd(fd, params, out);
}

/* Fill @svm for @cid and @port. */
static void vsock_address(uint32_t cid, uint32_t port, struct sockaddr_vm *svm)
{
	memset(svm, 0, sizeof *svm);
	svm->svm_family = AF_VSOCK;
	svm->svm_cid = cid;
	svm->svm_port = port;
}

int vamos_vsock_connect(uint32_t cid, uint32_t port,
			const struct vamos_stream_params *params,
			struct vamos_chan **out)
{
	struct sockaddr_vm svm;

	if (cid == VMADDR_CID_ANY || port == VMADDR_PORT_ANY || !out ||
	    !vamos_stream_max_frame_of(params))
		return -EINVAL;
	vsock_address(cid, port, &svm);
	int fd = connected_socket(AF_VSOCK, (struct sockaddr *)&svm, sizeof svm);
	if (fd < 0)
		return fd;
	return vamos_stream_open_fd(fd, params, out);
}

int vamos_vsock_listen(uint32_t port, int backlog)
{
	struct sockaddr_vm svm;

	if (port == VMADDR_PORT_ANY)
		return -EINVAL;
	vsock_address(VMADDR_CID_ANY, port, &svm);
	return listening_socket(AF_VSOCK, (struct sockaddr *)&svm, sizeof svm, backlog);
}
