/* SPDX-License-Identifier: MIT */
/* The ivshmem server: QEMU's protocol exactly, joins and leaves, and peers
 * that misbehave (garbage, vanishing, never reading) are dropped while the
 * server keeps serving everyone else. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "raw.h"

static struct harness h;
static struct vamos_ivshmem_server_params params;

static void start(uint32_t vectors, uint32_t max_peers)
{
	harness_default_params(&h, &params, vectors);
	params.max_peers = max_peers;
	const char *err = harness_start(&h, &params);
	cr_assert_null(err, "%s", err);
}

/* One record each way on channel @index between the host and @peer. */
static void exchange_one(struct vamos_ivshmem_peer *peer, uint32_t index)
{
	struct vamos_chan *host, *guest;
	struct vamos_record rec;
	cr_assert_eq(vamos_ivshmem_server_channel(h.server, vamos_ivshmem_peer_id(peer),
						  index, &host), 0);
	cr_assert_eq(vamos_ivshmem_peer_channel(peer, index, &guest), 0);
	cr_assert_eq(vamos_chan_send(guest, 7, "ping", 4), 0);
	cr_assert_eq(vamos_chan_flush(guest), 0);
	cr_assert_eq(vamos_chan_wait(host, 5000), 1);
	cr_assert_eq(vamos_chan_poll(host, &rec, 1), 1);
	cr_assert(rec.type == 7 && rec.len == 4 && !memcmp(rec.data, "ping", 4));
	vamos_chan_release(host);
	cr_assert_eq(vamos_chan_send(host, 8, "pong", 4), 0);
	cr_assert_eq(vamos_chan_flush(host), 0);
	cr_assert_eq(vamos_chan_wait(guest, 5000), 1);
	cr_assert_eq(vamos_chan_poll(guest, &rec, 1), 1);
	cr_assert(rec.type == 8 && rec.len == 4 && !memcmp(rec.data, "pong", 4));
	vamos_chan_release(guest);
	vamos_chan_close(host);
	vamos_chan_close(guest);
}

static void expect_event(int n, enum vamos_ivshmem_event_kind kind, int peer,
			 const char *detail_part)
{
	struct harness_event ev;
	cr_assert(harness_wait_event(&h, n, 5000, &ev), "no event %d", n);
	cr_assert_eq(ev.kind, kind, "event %d is %d (%s)", n, ev.kind, ev.detail);
	if (peer != -2)
		cr_assert_eq(ev.peer, peer);
	if (detail_part)
		cr_assert(strstr(ev.detail, detail_part), "event detail '%s'", ev.detail);
}

Test(ivshmem_server, peers_join_leave_and_keep_working)
{
	struct vamos_ivshmem_peer *a, *b;
	start(2, 0);
	const char *err = harness_join(&h, 2, &a);
	cr_assert_null(err, "%s", err);
	err = harness_join(&h, 2, &b);
	cr_assert_null(err, "%s", err);
	cr_assert_eq(vamos_ivshmem_peer_id(a), 1);
	cr_assert_eq(vamos_ivshmem_peer_id(b), 2);
	cr_assert_eq(vamos_ivshmem_server_peer_count(h.server), 2);
	exchange_one(a, 0);
	exchange_one(b, 1);

	vamos_ivshmem_peer_close(a);
	expect_event(3, VAMOS_IVSHMEM_LEAVE, 1, "disconnected");
	cr_assert_eq(vamos_ivshmem_server_peer_count(h.server), 1);
	cr_assert_eq(vamos_ivshmem_peer_dispatch(b), 0);
	exchange_one(b, 1);
	vamos_ivshmem_peer_close(b);
	expect_event(4, VAMOS_IVSHMEM_LEAVE, 2, NULL);
	harness_stop(&h);
}

/* The welcome, byte for byte as QEMU expects it, and the announcements. */
Test(ivshmem_server, speaks_qemu_protocol)
{
	enum { V = 3 };
	int64_t v;
	int fd;
	const char *why;
	start(V, 0);
	int a = raw_connect(h.socket_path);
	cr_assert_geq(a, 0);
	cr_assert_eq(wire_recv(a, 5000, &v, &fd, &why), 1);
	cr_assert(v == 0 && fd < 0, "version");
	cr_assert_eq(wire_recv(a, 5000, &v, &fd, &why), 1);
	cr_assert(v == 1 && fd < 0, "id");
	cr_assert_eq(wire_recv(a, 5000, &v, &fd, &why), 1);
	cr_assert(v == -1 && fd >= 0, "shm");
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(st.st_size > 0 && (st.st_size & (st.st_size - 1)) == 0, "pow2 size");
	/* Sealed: a peer cannot shrink the memory under the host. */
	cr_assert_lt(ftruncate(fd, 0), 0);
	close(fd);
	for (int i = 0; i < V; i++) {
		cr_assert_eq(wire_recv(a, 5000, &v, &fd, &why), 1);
		cr_assert(v == VAMOS_IVSHMEM_HOST_ID && fd >= 0, "host vector %d", i);
		close(fd);
	}
	for (int i = 0; i < V; i++) {
		cr_assert_eq(wire_recv(a, 5000, &v, &fd, &why), 1);
		cr_assert(v == 1 && fd >= 0, "own vector %d", i);
		close(fd);
	}
	cr_assert_eq(wire_recv(a, 100, &v, &fd, &why), -EAGAIN, "nothing more");

	/* A second peer: the first learns its vectors, then its departure. */
	struct vamos_ivshmem_peer *b;
	const char *err = harness_join(&h, V, &b);
	cr_assert_null(err, "%s", err);
	for (int i = 0; i < V; i++) {
		cr_assert_eq(wire_recv(a, 5000, &v, &fd, &why), 1);
		cr_assert(v == 2 && fd >= 0, "peer 2 vector %d", i);
		close(fd);
	}
	vamos_ivshmem_peer_close(b);
	cr_assert_eq(wire_recv(a, 5000, &v, &fd, &why), 1);
	cr_assert(v == 2 && fd < 0, "peer 2 left");
	close(a);
	harness_stop(&h);
}

Test(ivshmem_server, garbage_from_a_peer_drops_only_that_peer)
{
	struct vamos_ivshmem_peer *good;
	start(1, 0);
	const char *err = harness_join(&h, 1, &good);
	cr_assert_null(err, "%s", err);
	int bad = raw_connect(h.socket_path);
	cr_assert_geq(bad, 0);
	expect_event(2, VAMOS_IVSHMEM_JOIN, 2, NULL);
	cr_assert_eq(write(bad, "garbage!", 8), 8);
	expect_event(3, VAMOS_IVSHMEM_REJECT, 2, "protocol is server-to-peer only");
	/* The server hung up on it (a reset: our garbage went unread)... */
	char buf[512];
	ssize_t n;
	while ((n = read(bad, buf, sizeof buf)) > 0)
		;
	cr_assert(n == 0 || errno == ECONNRESET, "read: %zd", n);
	close(bad);
	/* ...and still serves the good peer and new ones. */
	cr_assert_eq(vamos_ivshmem_peer_dispatch(good), 0);
	exchange_one(good, 0);
	struct vamos_ivshmem_peer *late;
	err = harness_join(&h, 1, &late);
	cr_assert_null(err, "%s", err);
	exchange_one(late, 1);
	vamos_ivshmem_peer_close(late);
	vamos_ivshmem_peer_close(good);
	harness_stop(&h);
}

Test(ivshmem_server, peers_vanishing_at_any_moment)
{
	start(4, 0);
	/* Connect and hang up at once, again and again: each is a JOIN then a
	 * LEAVE (or a REJECT if the welcome could not even be sent). */
	for (int i = 0; i < 50; i++) {
		int fd = raw_connect(h.socket_path);
		cr_assert_geq(fd, 0);
		if (i % 2) {
			char buf[16];
			cr_assert_eq(recv(fd, buf, i % 16, MSG_WAITALL), i % 16);
		}
		close(fd);
	}
	int joins = 0, gone = 0;
	for (int n = 1; gone < 50; n++) {
		struct harness_event ev;
		cr_assert(harness_wait_event(&h, n, 5000, &ev), "event %d", n);
		joins += ev.kind == VAMOS_IVSHMEM_JOIN;
		gone += ev.kind != VAMOS_IVSHMEM_JOIN;
	}
	cr_assert_leq(joins, gone, "every peer that joined also left");
	cr_assert_eq(vamos_ivshmem_server_peer_count(h.server), 0);
	struct vamos_ivshmem_peer *p;
	const char *err = harness_join(&h, 4, &p);
	cr_assert_null(err, "%s", err);
	exchange_one(p, 1);
	vamos_ivshmem_peer_close(p);
	harness_stop(&h);
}

Test(ivshmem_server, too_many_peers_are_turned_away)
{
	struct vamos_ivshmem_peer *a, *b;
	start(1, 2);
	cr_assert_null(harness_join(&h, 1, &a));
	cr_assert_null(harness_join(&h, 1, &b));
	int fd = raw_connect(h.socket_path);
	expect_event(3, VAMOS_IVSHMEM_REJECT, -1, "too many peers");
	char c;
	cr_assert_eq(read(fd, &c, 1), 0, "turned-away peer gets EOF");
	close(fd);
	vamos_ivshmem_peer_close(a);
	expect_event(4, VAMOS_IVSHMEM_LEAVE, 1, NULL);
	struct vamos_ivshmem_peer *c2;
	cr_assert_null(harness_join(&h, 1, &c2));
	exchange_one(c2, 0);
	vamos_ivshmem_peer_close(c2);
	vamos_ivshmem_peer_close(b);
	harness_stop(&h);
}

Test(ivshmem_server, socket_path_rules)
{
	char dir[64], path[128];
	struct vamos_ivshmem_server *s, *s2;
	const char *why;
	cr_assert(harness_tmpdir(dir, sizeof dir)[0]);
	snprintf(path, sizeof path, "%s/sock", dir);
	harness_default_params(&h, &params, 1);
	params.socket_path = path;

	/* Not a socket: refused, untouched. */
	int f = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(f, 0);
	close(f);
	cr_assert_eq(vamos_ivshmem_server_start(&params, &s, &why), -EEXIST);
	cr_assert(strstr(why, "not a socket"));
	unlink(path);

	/* A stale socket (nobody listening) is replaced. */
	int stale = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strcpy(addr.sun_path, path);
	cr_assert_eq(bind(stale, (struct sockaddr *)&addr, sizeof addr), 0);
	close(stale);
	cr_assert_eq(vamos_ivshmem_server_start(&params, &s, &why), 0, "%s", why);

	/* A live one is not. */
	cr_assert_eq(vamos_ivshmem_server_start(&params, &s2, &why), -EADDRINUSE);
	vamos_ivshmem_server_stop(s);
	cr_assert_lt(access(path, F_OK), 0, "socket removed on stop");
	rmdir(dir);
}

Test(ivshmem_server, bad_params_say_why)
{
	struct vamos_ivshmem_server *s;
	const char *why;
	struct { uint32_t vectors, channels; uint64_t size; const char *part; } cases[] = {
		{ 0, 1, 0, "vectors" },
		{ 65, 1, 0, "vectors" },
		{ 1, 0, 0, "region params" },
		{ 1, 1, 3u << 20, "power of two" },
		{ 1, 1, 4096, "smaller than the region" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		harness_default_params(&h, &params, cases[i].vectors);
		params.socket_path = "/tmp/never-created.sock";
		params.region.channel_count = cases[i].channels;
		params.shm_size = cases[i].size;
		cr_assert_eq(vamos_ivshmem_server_start(&params, &s, &why), -EINVAL, "case %zu", i);
		cr_assert(why && strstr(why, cases[i].part), "case %zu: %s", i, why);
	}
	cr_assert_lt(access("/tmp/never-created.sock", F_OK), 0);
}

Test(ivshmem_server, shm_file_lives_with_the_server)
{
	char dir[64], shm[128];
	cr_assert(harness_tmpdir(dir, sizeof dir)[0]);
	snprintf(shm, sizeof shm, "%s/region", dir);
	harness_default_params(&h, &params, 1);
	params.shm_path = shm;
	params.shm_size = 1u << 20;
	cr_assert_null(harness_start(&h, &params));
	struct stat st;
	cr_assert_eq(stat(shm, &st), 0);
	cr_assert_eq(st.st_size, 1 << 20);
	cr_assert_eq(st.st_mode & 0777, 0600);
	struct vamos_ivshmem_peer *p;
	cr_assert_null(harness_join(&h, 1, &p));
	exchange_one(p, 0);
	vamos_ivshmem_peer_close(p);
	harness_stop(&h);
	cr_assert_lt(stat(shm, &st), 0, "file removed on stop");
	rmdir(dir);
}

/* A peer that never reads its messages fills its socket; the server must
 * drop it rather than block, and go on serving the others. */
Test(ivshmem_server, a_peer_that_never_reads_is_dropped, .timeout = 120)
{
	start(8, 4);
	int lazy = raw_connect(h.socket_path);
	cr_assert_geq(lazy, 0);
	expect_event(1, VAMOS_IVSHMEM_JOIN, 1, NULL);
	int n = 1, dropped = 0;
	/* Each other peer's join and leave sends the lazy one 9 messages with
	 * 8 descriptors; its socket fills within a few hundred rounds. */
	for (int round = 0; round < 2000 && !dropped; round++) {
		struct vamos_ivshmem_peer *p;
		const char *err = harness_join(&h, 8, &p);
		cr_assert_null(err, "round %d: %s", round, err);
		vamos_ivshmem_peer_close(p);
		for (;;) {
			struct harness_event ev;
			cr_assert(harness_wait_event(&h, n + 1, 10000, &ev), "round %d: no event %d after %d (%s)", round, n + 1, h.events[n - 1].kind, h.events[n - 1].detail);
			n++;
			if (ev.kind == VAMOS_IVSHMEM_REJECT && ev.peer == 1) {
				cr_assert(strstr(ev.detail, "does not read"), "%s", ev.detail);
				dropped = 1;
			}
			if (ev.kind == VAMOS_IVSHMEM_LEAVE && ev.peer != 1)
				break;
		}
	}
	cr_assert(dropped, "the lazy peer was never dropped");
	cr_assert_eq(vamos_ivshmem_server_peer_count(h.server), 0);
	struct vamos_ivshmem_peer *p;
	cr_assert_null(harness_join(&h, 8, &p));
	exchange_one(p, 1);
	vamos_ivshmem_peer_close(p);
	close(lazy);
	harness_stop(&h);
}
