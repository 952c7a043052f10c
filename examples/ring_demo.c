/* SPDX-License-Identifier: MIT */
/*
 * vamos-ring-demo: two processes share one channel through a file in
 * /dev/shm. The "guest" sends numbered requests in batches; the "host"
 * echoes each one back as a reply; the guest checks every reply. Each side
 * polls briefly when idle, then announces it sleeps and blocks on an
 * eventfd; the other side rings that eventfd only when publish asks it to.
 * Prints records/s and how many doorbells were rung.
 *
 *   vamos-ring-demo [--records N] [--payload BYTES] [--batch N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vamos/ring.h"

#define SPINS_BEFORE_SLEEP 2000
#define TYPE_ECHO 1

struct side_stats {
	uint64_t doorbells_rung, sleeps;
};

/* What both processes see: the shm mapping is separate; this small block
 * of MAP_SHARED anonymous memory carries the guest's stats back. */
struct report {
	struct side_stats guest;
	uint64_t replies_ok;
	char error[128];
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ring(int fd, struct side_stats *st)
{
	st->doorbells_rung++;
	if (eventfd_write(fd, 1)) {
		perror("eventfd_write");
		exit(1);
	}
}

/* Poll a little, then sleep until @bell if the consumer is still empty.
 * Returns -EPROTO if the ring broke. */
static int idle(struct vamos_consumer *c, int bell, unsigned *spins,
		struct side_stats *st)
{
	if (++*spins < SPINS_BEFORE_SLEEP) {
#if defined(__x86_64__)
		__builtin_ia32_pause();
#endif
		return 0;
	}
	*spins = 0;
	int rc = vamos_consumer_prepare_sleep(c);
	if (rc == 1) {
		eventfd_t v;
		st->sleeps++;
		eventfd_read(bell, &v);
		vamos_consumer_awake(c);
	}
	return rc < 0 ? rc : 0;
}

static int run_guest(struct vamos_channel *ch, int to_host, int from_host,
		     uint64_t records, uint32_t payload, unsigned batch,
		     struct report *rep)
{
	unsigned char *buf = calloc(1, payload);
	struct vamos_record rec[64];
	uint64_t sent = 0, got = 0;
	unsigned spins = 0;
	while (got < records) {
		unsigned n = 0;
		void *slot;
		while (n < batch && sent < records &&
		       vamos_producer_reserve(&ch->tx, payload, &slot) == 0) {
			memcpy(buf, &sent, sizeof sent);
			memcpy(slot, buf, payload);
			vamos_producer_commit(&ch->tx, TYPE_ECHO, payload);
			sent++, n++;
		}
		if (n && vamos_producer_publish(&ch->tx) == 1)
			ring(to_host, &rep->guest);

		int k = vamos_consumer_peek(&ch->rx, rec, 64);
		if (k < 0) {
			snprintf(rep->error, sizeof rep->error, "guest: reply ring broken: %s",
				 vamos_consumer_error(&ch->rx));
			return 1;
		}
		for (int i = 0; i < k; i++, got++) {
			uint64_t seq;
			memcpy(&seq, rec[i].data, sizeof seq);
			if (seq != got || rec[i].len != payload) {
				snprintf(rep->error, sizeof rep->error,
					 "guest: reply %" PRIu64 " carries %" PRIu64, got, seq);
				return 1;
			}
		}
		if (k) {
			vamos_consumer_release(&ch->rx);
			spins = 0;
		} else if (!n && idle(&ch->rx, from_host, &spins, &rep->guest) < 0) {
			snprintf(rep->error, sizeof rep->error, "guest: %s",
				 vamos_consumer_error(&ch->rx));
			return 1;
		}
	}
	rep->replies_ok = got;
	free(buf);
	return 0;
}

static int run_host(struct vamos_channel *ch, int from_guest, int to_guest,
		    uint64_t records, struct side_stats *st)
{
	struct vamos_record rec[64];
	uint64_t served = 0;
	unsigned spins = 0;
	while (served < records) {
		int k = vamos_consumer_peek(&ch->rx, rec, 64);
		if (k < 0) {
			fprintf(stderr, "host: request ring broken: %s\n",
				vamos_consumer_error(&ch->rx));
			return 1;
		}
		if (k == 0) {
			if (idle(&ch->rx, from_guest, &spins, st) < 0)
				return 1;
			continue;
		}
		spins = 0;
		for (int i = 0; i < k; i++) {
			int rc;
			while ((rc = vamos_producer_send(&ch->tx, TYPE_ECHO, rec[i].data,
							 rec[i].len)) == -EAGAIN) {
				/* Reply ring full: show the guest what we have. */
				if (vamos_producer_publish(&ch->tx) == 1)
					ring(to_guest, st);
				sched_yield();
			}
			if (rc) {
				fprintf(stderr, "host: reply failed: %s\n", strerror(-rc));
				return 1;
			}
		}
		served += (uint64_t)k;
		vamos_consumer_release(&ch->rx);
		if (vamos_producer_publish(&ch->tx) == 1)
			ring(to_guest, st);
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t records = 2000000;
	uint32_t payload = 64;
	unsigned batch = 32;
	static const struct option opts[] = {
		{"records", required_argument, NULL, 'n'},
		{"payload", required_argument, NULL, 'p'},
		{"batch", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	for (int c; (c = getopt_long(argc, argv, "n:p:b:h", opts, NULL)) != -1;) {
		switch (c) {
		case 'n': records = strtoull(optarg, NULL, 10); break;
		case 'p': payload = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'b': batch = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s [--records N] [--payload BYTES 8..65536] [--batch 1..64]\n",
				argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (payload < 8 || payload > 65536 || batch < 1 || batch > 64 || records == 0) {
		fprintf(stderr, "%s: payload must be 8..65536 bytes, batch 1..64, records > 0\n",
			argv[0]);
		return 2;
	}

	/* The shared file: what a VM would see as its ivshmem BAR. */
	const struct vamos_region_params params = {1, 1u << 18, 1u << 18};
	size_t size = vamos_region_size(&params);
	char path[64];
	snprintf(path, sizeof path, "/dev/shm/vamos-demo-%d", (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		fprintf(stderr, "%s: cannot create %s: %s\n", argv[0], path, strerror(errno));
		return 1;
	}
	unlink(path); /* both processes hold it open; nothing is left behind */
	int to_host = eventfd(0, EFD_CLOEXEC), to_guest = eventfd(0, EFD_CLOEXEC);
	struct report *rep = mmap(NULL, sizeof *rep, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned char *host_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct vamos_region host;
	if (to_host < 0 || to_guest < 0 || rep == MAP_FAILED || host_map == MAP_FAILED ||
	    vamos_region_init(host_map, size, &params, &host)) {
		fprintf(stderr, "%s: setup failed: %s\n", argv[0], strerror(errno));
		return 1;
	}

	double t0 = now();
	pid_t guest_pid = fork();
	if (guest_pid < 0) {
		perror("fork");
		return 1;
	}
	if (guest_pid == 0) {
		/* The guest maps the file itself, at an address of its own. */
		unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		munmap(host_map, size);
		struct vamos_region guest;
		struct vamos_channel ch;
		if (m == MAP_FAILED || vamos_region_attach(m, size, &guest) ||
		    vamos_channel_open(&guest, 0, VAMOS_SIDE_GUEST, &ch)) {
			snprintf(rep->error, sizeof rep->error, "guest: attach failed: %s",
				 guest.error ? guest.error : strerror(errno));
			_exit(1);
		}
		vamos_region_set_state(&guest, VAMOS_SIDE_GUEST, VAMOS_STATE_READY);
		printf("guest pid %d mapped the region at %p (host: %p)\n", (int)getpid(),
		       (void *)m, (void *)host_map);
		fflush(stdout);
		int rc = run_guest(&ch, to_host, to_guest, records, payload, batch, rep);
		vamos_region_set_state(&guest, VAMOS_SIDE_GUEST, VAMOS_STATE_CLOSED);
		_exit(rc);
	}

	struct vamos_channel ch;
	struct side_stats hst = {0};
	int rc = vamos_channel_open(&host, 0, VAMOS_SIDE_HOST, &ch);
	if (rc == 0)
		rc = run_host(&ch, to_host, to_guest, records, &hst);
	if (rc)
		kill(guest_pid, SIGKILL);
	int status;
	waitpid(guest_pid, &status, 0);
	double secs = now() - t0;
	if (rc || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "demo failed: %s\n", rep->error[0] ? rep->error : "host side error");
		return 1;
	}

	uint64_t moved = 2 * records;
	uint64_t bells = hst.doorbells_rung + rep->guest.doorbells_rung;
	printf("host pid %d served %" PRIu64 " requests of %u bytes (guest batches of up to %u);"
	       " all %" PRIu64 " replies matched\n",
	       (int)getpid(), records, payload, batch, rep->replies_ok);
	printf("  %.3f s: %.2f M round trips/s, %.2f M records/s both ways, %.2f GB/s\n",
	       secs, records / secs / 1e6, moved / secs / 1e6, moved * (double)payload / secs / 1e9);
	printf("  doorbells rung: guest->host %" PRIu64 ", host->guest %" PRIu64
	       " = %.6f per record (sleeps: host %" PRIu64 ", guest %" PRIu64 ")\n",
	       rep->guest.doorbells_rung, hst.doorbells_rung, (double)bells / moved,
	       hst.sleeps, rep->guest.sleeps);
	return 0;
}
