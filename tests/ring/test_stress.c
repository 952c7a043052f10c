/* SPDX-License-Identifier: MIT */
/* 10^7 numbered, checksummed records through one ring: between two threads,
 * and between two processes that map the same file at different addresses.
 * Nothing may be lost, duplicated, reordered or corrupted. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "fixture.h"
#include "stress.h"

#define RECORDS 10000000ull

struct producer_arg {
	struct vamos_producer *p;
	int bell;
	struct stress_stats st;
	const char *err;
};

static void *producer_thread(void *a)
{
	struct producer_arg *arg = a;
	arg->err = stress_produce(arg->p, arg->bell, RECORDS, &arg->st);
	return NULL;
}

Test(ring_stress, two_threads, .timeout = 600)
{
	struct fixture f;
	fixture_init(&f, 8192, 64, 1);
	int bell = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(bell, 0);
	struct producer_arg arg = {.p = &f.guest.tx, .bell = bell};
	struct stress_stats got = {0};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, producer_thread, &arg), 0);
	const char *err = stress_consume(&f.host.rx, bell, RECORDS, &got);
	pthread_join(t, NULL);
	cr_assert_null(arg.err, "producer: %s", arg.err);
	cr_assert_null(err, "consumer: %s after %lu records", err, got.records);
	cr_assert_eq(got.records, RECORDS);
	struct vamos_record r;
	cr_assert_eq(vamos_consumer_peek(&f.host.rx, &r, 1), 0, "nothing extra");
	cr_log_info("threads: %lu batches, %lu doorbells, %lu sleeps",
		    arg.st.batches, arg.st.doorbells, got.sleeps);
	close(bell);
	fixture_fini(&f);
}

Test(ring_stress, two_processes, .timeout = 600)
{
	struct vamos_region_params params = {1, 4096, 64};
	size_t size = 1u << 16;
	int fd = memfd_create("vamos-stress", MFD_CLOEXEC);
	int bell = eventfd(0, EFD_CLOEXEC);
	cr_assert(fd >= 0 && bell >= 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	unsigned char *host_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(host_map, MAP_FAILED);
	struct vamos_region host;
	cr_assert_eq(vamos_region_init(host_map, size, &params, &host), 0);

	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		/* The guest: its own mapping at another address, then attach. */
		unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED || m == host_map)
			_exit(10);
		munmap(host_map, size);
		struct vamos_region guest;
		struct vamos_channel ch;
		struct stress_stats st = {0};
		if (vamos_region_attach(m, size, &guest) ||
		    vamos_channel_open(&guest, 0, VAMOS_SIDE_GUEST, &ch))
			_exit(11);
		_exit(stress_produce(&ch.tx, bell, RECORDS, &st) ? 12 : 0);
	}

	struct vamos_channel ch;
	struct stress_stats got = {0};
	cr_assert_eq(vamos_channel_open(&host, 0, VAMOS_SIDE_HOST, &ch), 0);
	const char *err = stress_consume(&ch.rx, bell, RECORDS, &got);
	int status;
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "guest process failed: status %d", status);
	cr_assert_null(err, "consumer: %s after %lu records", err, got.records);
	cr_assert_eq(got.records, RECORDS);
	cr_log_info("processes: %lu sleeps", got.sleeps);
	munmap(host_map, size);
	close(fd);
	close(bell);
}
