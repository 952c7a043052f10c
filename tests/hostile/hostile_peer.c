/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../transport-ivshmem/shm_channel.h"
#include "../../transport-ivshmem/wire.h"
#include "hostile_peer.h"

static void close_all(struct hostile_peer *hp)
{
	for (unsigned i = 0; i < hp->host_count; i++)
		close(hp->host_fds[i]);
	for (unsigned i = 0; i < hp->own_count; i++)
		close(hp->own_fds[i]);
	if (hp->base)
		munmap(hp->base, hp->size);
	if (hp->shm_fd >= 0)
		close(hp->shm_fd);
	if (hp->sock >= 0)
		close(hp->sock);
	memset(hp, 0, sizeof *hp);
	hp->sock = hp->shm_fd = -1;
}

static const char *fail(struct hostile_peer *hp, const char *why)
{
	close_all(hp);
	return why;
}

const char *hostile_join(struct hostile_peer *hp, const char *socket_path, unsigned vectors)
{
	memset(hp, 0, sizeof *hp);
	hp->shm_fd = -1;
	hp->vectors = vectors;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof addr.sun_path)
		return "socket path too long";
	strcpy(addr.sun_path, socket_path);
	hp->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (hp->sock < 0 || connect(hp->sock, (struct sockaddr *)&addr, sizeof addr) < 0)
		return fail(hp, "cannot connect");
	int64_t v;
	int fd;
	const char *why;
	/* Version, our id, then the memory. */
	if (wire_recv(hp->sock, 5000, &v, &fd, &why) != 1 || fd >= 0)
		return fail(hp, "no protocol version");
	if (wire_recv(hp->sock, 5000, &v, &fd, &why) != 1 || fd >= 0)
		return fail(hp, "no peer id");
	hp->id = (int)v;
	if (wire_recv(hp->sock, 5000, &v, &hp->shm_fd, &why) != 1 || v != -1 ||
	    hp->shm_fd < 0)
		return fail(hp, "no shared memory");
	struct stat st;
	if (fstat(hp->shm_fd, &st) < 0 || st.st_size <= 0)
		return fail(hp, "cannot size the shared memory");
	hp->size = (size_t)st.st_size;
	void *base = mmap(NULL, hp->size, PROT_READ | PROT_WRITE, MAP_SHARED, hp->shm_fd, 0);
	if (base == MAP_FAILED)
		return fail(hp, "cannot map the shared memory");
	hp->base = base;
	/* The host's eventfds, then ours (last). */
	while (hp->own_count < vectors) {
		if (wire_recv(hp->sock, 5000, &v, &fd, &why) != 1)
			return fail(hp, "welcome cut short");
		if (fd < 0)
			continue;
		if (v == VAMOS_IVSHMEM_HOST_ID && hp->host_count < vectors)
			hp->host_fds[hp->host_count++] = fd;
		else if (v == hp->id)
			hp->own_fds[hp->own_count++] = fd;
		else
			close(fd);
	}
	if (hp->host_count != vectors)
		return fail(hp, "no host eventfds");
	if (vamos_region_attach(hp->base, hp->size, &hp->region))
		return fail(hp, "cannot attach to the region");
	vamos_region_set_state(&hp->region, VAMOS_SIDE_GUEST, VAMOS_STATE_READY);
	return NULL;
}

int hostile_channel(struct hostile_peer *hp, uint32_t index, bool private_wait,
		    struct vamos_chan **out)
{
	if (index >= hp->region.params.channel_count)
		return -EINVAL;
	unsigned vector = index % hp->vectors;
	struct shm_chan_params cp = {
		.region = &hp->region,
		.index = index,
		.side = VAMOS_SIDE_GUEST,
		.notify = SHM_NOTIFY_EVENTFD,
		.notify_fd = fcntl(hp->host_fds[vector], F_DUPFD_CLOEXEC, 0),
		.wait_fd = private_wait ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)
					: fcntl(hp->own_fds[vector], F_DUPFD_CLOEXEC, 0),
		.watch_region = true,
	};
	return shm_chan_open(&cp, out);
}

void hostile_leave(struct hostile_peer *hp)
{
	close_all(hp);
}

int hostile_clear_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int hostile_fill_eventfd(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	/* Take what is there, then add the most a write may. */
	uint64_t v;
	if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
		return -errno;
	v = 0xfffffffffffffffeull;
	return write(fd, &v, sizeof v) == (ssize_t)sizeof v ? 0 : -errno;
}

uint64_t hostile_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

void hostile_scribble(struct hostile_peer *hp, uint64_t *rng)
{
	uint64_t r = hostile_rand(rng);
	uint64_t word = hostile_rand(rng);
	/* Small values, all ones, or anything: what breaks checks best. */
	switch (r % 4) {
	case 0: word &= 0xff; break;
	case 1: word = ~0ull; break;
	case 2: word &= 0xffffffffull; break;
	default: break;
	}
	size_t span;
	switch ((r >> 8) % 3) {
	case 0: span = 4096; break;         /* header and control blocks */
	case 1: span = 65536; break;        /* the first rings */
	default: span = hp->size; break;    /* anywhere */
	}
	if (span > hp->size)
		span = hp->size;
	size_t at = (size_t)((r >> 16) % (span / 8)) * 8;
	memcpy(hp->base + at, &word, sizeof word);
}
