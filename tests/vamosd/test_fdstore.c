/* SPDX-License-Identifier: MIT */
/* vamosd under a service manager's fd store (a stand-in for systemd):
 * its keeper stores every VM's descriptors, and a vamosd killed whole
 * (keeper and worker) or stopped, then started again through the store,
 * takes them back: the same local peer attaches again to the same region
 * on its same connection, and is served. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <vamos/client.h>
#include <vamos/ivshmem.h>
#include <vamos/protocol.h>
#include <vamos/ring.h>

#include "checks.h"
#include "daemon.h"
#include "fdstore_standin.h"

static struct daemon d;
static struct standin st;

static void pass_the_store(void)
{
	standin_child_env(&st);
}

/* Pump the stand-in until @prefix names exactly @n descriptors and READY
 * came @ready times. */
static void store_holds(const char *prefix, unsigned n, unsigned ready)
{
	while (standin_count(&st, prefix) != n || st.ready < ready)
		cr_assert_geq(standin_pump(&st, 30000), 1,
			      "the store holds %u %s* (want %u), READY %u (want %u)",
			      standin_count(&st, prefix), prefix, n, st.ready, ready);
	cr_assert_eq(st.bad, 0);
}

static void start_under_the_store(unsigned vms)
{
	const char *err = standin_open(&st);
	cr_assert_null(err, "%s", err);
	daemon_before_exec = pass_the_store;
	err = daemon_start(&d, vms, 1u << 16, NULL);
	cr_assert_null(err, "%s", err);
	/* Each VM: its text, listen, shm and 4 host eventfds. */
	for (unsigned i = 0; i < vms; i++) {
		char prefix[16];
		snprintf(prefix, sizeof prefix, "vm%u.", i);
		store_holds(prefix, 7, 1);
	}
}

static struct vamos_ivshmem_peer *join(unsigned vm)
{
	struct vamos_ivshmem_peer *p;
	const char *why = NULL;
	int rc = vamos_ivshmem_peer_connect(d.vm_sock[vm], 4, 5000, &p, &why);
	cr_assert_eq(rc, 0, "vm%u: %s (%s)", vm, why, strerror(-rc));
	return p;
}

/* @n echoes on channel 0 of @p, each answered with its id. */
static void echoes(struct vamos_ivshmem_peer *p, uint64_t first, unsigned n)
{
	struct vamos_chan *ch;
	cr_assert_eq(vamos_ivshmem_peer_channel(p, 0, &ch), 0);
	struct raw r;
	const char *err = raw_open(&r, ch);
	cr_assert_null(err, "%s", err);
	struct tally t = { 0 };
	for (uint64_t id = first; id < first + n; id++)
		cr_assert_eq(raw_request(&r, id, VAMOS_SERVICE_ECHO, 0, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	while (t.replies < n)
		cr_assert_gt(raw_replies(&r, 10000, tally_reply, &t), 0, "replies stopped");
	cr_assert_eq(t.errors + t.duplicates + t.corrupt, 0);
	vamos_chan_close(ch);
}

static void finish(void)
{
	daemon_signal(&d, SIGKILL, true);
	daemon_cleanup(&d);
	daemon_before_exec = NULL;
	standin_close(&st);
}

Test(vamosd_fdstore, sigkill_of_keeper_and_worker_then_start_keeps_the_peer, .timeout = 120)
{
	start_under_the_store(1);
	struct vamos_ivshmem_peer *p = join(0);
	int id = vamos_ivshmem_peer_id(p);
	echoes(p, 0, 100);
	/* The peer joined: its connection and 4 eventfds are stored too. */
	store_holds("vm0.", 12, 1);

	/* Everything dies at once: the keeper by SIGKILL, its worker with it
	 * (PR_SET_PDEATHSIG). Only the store holds the VM's device now. */
	cr_assert_eq(daemon_signal(&d, SIGKILL, true), 128 + SIGKILL);
	const char *err = daemon_restart(&d, 1, 1u << 16, NULL);
	cr_assert_null(err, "%s", err);
	store_holds("vm0.", 12, 2);

	/* The peer never lost its connection: it attaches again, at the new
	 * host generation, to the same region, and is served. */
	cr_assert_eq(vamos_ivshmem_peer_dispatch(p), 0);
	const struct vamos_region *region = vamos_ivshmem_peer_region(p);
	cr_assert_eq(vamos_region_current(region), 0, "the host generation moved");
	cr_assert(vamos_region_same_layout(region), "the rings are the same");
	struct vamos_ivshmem_peer *again;
	const char *why = NULL;
	int rc;
	while ((rc = vamos_ivshmem_peer_reattach(p, &again, &why)) == -EAGAIN)
		usleep(1000);
	cr_assert_eq(rc, 0, "%s (%s)", why, strerror(-rc));
	cr_assert_eq(vamos_ivshmem_peer_id(again), id);
	echoes(again, 1000, 100);
	vamos_ivshmem_peer_close(again);
	vamos_ivshmem_peer_close(p);
	/* It left: its connection and eventfds leave the store. */
	store_holds("vm0.", 7, 2);
	finish();
}

Test(vamosd_fdstore, sigterm_then_start_keeps_a_client_and_drops_a_vm_left_out, .timeout = 120)
{
	start_under_the_store(2);
	struct vamos_client_params params = {
		.transport = VAMOS_TRANSPORT_LOCAL,
		.local_socket = d.vm_sock[0],
		.local_vectors = 4,
		.timeout_ms = 10000,
	};
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&params, &c, &why), 0, "%s", why);
	char out[16];
	uint32_t n = 0;
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_ECHO, 0, "before", 6, out, sizeof out, &n, -1), 0);
	store_holds("vm0.", 12, 1);
	struct vamos_ivshmem_peer *left_out = join(1);
	store_holds("vm1.", 12, 1);

	/* A stop drains and leaves the devices to the store: status 0. */
	cr_assert_eq(daemon_signal(&d, SIGTERM, true), 0);
	while (st.stopping < 1)
		cr_assert_geq(standin_pump(&st, 5000), 1, "STOPPING=1 was never said");
	cr_assert_eq(vamos_ivshmem_peer_dispatch(left_out), 0, "vm1's device is kept");

	/* Started again without vm1: vm1's descriptors leave the store and
	 * its peer sees its server gone; vm0's client carries on by itself. */
	const char *err = daemon_restart(&d, 1, 1u << 16, NULL);
	cr_assert_null(err, "%s", err);
	store_holds("vm1.", 0, 2);
	store_holds("vm0.", 12, 2);
	int rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, "after", 5, out, sizeof out, &n, -1);
	cr_assert_eq(rc, 0, "%s (%s)", strerror(-rc),
		     vamos_client_error(c) ? vamos_client_error(c) : "");
	cr_assert(n == 5 && !memcmp(out, "after", 5));
	while ((rc = vamos_ivshmem_peer_dispatch(left_out)) == 0)
		usleep(1000);
	cr_assert_eq(rc, -ECONNRESET);
	vamos_ivshmem_peer_close(left_out);
	vamos_client_close(c);
	finish();
}
