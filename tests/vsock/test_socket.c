/* SPDX-License-Identifier: MIT */
/* Listening, accepting and connecting over an AF_UNIX path in a temporary
 * directory; argument checks of the vsock calls (which return before any
 * socket exists: nothing here ever touches AF_VSOCK). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "helpers.h"

static char dir[64], path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/vamos-vsock-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sock", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(vsock_socket, .init = setup, .fini = teardown, .timeout = 60);

Test(vsock_socket, listen_connect_accept_exchange)
{
	int lfd = vamos_stream_listen_unix(path, 4);
	cr_assert_geq(lfd, 0, "listen: %d", lfd);
	cr_assert(fcntl(lfd, F_GETFD) & FD_CLOEXEC);

	struct vamos_chan *guest, *host;
	/* The backlog completes the connection before accept. */
	cr_assert_eq(vamos_stream_connect_unix(path, NULL, &guest), 0);
	cr_assert_eq(vamos_stream_accept(lfd, NULL, &host), 0);
	cr_assert_str_eq(vamos_chan_transport(guest), "unix");
	cr_assert_str_eq(vamos_chan_transport(host), "unix");

	for (uint64_t i = 0; i < 100; i++)
		cr_assert_eq(vt_send(guest, 1, i, (uint32_t)i * 3), 0);
	cr_assert_eq(vamos_chan_flush(guest), 0);
	struct vamos_record r[128];
	uint64_t got = 0;
	while (got < 100) {
		cr_assert_eq(vamos_chan_wait(host, 5000), 1);
		int n = vamos_chan_poll(host, r, 128);
		cr_assert_gt(n, 0);
		for (int i = 0; i < n; i++, got++) {
			cr_assert_eq(r[i].len, got * 3);
			cr_assert(vt_check(r[i].data, got, r[i].len));
			/* Reply with the same bytes. */
			void *p;
			cr_assert_eq(vamos_chan_reserve(host, r[i].len, &p), 0);
			memcpy(p, r[i].data, r[i].len);
			cr_assert_eq(vamos_chan_commit(host, 2, r[i].len), 0);
		}
		vamos_chan_release(host);
		cr_assert_eq(vamos_chan_flush(host), 0);
	}
	got = 0;
	while (got < 100) {
		cr_assert_eq(vamos_chan_wait(guest, 5000), 1);
		int n = vamos_chan_poll(guest, r, 128);
		cr_assert_gt(n, 0);
		for (int i = 0; i < n; i++, got++) {
			cr_assert_eq(r[i].type, 2);
			cr_assert(vt_check(r[i].data, got, (uint32_t)got * 3));
		}
		vamos_chan_release(guest);
	}

	/* A second client on the same listener. */
	struct vamos_chan *guest2, *host2;
	cr_assert_eq(vamos_stream_connect_unix(path, NULL, &guest2), 0);
	cr_assert_eq(vamos_stream_accept(lfd, NULL, &host2), 0);
	cr_assert_eq(vt_send(host2, 9, 9, 9), 0);
	cr_assert_eq(vamos_chan_flush(host2), 0);
	cr_assert_eq(vamos_chan_wait(guest2, 5000), 1);
	cr_assert_eq(vamos_chan_poll(guest2, r, 1), 1);
	cr_assert(vt_check(r[0].data, 9, 9));

	vamos_chan_close(guest2);
	cr_assert_eq(vamos_chan_wait(host2, 5000), -ECONNRESET, "client went away");
	vamos_chan_close(host2);
	vamos_chan_close(guest);
	vamos_chan_close(host);
	close(lfd);
}

Test(vsock_socket, listen_refuses_an_existing_path)
{
	int lfd = vamos_stream_listen_unix(path, 1);
	cr_assert_geq(lfd, 0);
	cr_assert_eq(vamos_stream_listen_unix(path, 1), -EADDRINUSE);
	close(lfd);
	/* Stale socket file: still refused until the caller unlinks it. */
	cr_assert_eq(vamos_stream_listen_unix(path, 1), -EADDRINUSE);
	unlink(path);
	lfd = vamos_stream_listen_unix(path, 1);
	cr_assert_geq(lfd, 0);
	close(lfd);
}

Test(vsock_socket, connect_and_accept_errors)
{
	struct vamos_chan *ch = NULL;
	cr_assert_eq(vamos_stream_connect_unix(path, NULL, &ch), -ENOENT);
	cr_assert_eq(vamos_stream_connect_unix("", NULL, &ch), -EINVAL);
	cr_assert_eq(vamos_stream_connect_unix(NULL, NULL, &ch), -EINVAL);
	char longpath[200];
	memset(longpath, 'x', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = 0;
	cr_assert_eq(vamos_stream_connect_unix(longpath, NULL, &ch), -ENAMETOOLONG);
	cr_assert_eq(vamos_stream_listen_unix(longpath, 1), -ENAMETOOLONG);

	/* A listener closed meanwhile: the path refuses connections. */
	int lfd = vamos_stream_listen_unix(path, 1);
	cr_assert_geq(lfd, 0);
	close(lfd);
	cr_assert_eq(vamos_stream_connect_unix(path, NULL, &ch), -ECONNREFUSED);
	unlink(path);

	/* Nonblocking listener, nobody waiting. */
	lfd = vamos_stream_listen_unix(path, 1);
	cr_assert_geq(lfd, 0);
	cr_assert_eq(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
	int rc = vamos_stream_accept(lfd, NULL, &ch);
	cr_assert(rc == -EAGAIN || rc == -EWOULDBLOCK, "%d", rc);
	cr_assert_eq(vamos_stream_accept(-1, NULL, &ch), -EINVAL);

	/* Bad params are refused before a connection is taken or made. */
	struct vamos_chan *client;
	struct vamos_stream_params bad = {.max_frame = 12345};
	cr_assert_eq(vamos_stream_connect_unix(path, NULL, &client), 0);
	cr_assert_eq(fcntl(lfd, F_SETFL, 0), 0);
	cr_assert_eq(vamos_stream_accept(lfd, &bad, &ch), -EINVAL);
	cr_assert_null(ch);
	cr_assert_eq(vamos_stream_accept(lfd, NULL, &ch), 0, "still queued");
	vamos_chan_close(ch);
	cr_assert_eq(vamos_chan_wait(client, 5000), -ECONNRESET);
	vamos_chan_close(client);
	cr_assert_eq(vamos_stream_connect_unix(path, &bad, &client), -EINVAL);
	cr_assert_eq(vamos_vsock_connect(3, 5000, &bad, &client), -EINVAL);
	close(lfd);
}

Test(vsock_socket, vsock_arguments_checked_before_any_socket)
{
	struct vamos_chan *ch = NULL;
	cr_assert_eq(vamos_vsock_connect(VMADDR_CID_ANY, 5000, NULL, &ch), -EINVAL);
	cr_assert_eq(vamos_vsock_connect(3, VMADDR_PORT_ANY, NULL, &ch), -EINVAL);
	cr_assert_eq(vamos_vsock_listen(VMADDR_PORT_ANY, 1), -EINVAL);
	cr_assert_null(ch);
}
