/* SPDX-License-Identifier: MIT */
/* Handing a running ivshmem server to a successor (what vamosd does across
 * exec on SIGUSR2), here within one process: the peer's connection, memory
 * and eventfds stay the same, its rings carry on where they stood, a
 * description that cannot be taken over is refused with its reason, and one
 * nobody takes over can be closed. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "harness.h"
#include "raw.h"

static struct harness h;
static struct vamos_ivshmem_server_params params;

static void expect_event(int n, enum vamos_ivshmem_event_kind kind, int peer,
			 const char *detail_part)
{
	struct harness_event ev;
	cr_assert(harness_wait_event(&h, n, 5000, &ev), "no event %d", n);
	cr_assert_eq(ev.kind, kind, "event %d is %d (%s)", n, ev.kind, ev.detail);
	cr_assert_eq(ev.peer, peer);
	if (detail_part)
		cr_assert(strstr(ev.detail, detail_part), "event detail '%s'", ev.detail);
}

static void send_text(struct vamos_chan *ch, uint16_t type, const char *text)
{
	cr_assert_eq(vamos_chan_send(ch, type, text, (uint32_t)strlen(text)), 0);
	cr_assert_eq(vamos_chan_flush(ch), 0);
}

static void expect_text(struct vamos_chan *ch, uint16_t type, const char *text)
{
	struct vamos_record rec;
	cr_assert_eq(vamos_chan_wait(ch, 5000), 1, "nothing arrived (%s)",
		     vamos_chan_error(ch) ? vamos_chan_error(ch) : "no error");
	cr_assert_eq(vamos_chan_poll(ch, &rec, 1), 1);
	cr_assert(rec.type == type && rec.len == strlen(text) && !memcmp(rec.data, text, rec.len),
		  "got type %u, %u bytes", rec.type, rec.len);
	vamos_chan_release(ch);
}

Test(ivshmem_handover, the_peer_carries_on_across_a_handover)
{
	struct vamos_ivshmem_peer *a, *b;
	struct vamos_chan *host, *guest;
	harness_default_params(&h, &params, 2);
	cr_assert_null(harness_start(&h, &params));
	cr_assert_null(harness_join(&h, 2, &a));
	int id = vamos_ivshmem_peer_id(a);
	cr_assert_eq(vamos_ivshmem_server_channel(h.server, id, 1, &host), 0);
	cr_assert_eq(vamos_ivshmem_peer_channel(a, 1, &guest), 0);
	send_text(guest, 7, "first");
	expect_text(host, 7, "first");
	send_text(host, 8, "first reply");
	expect_text(guest, 8, "first reply");
	vamos_chan_close(host);

	/* Published while no server serves the channel: the successor must
	 * find it, since nothing is reset. */
	send_text(guest, 7, "during the handover");
	int fds_before = raw_fd_count();
	const char *err = harness_handover(&h, &params);
	cr_assert_null(err, "%s", err);
	cr_assert_eq(raw_fd_count(), fds_before, "the successor holds the same descriptors");
	expect_event(2, VAMOS_IVSHMEM_ADOPT, id, "taken over");
	cr_assert_eq(vamos_ivshmem_server_peer_count(h.server), 1);
	/* The peer was told nothing: its connection never closed. */
	cr_assert_eq(vamos_ivshmem_peer_dispatch(a), 0);
	cr_assert_eq(vamos_region_current(vamos_ivshmem_peer_region(a)), 1,
		     "same epoch, host still READY");

	cr_assert_eq(vamos_ivshmem_server_channel(h.server, id, 1, &host), 0);
	expect_text(host, 7, "during the handover");
	send_text(host, 8, "from the successor"); /* rings the peer's same eventfd */
	expect_text(guest, 8, "from the successor");
	send_text(guest, 7, "and on");
	expect_text(host, 7, "and on");

	/* The socket still takes new peers, with fresh ids. */
	cr_assert_null(harness_join(&h, 2, &b));
	cr_assert_neq(vamos_ivshmem_peer_id(b), id);
	vamos_chan_close(host);
	vamos_chan_close(guest);
	vamos_ivshmem_peer_close(b);
	vamos_ivshmem_peer_close(a);
	expect_event(5, VAMOS_IVSHMEM_LEAVE, id, NULL);
	harness_stop(&h);
}

Test(ivshmem_handover, a_text_too_long_for_the_buffer_leaves_the_server_running)
{
	struct vamos_ivshmem_peer *a;
	char small[16];
	harness_default_params(&h, &params, 2);
	cr_assert_null(harness_start(&h, &params));
	cr_assert_null(harness_join(&h, 2, &a));
	cr_assert_eq(vamos_ivshmem_server_handover(h.server, small, sizeof small), -ENOSPC);
	struct vamos_chan *host, *guest;
	cr_assert_eq(vamos_ivshmem_server_channel(h.server, vamos_ivshmem_peer_id(a), 0, &host), 0);
	cr_assert_eq(vamos_ivshmem_peer_channel(a, 0, &guest), 0);
	send_text(guest, 7, "still here");
	expect_text(host, 7, "still here");
	vamos_chan_close(host);
	vamos_chan_close(guest);
	vamos_ivshmem_peer_close(a);
	harness_stop(&h);
}

/* Start a server adopting @text; expect -EINVAL with @part in the reason. */
static void refused(const char *text, const char *part)
{
	struct vamos_ivshmem_server *s = NULL;
	const char *why = NULL;
	struct vamos_ivshmem_server_params p;
	char dir[64], path[128];
	cr_assert(harness_tmpdir(dir, sizeof dir)[0]);
	snprintf(path, sizeof path, "%s/s.sock", dir);
	harness_default_params(&h, &p, 2);
	p.socket_path = path;
	p.adopt = text;
	cr_assert_eq(vamos_ivshmem_server_start(&p, &s, &why), -EINVAL, "'%s' was taken", text);
	cr_assert(why && strstr(why, part), "'%s': %s", text, why ? why : "(no reason)");
	rmdir(dir);
}

/* A fresh eventfd for each case: one that passes its check is taken, and
 * closed with the rest when the description is refused. */
static int ev(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	return fd;
}

Test(ivshmem_handover, descriptions_that_cannot_be_taken_over_are_refused)
{
	int notsock = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(notsock, 0);
	char text[256];
	refused("nonsense", "not a vamos-handover-1");
	refused("vamos-handover-1 ", "missing");
	refused("vamos-handover-1 listen=99999", "listen=");
	snprintf(text, sizeof text, "vamos-handover-1 listen=%d", notsock);
	refused(text, "listen=");
	refused("vamos-handover-1 frob=1", "unknown item");
	/* The eventfd lists must be exactly `vectors` (2) long. */
	snprintf(text, sizeof text, "vamos-handover-1 host=%d", ev());
	refused(text, "too few eventfds");
	snprintf(text, sizeof text, "vamos-handover-1 host=%d,%d,%d", ev(), ev(), ev());
	refused(text, "longer than vectors");
	snprintf(text, sizeof text, "vamos-handover-1 host=%d,%d", notsock, ev());
	refused(text, "not an open eventfd");
	snprintf(text, sizeof text, "vamos-handover-1 peer=0:%d:%d,%d", notsock, ev(), ev());
	refused(text, "peer id");
	snprintf(text, sizeof text, "vamos-handover-1 peer=3:%d:%d,%d", notsock, ev(), ev());
	refused(text, "UNIX stream socket");
	/* What failed its check was never taken, so never closed. */
	cr_assert_geq(fcntl(notsock, F_GETFD), 0);
	close(notsock);
}

Test(ivshmem_handover, another_layout_is_refused_and_the_peer_told)
{
	struct vamos_ivshmem_peer *a;
	harness_default_params(&h, &params, 2);
	cr_assert_null(harness_start(&h, &params));
	cr_assert_null(harness_join(&h, 2, &a));
	params.region.request_capacity = 1u << 15; /* a configuration that changed */
	const char *err = harness_handover(&h, &params);
	cr_assert(err && strstr(err, "layout differs"), "%s", err ? err : "taken over");
	/* What was taken is closed: the peer's connection ends, and its
	 * region says the host closed it. */
	struct pollfd pfd = { .fd = vamos_ivshmem_peer_fd(a), .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, 5000), 1);
	cr_assert_eq(vamos_ivshmem_peer_dispatch(a), -ECONNRESET);
	cr_assert_eq(vamos_region_current(vamos_ivshmem_peer_region(a)), 0);
	vamos_ivshmem_peer_close(a);
	/* Nobody listens there now; the next server would replace it. */
	unlink(h.socket_path);
	harness_stop(&h);
}

Test(ivshmem_handover, a_discarded_handover_lets_the_peer_see_the_server_gone)
{
	struct vamos_ivshmem_peer *a;
	static char text[4096];
	harness_default_params(&h, &params, 2);
	cr_assert_null(harness_start(&h, &params));
	cr_assert_null(harness_join(&h, 2, &a));
	uint64_t one = 1;
	cr_assert_eq(write(h.stop_fd, &one, sizeof one), (ssize_t)sizeof one);
	pthread_join(h.thread, NULL);
	h.running = false;
	cr_assert_eq(vamos_ivshmem_server_handover(h.server, text, sizeof text), 0);
	h.server = NULL;
	int fds_before = raw_fd_count();
	/* A successor whose configuration no longer has this VM. */
	vamos_ivshmem_handover_discard(text);
	/* listen, shm, 2 host eventfds, and the peer's socket and 2 vectors. */
	cr_assert_eq(raw_fd_count(), fds_before - 7);
	struct pollfd pfd = { .fd = vamos_ivshmem_peer_fd(a), .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, 5000), 1);
	cr_assert_eq(vamos_ivshmem_peer_dispatch(a), -ECONNRESET);
	vamos_ivshmem_peer_close(a);
	unlink(h.socket_path); /* stale now, as after a crash */
	harness_stop(&h);
}

Test(ivshmem_handover, a_description_lists_and_renumbers_its_descriptors)
{
	struct vamos_ivshmem_peer *a;
	char text[4096], moved[4096];
	int fds[16], again[16];
	harness_default_params(&h, &params, 2);
	cr_assert_null(harness_start(&h, &params));
	cr_assert_null(harness_join(&h, 2, &a));
	cr_assert_eq(vamos_ivshmem_server_describe(h.server, text, sizeof text), 0);
	/* listen, shm, 2 host eventfds, the peer's socket and 2 vectors. */
	cr_assert_eq(vamos_ivshmem_handover_fds(text, fds, 16), 7, "%s", text);
	cr_assert_eq(vamos_ivshmem_handover_fds(text, fds, 6), -ENOSPC);
	for (int i = 0; i < 7; i++)
		cr_assert_geq(fcntl(fds[i], F_GETFD), 0, "%d is open", fds[i]);
	int to[7] = { 100, 101, 102, 103, 104, 105, 106 };
	cr_assert_eq(vamos_ivshmem_handover_renumber(text, to, 7, moved, sizeof moved), 0);
	cr_assert_eq(vamos_ivshmem_handover_fds(moved, again, 16), 7, "%s", moved);
	cr_assert_arr_eq(again, to, sizeof to);
	cr_assert(strstr(moved, " next=") && strstr(moved, " peer=1:104:105,106"), "%s", moved);
	cr_assert_eq(vamos_ivshmem_handover_renumber(text, to, 6, moved, sizeof moved), -EINVAL);
	cr_assert_eq(vamos_ivshmem_handover_renumber(text, to, 7, moved, 20), -ENOSPC);
	cr_assert_eq(vamos_ivshmem_handover_fds("not one", fds, 16), -EINVAL);
	vamos_ivshmem_peer_close(a);
	harness_stop(&h);
}
