/* SPDX-License-Identifier: MIT */
/*
 * Runs inside the QEMU guest (statically linked, in the initramfs): opens
 * the ivshmem device through libvamos, reports the notification mode it
 * got, drives the echo workload on one channel and checks every reply.
 *
 *   vamos-guest-echo [--records N] [--batch B] [--channel I]
 *                    [--irq auto|vfio|poll] [--expect-mode interrupt|poll]
 *
 * Prints "guest: ..." lines, the last one with its counters, and exits 0
 * only if every reply came back intact and in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vamos/ivshmem.h>

#include "../ivshmem/echo.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t records = 100000;
	unsigned batch = 32, channel = 0;
	struct vamos_guest_params params = { .bind_vfio = 1 };
	const char *expect = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--records"))
			records = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--batch"))
			batch = (unsigned)strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--channel"))
			channel = (unsigned)strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--irq"))
			params.irq = !strcmp(argv[i + 1], "vfio") ? VAMOS_GUEST_IRQ_VFIO
				   : !strcmp(argv[i + 1], "poll") ? VAMOS_GUEST_IRQ_POLL
								 : VAMOS_GUEST_IRQ_AUTO;
		else if (!strcmp(argv[i], "--expect-mode"))
			expect = argv[i + 1];
		else {
			fprintf(stderr, "guest: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (batch == 0)
		batch = 1;

	struct vamos_guest *g;
	const char *why = NULL;
	int rc = vamos_guest_open(&params, &g, &why);
	if (rc) {
		printf("guest: cannot open the ivshmem device: %s (%s)\n", why, strerror(-rc));
		return 1;
	}
	const char *reason;
	enum vamos_notify_mode mode = vamos_guest_mode(g, &reason);
	printf("guest: device %s, peer id %d, mode %s (%s)\n", vamos_guest_pci_address(g),
	       vamos_guest_peer_id(g), vamos_notify_mode_name(mode), reason);
	if (expect && strcmp(expect, vamos_notify_mode_name(mode))) {
		printf("guest: expected mode %s\n", expect);
		vamos_guest_close(g);
		return 1;
	}
	struct vamos_chan *ch;
	if ((rc = vamos_guest_channel(g, channel, &ch))) {
		printf("guest: cannot open channel %u: %s\n", channel, strerror(-rc));
		vamos_guest_close(g);
		return 1;
	}
	char err[256];
	double t0 = now_s();
	const char *bad = echo_drive(ch, records, batch, 30000, err, sizeof err);
	double secs = now_s() - t0;
	struct vamos_chan_stats s = vamos_chan_stats(ch);
	if (bad)
		printf("guest: FAILED: %s\n", bad);
	else
		printf("guest: %llu records each way intact and in order, batch %u, %.2f s "
		       "(TCG), %.0f round trips/s\n",
		       (unsigned long long)records, batch, secs, (double)records / secs);
	printf("guest: stats records_sent=%llu records_received=%llu doorbells=%llu "
	       "interrupts_taken=%llu sleeps=%llu\n",
	       (unsigned long long)s.records_sent, (unsigned long long)s.records_received,
	       (unsigned long long)s.notifications_sent,
	       (unsigned long long)s.notifications_received, (unsigned long long)s.sleeps);
	vamos_chan_close(ch);
	vamos_guest_close(g);
	return bad ? 1 : 0;
}
