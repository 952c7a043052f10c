/* SPDX-License-Identifier: MIT */
/* vamosd against peers that break its rings or push its limits: a peer that
 * leaves but keeps the region mapped and scribbles on the next layout
 * costs at most one refused join, never the VM's socket; a request of the
 * size WELCOME advertises goes through wherever the ring's tail stands. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "../../ring/layout.h"
#include "../ivshmem/raw.h"
#include "checks.h"
#include "daemon.h"

static struct daemon d;
static struct tally tally;

/* A failed assertion still stops the daemon and removes its files. */
static void stop_daemon(void)
{
	daemon_cleanup(&d);
}

TestSuite(broken_peers, .fini = stop_daemon);

static struct vamos_ivshmem_peer *join(unsigned vm)
{
	struct vamos_ivshmem_peer *p;
	const char *why = NULL;
	int rc = vamos_ivshmem_peer_connect(d.vm_sock[vm], 4, 5000, &p, &why);
	cr_assert_eq(rc, 0, "vm%u: %s (%s)", vm, why, strerror(-rc));
	return p;
}

static void open_raw(struct vamos_ivshmem_peer *p, unsigned index, struct raw *r)
{
	struct vamos_chan *ch;
	int rc = vamos_ivshmem_peer_channel(p, index, &ch);
	cr_assert_eq(rc, 0, "channel %u: %s", index, strerror(-rc));
	const char *err = raw_open(r, ch);
	cr_assert_null(err, "%s", err);
}

/* One 8-byte ECHO of @id, answered. */
static void echo_one(struct raw *r, uint64_t id)
{
	unsigned before = tally.replies;
	cr_assert_eq(raw_request(r, id, VAMOS_SERVICE_ECHO, 0, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(r->ch), 0);
	while (tally.replies == before)
		cr_assert_geq(raw_replies(r, 5000, tally_reply, &tally), 0, "no reply");
	cr_assert_eq(tally.corrupt + tally.errors + tally.duplicates, 0);
}

static void nap_ms(long ms)
{
	nanosleep(&(struct timespec){ 0, ms * 1000000L }, NULL);
}

/* A hostile peer joins like QEMU and maps the memory: returns the
 * mapping (its size in @size) and the socket in @sock. */
static void *join_and_map(size_t *size, int *sock_out)
{
	int sock = raw_connect(d.vm_sock[0]);
	cr_assert_geq(sock, 0);
	int64_t v, me = -1;
	int fd, mem = -1;
	const char *why;
	/* Version, our id, then the memory (-1 with its fd). */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(wire_recv(sock, 5000, &v, &fd, &why), 1);
		if (i == 1)
			me = v;
		if (i == 2)
			mem = fd;
		else if (fd >= 0)
			close(fd);
	}
	cr_assert_geq(mem, 0);
	/* Then the host's eventfds and our own, last: the welcome is whole,
	 * so the server has attached us (leaving earlier would be a refusal). */
	for (int own = 0; own < 4;) {
		cr_assert_eq(wire_recv(sock, 5000, &v, &fd, &why), 1);
		own += v == me;
		if (fd >= 0)
			close(fd);
	}
	struct stat st;
	cr_assert_eq(fstat(mem, &st), 0);
	*size = (size_t)st.st_size;
	void *base = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, mem, 0);
	cr_assert_neq(base, MAP_FAILED);
	close(mem);
	*sock_out = sock;
	return base;
}

Test(broken_peers, a_departed_peer_that_scribbles_on_the_rings_costs_one_join, .timeout = 60)
{
	cr_assert_null(daemon_start(&d, 1, 1u << 16, NULL));
	struct vamos_region region;
	size_t size;
	int sock;
	void *mem = join_and_map(&size, &sock);
	cr_assert_eq(vamos_region_attach(mem, size, &region), 0, "%s", region.error);
	/* Leaving, the mapping kept, lays the region out anew (another epoch). */
	close(sock);
	struct vamos_region_header *h = mem;
	for (int i = 0; __atomic_load_n(&h->epoch, __ATOMIC_ACQUIRE) == region.epoch ||
			__atomic_load_n(&h->side[VAMOS_SIDE_HOST].state, __ATOMIC_ACQUIRE) !=
				VAMOS_STATE_READY;
	     i++) {
		cr_assert_lt(i, 5000, "the region was not laid out again");
		nap_ms(1);
	}
	/* Then a misaligned tail in channel 0's request ring. */
	struct vamos_ring_ctrl *ctrl = vamos_ring_at(mem, &region.params, 0, 0);
	__atomic_store_n(&ctrl->tail, 4, __ATOMIC_RELEASE);

	/* The next peer cannot be served on that layout: it is refused... */
	struct vamos_ivshmem_peer *refused;
	const char *why = NULL;
	if (vamos_ivshmem_peer_connect(d.vm_sock[0], 4, 5000, &refused, &why) == 0)
		vamos_ivshmem_peer_close(refused);
	/* ...and the one after it is served. */
	struct vamos_ivshmem_peer *p = join(0);
	for (unsigned c = 0; c < 4; c++) {
		struct raw r;
		open_raw(p, c, &r);
		echo_one(&r, c);
		vamos_chan_close(r.ch);
	}
	vamos_ivshmem_peer_close(p);
	munmap(mem, size);
	daemon_cleanup(&d);
}

/* Replies to the largest echoes: their bytes, checked. */
struct big_tally {
	unsigned replies, bad;
	uint32_t len;
};

static void big_reply(void *arg, uint64_t id, int status, const void *data, uint32_t len)
{
	struct big_tally *t = arg;
	t->replies++;
	const unsigned char *b = data;
	if (status != 0 || len != t->len)
		t->bad++;
	else
		for (uint32_t i = 0; i < len; i++)
			if (b[i] != (unsigned char)(id * 31 + i))
				t->bad++;
}

Test(broken_peers, requests_of_the_advertised_size_go_through_wherever_the_tail_is,
     .timeout = 120)
{
	cr_assert_null(daemon_start(&d, 1, 1u << 16, NULL));
	struct vamos_ivshmem_peer *p = join(0);
	struct raw r;
	open_raw(p, 0, &r);
	cr_assert_gt(r.max_request, 0);
	unsigned char *buf = malloc(r.max_request);
	cr_assert_not_null(buf);
	struct big_tally big = { .len = r.max_request };
	/* Each round moves both rings' tails off 0 with a small echo, so the
	 * largest one needs padding first and then the whole ring. */
	for (uint64_t round = 0; round < 40; round++) {
		echo_one(&r, 2 * round);
		uint64_t id = 2 * round + 1;
		for (uint32_t i = 0; i < r.max_request; i++)
			buf[i] = (unsigned char)(id * 31 + i);
		int rc;
		for (int tries = 0;
		     (rc = raw_request(&r, id, VAMOS_SERVICE_ECHO, 0, buf, r.max_request)) ==
		     -EAGAIN;
		     tries++) {
			/* Publish the padding; the host must give it back. */
			cr_assert_eq(vamos_chan_flush(r.ch), 0);
			cr_assert_lt(tries, 5000, "round %llu: the ring never emptied",
				     (unsigned long long)round);
			nap_ms(1);
		}
		cr_assert_eq(rc, 0);
		cr_assert_eq(vamos_chan_flush(r.ch), 0);
		unsigned before = big.replies;
		while (big.replies == before)
			cr_assert_geq(raw_replies(&r, 5000, big_reply, &big), 0,
				      "round %llu: no reply", (unsigned long long)round);
	}
	cr_assert_eq(big.replies, 40);
	cr_assert_eq(big.bad, 0);
	free(buf);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}
