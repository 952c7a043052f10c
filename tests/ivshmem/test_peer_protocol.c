/* SPDX-License-Identifier: MIT */
/* A local peer facing a server that breaks QEMU's protocol: every malformed
 * welcome is refused with its own reason, no descriptor leaks, nothing is
 * mapped that should not be. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vamos/ivshmem.h>

#include "harness.h"
#include "raw.h"

/* One scripted message: a value and what rides with it. */
enum att { NONE, EVENTFD, SHM, SHM_ODD, SHM_BLANK, TWO_FDS, HALF, SILENCE };
struct msg {
	int64_t value;
	enum att att;
};
#define END { 0, SILENCE + 1 }

struct script {
	const char *name;
	struct msg msgs[16];
	int rc;                 /* expected from vamos_ivshmem_peer_connect */
	const char *why_part;   /* expected in why */
};

static int make_shm(uint64_t size, int lay_out)
{
	int fd = memfd_create("fake-ivshmem", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	if (lay_out) {
		struct vamos_region_params p = { 1, 1u << 12, 1u << 12 };
		struct vamos_region r;
		void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		cr_assert_neq(m, MAP_FAILED);
		cr_assert_eq(vamos_region_init(m, size, &p, &r), 0);
		munmap(m, size);
	}
	return fd;
}

static void send_two_fds(int sock, int64_t value)
{
	int fds[2] = { eventfd(0, 0), eventfd(0, 0) };
	char control[CMSG_SPACE(sizeof fds)];
	struct iovec iov = { &value, sizeof value };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = control, .msg_controllen = sizeof control };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	sendmsg(sock, &m, MSG_NOSIGNAL);
	close(fds[0]);
	close(fds[1]);
}

struct fake {
	int listen_fd;
	const struct script *script;
};

static void *fake_server(void *arg)
{
	struct fake *f = arg;
	int sock = accept(f->listen_fd, NULL, NULL);
	if (sock < 0)
		return NULL;
	for (const struct msg *m = f->script->msgs; m->att <= SILENCE; m++) {
		int fd = -1;
		switch (m->att) {
		case NONE: break;
		case EVENTFD: fd = eventfd(0, 0); break;
		case SHM: fd = make_shm(1u << 16, 1); break;
		case SHM_ODD: fd = make_shm(3000, 0); break;
		case SHM_BLANK: fd = make_shm(1u << 16, 0); break;
		case TWO_FDS: send_two_fds(sock, m->value); continue;
		case HALF: {
			char half[4] = { 0 };
			send(sock, half, sizeof half, MSG_NOSIGNAL);
			continue;
		}
		case SILENCE: {
			char c;
			/* Hold the line until the peer gives up. */
			if (read(sock, &c, 1) < 0) {
			}
			continue;
		}
		}
		wire_send(sock, m->value, fd);
		if (fd >= 0)
			close(fd);
	}
	close(sock);
	return NULL;
}

#define WELCOME_OK { 0, NONE }, { 1, NONE }, { -1, SHM }
static const struct script scripts[] = {
	{ "wrong version", { { 1, NONE }, END }, -EPROTO, "another protocol version" },
	{ "fd on version", { { 0, EVENTFD }, END }, -EPROTO, "version came with a descriptor" },
	{ "host's id", { { 0, NONE }, { 0, NONE }, END }, -EPROTO, "out of range" },
	{ "id too large", { { 0, NONE }, { 70000, NONE }, END }, -EPROTO, "out of range" },
	{ "negative id", { { 0, NONE }, { -5, NONE }, END }, -EPROTO, "out of range" },
	{ "fd on id", { { 0, NONE }, { 1, EVENTFD }, END }, -EPROTO, "id came with a descriptor" },
	{ "no memory", { { 0, NONE }, { 1, NONE }, { 5, EVENTFD }, END }, -EPROTO,
	  "did not send the shared memory" },
	{ "memory not a power of two", { { 0, NONE }, { 1, NONE }, { -1, SHM_ODD }, END },
	  -EPROTO, "power of two" },
	{ "memory twice", { WELCOME_OK, { -1, SHM }, END }, -EPROTO, "shared memory twice" },
	{ "two fds in a message", { WELCOME_OK, { 0, TWO_FDS }, END }, -EPROTO,
	  "more than one descriptor" },
	{ "half a message", { WELCOME_OK, { 0, HALF }, END }, -EPROTO, "inside a message" },
	{ "peer id out of range later", { WELCOME_OK, { 99999, EVENTFD }, END }, -EPROTO,
	  "out of range" },
	{ "own departure", { WELCOME_OK, { 1, NONE }, END }, -EPROTO, "our own departure" },
	{ "too many host fds", { WELCOME_OK, { 0, EVENTFD }, { 0, EVENTFD }, { 0, EVENTFD }, END },
	  -EPROTO, "the VM has more vectors" },
	{ "fewer host fds than vectors", { WELCOME_OK, { 0, EVENTFD }, { 1, EVENTFD }, END },
	  -EPROTO, "the VM has fewer vectors" },
	{ "host not announced", { WELCOME_OK, { 1, EVENTFD }, { 1, EVENTFD }, END }, -EPROTO,
	  "did not announce the host" },
	{ "host leaves in welcome", { WELCOME_OK, { 0, EVENTFD }, { 0, NONE }, END },
	  -ECONNRESET, "host left" },
	{ "closed early", { { 0, NONE }, END }, -ECONNRESET, "closed the connection" },
	{ "silent server", { { 0, NONE }, { 0, SILENCE }, END }, -EAGAIN, "in time" },
	{ "a correct welcome (control)", { WELCOME_OK, { 0, EVENTFD }, { 0, EVENTFD }, { 1, EVENTFD },
				   { 1, EVENTFD }, END }, 0, NULL },
	{ "blank memory", { { 0, NONE }, { 1, NONE }, { -1, SHM_BLANK }, { 0, EVENTFD },
			    { 0, EVENTFD }, { 1, EVENTFD }, { 1, EVENTFD }, END }, -EAGAIN, NULL },
};

Test(ivshmem_peer, refuses_every_malformed_welcome)
{
	char dir[64], path[128];
	cr_assert(harness_tmpdir(dir, sizeof dir)[0]);
	snprintf(path, sizeof path, "%s/fake.sock", dir);
	for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
		const struct script *s = &scripts[i];
		int fds_before = raw_fd_count();
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		strcpy(addr.sun_path, path);
		int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_eq(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
		cr_assert_eq(listen(lfd, 1), 0);
		struct fake f = { lfd, s };
		pthread_t t;
		pthread_create(&t, NULL, fake_server, &f);

		struct vamos_ivshmem_peer *p = NULL;
		const char *why = NULL;
		int rc = vamos_ivshmem_peer_connect(path, 2, 300, &p, &why);
		cr_expect_eq(rc, s->rc, "%s: rc %d (%s)", s->name, rc, why ? why : "");
		if (s->why_part)
			cr_expect(why && strstr(why, s->why_part), "%s: why '%s'", s->name,
				  why ? why : "(none)");
		vamos_ivshmem_peer_close(p);
		pthread_join(t, NULL);
		close(lfd);
		unlink(path);
		cr_expect_eq(raw_fd_count(), fds_before, "%s: descriptors leaked (%d -> %d)", s->name, fds_before, raw_fd_count());
	}
	rmdir(dir);
}

/* After a good welcome, later garbage is caught by dispatch. */
Test(ivshmem_peer, dispatch_refuses_later_garbage)
{
	char dir[64], path[128];
	static const struct script s = {
		"later garbage",
		{ WELCOME_OK, { 0, EVENTFD }, { 1, EVENTFD }, { 3, EVENTFD }, { 3, NONE },
		  { 1, EVENTFD }, END },
		0, NULL,
	};
	cr_assert(harness_tmpdir(dir, sizeof dir)[0]);
	snprintf(path, sizeof path, "%s/fake.sock", dir);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strcpy(addr.sun_path, path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
	cr_assert_eq(listen(lfd, 1), 0);
	struct fake f = { lfd, &s };
	pthread_t t;
	pthread_create(&t, NULL, fake_server, &f);
	struct vamos_ivshmem_peer *p;
	const char *why = NULL;
	cr_assert_eq(vamos_ivshmem_peer_connect(path, 1, 2000, &p, &why), 0, "%s", why);
	pthread_join(t, NULL);
	struct vamos_chan *ch;
	cr_assert_eq(vamos_ivshmem_peer_channel(p, 0, &ch), 0);
	/* Peer 3 joining and leaving is fine; a second own eventfd is not. */
	cr_assert_eq(vamos_ivshmem_peer_dispatch(p), -EPROTO);
	cr_assert_eq(vamos_chan_flush(ch), -ECONNRESET);
	cr_assert_eq(vamos_chan_wait(ch, 0), -ECONNRESET);
	cr_assert(strstr(vamos_chan_error(ch), "more eventfds than vectors"), "%s",
		  vamos_chan_error(ch));
	vamos_chan_close(ch);
	vamos_ivshmem_peer_close(p);
	close(lfd);
	unlink(path);
	rmdir(dir);
}
