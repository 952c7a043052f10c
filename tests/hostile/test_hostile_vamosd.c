/* SPDX-License-Identifier: MIT */
/* vamosd against a hostile local peer: what one VM's peer does to its
 * eventfds, its memory file, its blocking requests and its comings and
 * goings must never freeze, crash or starve vamosd for the other VMs, nor
 * grow its memory without bound; and it must still stop when told. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "../vamosd/checks.h"
#include "../vamosd/daemon.h"
#include "hostile_peer.h"
#include "vamosd_probe.h"

static struct daemon d;

/* A failed assertion skips the rest of a test: never leave vamosd behind. */
static void cleanup(void)
{
	daemon_cleanup(&d);
}
TestSuite(hostile, .fini = cleanup);

static void start(unsigned vms, uint32_t ring_bytes, const char *const *extra)
{
	const char *err = daemon_start(&d, vms, ring_bytes, extra);
	cr_assert_null(err, "%s", err);
}

static struct vamos_ivshmem_peer *join_sock(const char *sock)
{
	struct vamos_ivshmem_peer *p;
	const char *why = NULL;
	int rc = vamos_ivshmem_peer_connect(sock, 4, 5000, &p, &why);
	cr_assert_eq(rc, 0, "%s: %s (%s)", sock, why, strerror(-rc));
	return p;
}

static void open_raw(struct vamos_ivshmem_peer *p, unsigned index, struct raw *r)
{
	struct vamos_chan *ch;
	cr_assert_eq(vamos_ivshmem_peer_channel(p, index, &ch), 0);
	const char *err = raw_open(r, ch);
	cr_assert_null(err, "%s", err);
}

/* A well-behaved peer on @sock gets @n echoes right, on channel 0. */
static void well_behaved_echoes(const char *sock, uint64_t first, unsigned n)
{
	struct vamos_ivshmem_peer *p = join_sock(sock);
	struct raw r;
	open_raw(p, 0, &r);
	static struct tally t;
	memset(&t, 0, sizeof t);
	for (uint64_t id = first; id < first + n; id++)
		cr_assert_eq(raw_request(&r, id, VAMOS_SERVICE_ECHO, 0, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	while (t.replies < n)
		cr_assert_geq(raw_replies(&r, 5000, tally_reply, &t), 0, "replies stopped");
	cr_assert_eq(t.duplicates + t.corrupt + t.errors, 0);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
}

static void wait_peer(const char *vm, long long peer_is_attached)
{
	struct vm_probe pr;
	for (;;) {
		cr_assert(probe_vm(&d, vm, &pr), "vamosd does not answer");
		if ((pr.peer >= 0) == peer_is_attached)
			return;
		usleep(10000);
	}
}

static void stops_cleanly(int sig)
{
	if (sig == SIGUSR2) {
		cr_assert_eq(daemon_signal(&d, SIGUSR2, false), 0);
		/* The successor answers on the control socket. */
		for (int i = 0; i < 3000; i++) {
			char *pong = daemon_ask(&d, "stats");
			bool up = pong && strstr(pong, "up 0 s");
			free(pong);
			if (up)
				break;
			usleep(10000);
		}
	}
	cr_assert_eq(daemon_signal(&d, SIGTERM, true), 0, "vamosd stopped cleanly");
	cr_assert_not(daemon_log_has(&d, "Sanitizer"), "a sanitizer spoke (see the log)");
	cr_assert_not(daemon_log_has(&d, "runtime error"), "UBSan spoke (see the log)");
}

/* The host's eventfds reach the peer over SCM_RIGHTS: it shares their
 * file status flags and counters. Blocking them all, filling its own and
 * leaving must not freeze a poller (nor, through a grace period, the
 * whole daemon). */
Test(hostile, eventfd_flags_and_counters_cannot_freeze_vamosd, .timeout = 120)
{
	start(2, 1u << 16, NULL);
	struct hostile_peer hp;
	const char *err = hostile_join(&hp, d.vm_sock[0], 4);
	cr_assert_null(err, "%s", err);
	/* Our channel sleeps on a private eventfd: it announces sleep in the
	 * ring, so the host rings us, but never drains the shared fds. */
	struct vamos_chan *ch;
	cr_assert_eq(hostile_channel(&hp, 0, true, &ch), 0);
	struct raw r;
	err = raw_open(&r, ch);
	cr_assert_null(err, "%s", err);
	for (unsigned v = 0; v < hp.vectors; v++) {
		cr_assert_eq(hostile_clear_nonblock(hp.host_fds[v]), 0);
		cr_assert_eq(hostile_fill_eventfd(hp.own_fds[v]), 0);
		cr_assert_eq(hostile_clear_nonblock(hp.own_fds[v]), 0);
	}
	/* A reply from the pool while we say we sleep: the host must ring a
	 * full, blocking eventfd. */
	uint64_t id = 7;
	cr_assert_eq(raw_request(&r, id, VAMOS_SERVICE_SLEEP, 200, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	cr_assert_eq(vamos_chan_prepare_sleep(r.ch), 1);
	struct tally t = { 0 };
	while (t.replies < 1)
		cr_assert_geq(raw_replies(&r, 5000, tally_reply, &t), 0);
	cr_assert_eq(t.corrupt + t.errors, 0);
	vamos_chan_close(ch);
	hostile_leave(&hp);

	/* Detach completed, the control socket answers, both VMs serve. */
	wait_peer("vm0", false);
	well_behaved_echoes(d.vm_sock[0], 0, 100);
	well_behaved_echoes(d.vm_sock[1], 100, 100);
	stops_cleanly(SIGTERM);
	daemon_cleanup(&d);
}

/* A file region cannot be sealed: the peer shrinks it under the host. */
Test(hostile, a_shrunk_memory_file_is_a_broken_ring_not_a_crash, .timeout = 120)
{
	char dir[] = "/tmp/vamos-hostile-XXXXXX", sock[96], file[96], vm[256];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof sock, "%s/file.sock", dir);
	snprintf(file, sizeof file, "%s/file.shm", dir);
	snprintf(vm, sizeof vm, "vmf=%s,channels=4,vectors=4,ring_bytes=65536,shm_path=%s", sock,
		 file);
	const char *extra[] = { "--vm", vm, NULL };
	start(1, 1u << 16, extra);

	for (int round = 0; round < 2; round++) {
		struct hostile_peer hp;
		const char *err = hostile_join(&hp, sock, 4);
		cr_assert_null(err, "%s", err);
		struct vm_probe before;
		cr_assert(probe_vm(&d, "vmf", &before));
		cr_assert_eq(ftruncate(hp.shm_fd, 0), 0);
		/* Ring the host so its poller looks at the (gone) rings. */
		uint64_t one = 1;
		for (unsigned v = 0; v < hp.vectors; v++)
			cr_assert_eq(write(hp.host_fds[v], &one, sizeof one), 8);
		/* The host drops us (a reject), and lives. */
		struct vm_probe pr;
		do {
			cr_assert(probe_vm(&d, "vmf", &pr), "vamosd does not answer");
			usleep(10000);
		} while (pr.rejects == before.rejects);
		hostile_leave(&hp);
		/* The file is whole again: the next peer is served. */
		well_behaved_echoes(sock, 0, 100);
		well_behaved_echoes(d.vm_sock[0], 100, 100);
	}

	/* Shrunk, and then the worker dies before it faults on it: its
	 * keeper's next worker grows the file back and takes over. */
	struct hostile_peer hp;
	const char *err = hostile_join(&hp, sock, 4);
	cr_assert_null(err, "%s", err);
	pid_t worker = daemon_worker(&d);
	cr_assert_gt(worker, 0);
	cr_assert_eq(ftruncate(hp.shm_fd, 0), 0);
	cr_assert_eq(kill(worker, SIGKILL), 0);
	while (daemon_worker(&d) == worker || daemon_worker(&d) == 0) {
		cr_assert_eq(waitpid(d.pid, NULL, WNOHANG), 0, "the keeper gave up");
		usleep(10000);
	}
	/* The new worker answers: it took the VM over (whether it knew of
	 * our connection or not, which depends on how far the keeper got). */
	struct vm_probe pr;
	while (!probe_vm(&d, "vmf", &pr)) {
		cr_assert_eq(waitpid(d.pid, NULL, WNOHANG), 0, "the keeper gave up");
		usleep(10000);
	}
	struct stat st;
	cr_assert_eq(fstat(hp.shm_fd, &st), 0);
	cr_assert_geq(st.st_size, 65536 * 2 * 4, "the file was not grown back");
	hostile_leave(&hp);
	wait_peer("vmf", false);
	well_behaved_echoes(sock, 0, 100);
	well_behaved_echoes(d.vm_sock[0], 100, 100);

	stops_cleanly(SIGTERM);
	daemon_cleanup(&d);
	unlink(sock);
	unlink(file);
	rmdir(dir);
}

/* Requests that block long, queued beyond what the pool runs, then a
 * stop: the drain gives up on them, nothing posts to a freed poller,
 * and what waits is dropped rather than run. */
static void long_requests_then(int sig)
{
	start(2, 1u << 16, NULL);
	struct vamos_ivshmem_peer *p = join_sock(d.vm_sock[0]);
	struct raw r;
	open_raw(p, 0, &r);
	for (uint64_t id = 0; id < 12; id++)
		cr_assert_eq(raw_request(&r, id, VAMOS_SERVICE_SLEEP, 10000, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	while (daemon_stat(&d, "vm0", 9) < 12)
		usleep(10000);
	stops_cleanly(sig);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

Test(hostile, sigterm_with_long_blocking_requests_stops_cleanly, .timeout = 120)
{
	long_requests_then(SIGTERM);
}

Test(hostile, sigusr2_with_long_blocking_requests_restarts_cleanly, .timeout = 120)
{
	long_requests_then(SIGUSR2);
}

/* One VM's long blocking requests must not hold up another's. */
Test(hostile, one_vms_blocking_work_does_not_starve_another, .timeout = 120)
{
	start(2, 1u << 16, NULL);
	struct vamos_ivshmem_peer *bad = join_sock(d.vm_sock[0]);
	struct raw br;
	open_raw(bad, 0, &br);
	for (uint64_t id = 0; id < 16; id++)
		cr_assert_eq(raw_request(&br, id, VAMOS_SERVICE_SLEEP, 10000, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(br.ch), 0);
	while (daemon_stat(&d, "vm0", 9) < 16) /* in flight */
		usleep(10000);
	struct vm_probe pr;
	cr_assert(probe_vm(&d, "vm0", &pr));
	long long waiting = pr.queued;

	/* The good VM's short request is served before any of the bad VM's
	 * waiting ones even starts. */
	struct vamos_ivshmem_peer *good = join_sock(d.vm_sock[1]);
	struct raw gr;
	open_raw(good, 0, &gr);
	uint64_t id = 100;
	cr_assert_eq(raw_request(&gr, id, VAMOS_SERVICE_SLEEP, 1, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(gr.ch), 0);
	struct tally t = { 0 };
	while (t.replies < 1)
		cr_assert_geq(raw_replies(&gr, 5000, tally_reply, &t), 0);
	cr_assert_eq(t.corrupt + t.errors, 0);
	/* Each of the bad VM's requests sleeps 10 s: none is done yet, and
	 * none of those waiting has started. */
	cr_assert_eq(daemon_stat(&d, "vm0", 9), 16, "the good VM waited behind the bad one");
	cr_assert_gt(waiting, 0, "the pool runs all 16 at once?");
	cr_assert(probe_vm(&d, "vm0", &pr));
	cr_assert_eq(pr.queued, waiting, "the good VM waited behind the bad one's queue");

	/* The bad VM leaves: what it left waiting is dropped, not run. */
	vamos_chan_close(br.ch);
	vamos_ivshmem_peer_close(bad);
	wait_peer("vm0", false);
	cr_assert(probe_vm(&d, "vm0", &pr));
	cr_assert_eq(pr.queued, 0);
	cr_assert_eq(pr.dropped, waiting);
	vamos_chan_close(gr.ch);
	vamos_ivshmem_peer_close(good);
	stops_cleanly(SIGTERM);
	daemon_cleanup(&d);
}

/* Join, queue all the large blocking requests the rings take, leave;
 * again and again: what vamosd holds for the VM stays within its limit. */
Test(hostile, queued_memory_is_bounded_per_vm_across_sessions, .timeout = 180)
{
	daemon_vm_options = ",max_queued_bytes=1M";
	start(1, 1u << 20, NULL);
	daemon_vm_options = NULL;
	static unsigned char payload[60 << 10];
	long long dropped = 0;
	for (int round = 0; round < 3; round++) {
		struct vamos_ivshmem_peer *p = join_sock(d.vm_sock[0]);
		struct raw r[4];
		uint64_t id = 0;
		for (unsigned c = 0; c < 4; c++) {
			open_raw(p, c, &r[c]);
			while (raw_request(&r[c], id++, VAMOS_SERVICE_SLEEP, 10000, payload,
					   sizeof payload) == 0)
				;
			cr_assert_eq(vamos_chan_flush(r[c].ch), 0);
		}
		/* Everything the rings hold is taken or back-pressured: the
		 * queue is at its limit, not beyond. */
		struct vm_probe pr;
		do {
			cr_assert(probe_vm(&d, "vm0", &pr));
		} while (pr.queued_bytes + (long long)sizeof payload <= pr.max_queued_bytes &&
			 usleep(10000) == 0);
		cr_assert_leq(pr.queued_bytes, 1 << 20);
		for (unsigned c = 0; c < 4; c++)
			vamos_chan_close(r[c].ch);
		vamos_ivshmem_peer_close(p);
		wait_peer("vm0", false);
		cr_assert(probe_vm(&d, "vm0", &pr));
		cr_assert_eq(pr.queued, 0, "a departed session's work still waits");
		cr_assert_eq(pr.queued_bytes, 0);
		cr_assert_gt(pr.dropped, dropped);
		dropped = pr.dropped;
	}
	stops_cleanly(SIGTERM);
	daemon_cleanup(&d);
}
