/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "scenarios.h"
#include "stress.h"

/* Both ends of channel 0 of a fresh region at @mem. */
struct pair {
	struct vamos_region host_view, guest_view;
	struct vamos_channel host, guest;
};

static const char *open_pair(void *mem, size_t size,
			     const struct vamos_region_params *params,
			     struct pair *out)
{
	if (vamos_region_init(mem, size, params, &out->host_view))
		return out->host_view.error;
	if (vamos_region_attach(mem, size, &out->guest_view))
		return out->guest_view.error;
	if (vamos_channel_open(&out->host_view, 0, VAMOS_SIDE_HOST, &out->host) ||
	    vamos_channel_open(&out->guest_view, 0, VAMOS_SIDE_GUEST, &out->guest))
		return "channel open failed";
	return NULL;
}

/* How the producer sends: reserve/commit, bursts, or array records. */
enum stress_mode { STRESS_RESERVE, STRESS_BURST, STRESS_ARRAY };

struct producer_arg {
	struct vamos_producer *p;
	int bell;
	uint64_t records;
	enum stress_mode mode;
	struct stress_stats st;
	const char *err;
};

static void *producer_thread(void *a)
{
	struct producer_arg *arg = a;
	switch (arg->mode) {
	case STRESS_RESERVE:
		arg->err = stress_produce(arg->p, arg->bell, arg->records, &arg->st);
		break;
	case STRESS_BURST:
		arg->err = stress_produce_burst(arg->p, arg->bell, arg->records, &arg->st);
		break;
	case STRESS_ARRAY:
		arg->err = stress_produce_array(arg->p, arg->bell, arg->records, &arg->st);
		break;
	}
	return NULL;
}

static const char *stress_threads(uint64_t records, enum stress_mode mode)
{
	struct vamos_region_params params = {1, 8192, 64};
	size_t size = vamos_region_size(&params);
	void *mem = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
	struct pair pr;
	const char *err = mem ? open_pair(mem, size, &params, &pr) : "out of memory";
	int bell = eventfd(0, EFD_CLOEXEC);
	if (!err && bell < 0)
		err = "eventfd failed";
	if (!err) {
		struct producer_arg arg = {.p = &pr.guest.tx, .bell = bell,
					   .records = records, .mode = mode};
		struct stress_stats got = {0};
		pthread_t t;
		if (pthread_create(&t, NULL, producer_thread, &arg))
			err = "pthread_create failed";
		else {
			err = mode == STRESS_ARRAY ?
				stress_consume_array(&pr.host.rx, bell, records, &got) :
				stress_consume(&pr.host.rx, bell, records, &got);
			pthread_join(t, NULL);
			if (!err)
				err = arg.err;
		}
		struct vamos_record r;
		if (!err && (got.records != records ||
			     vamos_consumer_peek(&pr.host.rx, &r, 1) != 0))
			err = "record count differs from what was sent";
	}
	if (bell >= 0)
		close(bell);
	free(mem);
	return err;
}

const char *scenario_stress_threads(uint64_t records)
{
	return stress_threads(records, STRESS_RESERVE);
}

const char *scenario_stress_burst_threads(uint64_t records)
{
	return stress_threads(records, STRESS_BURST);
}

const char *scenario_stress_array_threads(uint64_t records)
{
	return stress_threads(records, STRESS_ARRAY);
}

const char *scenario_stress_processes(uint64_t records)
{
	struct vamos_region_params params = {1, 4096, 64};
	size_t size = 1u << 16;
	int fd = memfd_create("vamos-stress", MFD_CLOEXEC);
	int bell = eventfd(0, EFD_CLOEXEC);
	if (fd < 0 || bell < 0 || ftruncate(fd, (off_t)size))
		return "memfd/eventfd setup failed";
	unsigned char *host_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct vamos_region host;
	if (host_map == MAP_FAILED || vamos_region_init(host_map, size, &params, &host))
		return "host mapping failed";

	pid_t child = fork();
	if (child < 0)
		return "fork failed";
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
		_exit(stress_produce(&ch.tx, bell, records, &st) ? 12 : 0);
	}

	struct vamos_channel ch;
	struct stress_stats got = {0};
	const char *err = "host channel open failed";
	if (vamos_channel_open(&host, 0, VAMOS_SIDE_HOST, &ch) == 0)
		err = stress_consume(&ch.rx, bell, records, &got);
	int status = 0;
	if (err)
		kill(child, SIGKILL);
	if (waitpid(child, &status, 0) != child)
		err = err ? err : "waitpid failed";
	if (!err && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		err = "guest process failed (exit 10: same address, 11: attach, 12: produce)";
	if (!err && got.records != records)
		err = "record count differs from what was sent";
	munmap(host_map, size);
	close(fd);
	close(bell);
	return err;
}

/* ------------------------------------------------------------- wakeup */

#define TYPE_DATA 1
#define TYPE_STOP 2

struct wakeup {
	struct pair pr;
	int bell;
	_Atomic uint64_t sleep_gen;  /* consumer: odd while committed to sleep */
	_Atomic uint64_t received;   /* consumer: records so far */
	_Atomic uint64_t announced;  /* consumer: prepare_sleep calls so far */
	_Atomic uint64_t rung;       /* producer: doorbells rung so far */
	/* consumer: `rung` as loaded just before the announcement of the sleep
	 * it is committed to now; written before sleep_gen turns odd. */
	_Atomic uint64_t rung_before_sleep;
	const char *err;
};

static void *sleepy_consumer(void *a)
{
	struct wakeup *s = a;
	struct vamos_consumer *c = &s->pr.host.rx;
	struct vamos_record rec[16];
	uint64_t expect = 0;
	for (;;) {
		int n = vamos_consumer_peek(c, rec, 16);
		if (n < 0) {
			s->err = vamos_consumer_error(c);
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (rec[i].type == TYPE_STOP) {
				atomic_store(&s->received, expect);
				return NULL;
			}
			uint64_t seq;
			memcpy(&seq, rec[i].data, sizeof seq);
			if (seq != expect++) {
				s->err = "record out of order";
				return NULL;
			}
		}
		vamos_consumer_release(c);
		atomic_store(&s->received, expect);
		if (n)
			continue;
		/* Loaded before the announcement: a doorbell counted after this
		 * load may be the one that takes it; one counted before cannot. */
		uint64_t rung = atomic_load(&s->rung);
		atomic_fetch_add(&s->announced, 1);
		int rc = vamos_consumer_prepare_sleep(c);
		if (rc < 0) {
			s->err = vamos_consumer_error(c);
			return NULL;
		}
		if (rc == 0)
			continue;
		/* Committed to sleep: nothing published after this point can be
		 * missed, because the producer will see the announcement. */
		atomic_store(&s->rung_before_sleep, rung);
		atomic_fetch_add(&s->sleep_gen, 1);
		eventfd_t v;
		if (eventfd_read(s->bell, &v)) {
			s->err = "eventfd_read failed";
			return NULL;
		}
		/* Even again before the announcement is withdrawn, so a producer
		 * that sees publish return 0 also sees the generation move. */
		atomic_fetch_add(&s->sleep_gen, 1);
		vamos_consumer_awake(c);
	}
}

/* Counted before the write, so a consumer woken by it sees the count. */
static void ring_bell(struct wakeup *s)
{
	atomic_fetch_add(&s->rung, 1);
	eventfd_write(s->bell, 1);
}

/* Producer side of the wakeup scenario; runs on the calling thread. Every
 * other round it first waits until the consumer is committed to sleep, and
 * then checks the ring's contract for that sleep: a doorbell is rung after
 * its announcement, by this publish or by an earlier one that took it. */
static const char *wakeup_producer(struct wakeup *s, int rounds, uint64_t *sent,
				   uint64_t *checked)
{
	struct vamos_producer *p = &s->pr.guest.tx;
	uint64_t seq = 0, rng = 88172645463325252ull;
	for (int round = 0; round < rounds; round++) {
		rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
		bool wait_for_sleep = rng & 1;
		uint64_t gen = 0, rung_before = 0;
		/* Wait until the consumer drained everything and is committed
		 * to sleep (odd generation). */
		while (wait_for_sleep && (atomic_load(&s->received) != seq ||
					  !((gen = atomic_load(&s->sleep_gen)) & 1)))
			sched_yield();
		if (wait_for_sleep)
			rung_before = atomic_load(&s->rung_before_sleep);
		for (uint64_t k = 1 + (rng >> 8) % 8; k > 0; k--, seq++) {
			while (vamos_producer_send(p, TYPE_DATA, &seq, sizeof seq) == -EAGAIN) {
				if (vamos_producer_publish(p) == 1)
					ring_bell(s);
				sched_yield();
			}
		}
		int rc = vamos_producer_publish(p);
		if (rc < 0)
			return vamos_producer_error(p);
		if (rc == 1)
			ring_bell(s);
		/* Still the same sleep (the generation did not move): some
		 * doorbell must have been counted since its announcement. */
		if (wait_for_sleep && atomic_load(&s->sleep_gen) == gen) {
			if (atomic_load(&s->rung) <= rung_before)
				return "consumer asleep with no doorbell rung since it announced";
			(*checked)++;
		}
	}
	while (vamos_producer_send(p, TYPE_STOP, NULL, 0) == -EAGAIN)
		sched_yield();
	if (vamos_producer_publish(p) == 1)
		ring_bell(s);
	*sent = seq;
	return NULL;
}

const char *scenario_wakeup(int rounds)
{
	struct vamos_region_params params = {1, 1024, 64};
	size_t size = vamos_region_size(&params);
	struct wakeup *s = calloc(1, sizeof *s);
	void *mem = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
	const char *err = s && mem ? open_pair(mem, size, &params, &s->pr) : "out of memory";
	pthread_t t;
	if (!err && (s->bell = eventfd(0, EFD_CLOEXEC)) < 0)
		err = "eventfd failed";
	if (!err && pthread_create(&t, NULL, sleepy_consumer, s))
		err = "pthread_create failed";
	if (!err) {
		uint64_t sent = 0, checked = 0;
		err = wakeup_producer(s, rounds, &sent, &checked);
		if (err) { /* stop the consumer so it can be joined */
			vamos_producer_send(&s->pr.guest.tx, TYPE_STOP, NULL, 0);
			vamos_producer_publish(&s->pr.guest.tx);
			eventfd_write(s->bell, 1);
		}
		pthread_join(t, NULL);
		if (!err)
			err = s->err;
		if (!err && atomic_load(&s->received) != sent)
			err = "not every record arrived";
		/* publish asks to ring only by taking an announcement, and each
		 * announcement can be taken once. */
		if (!err && atomic_load(&s->rung) > atomic_load(&s->announced))
			err = "more doorbells than sleep announcements";
		/* Sanity: the checked path ran (a consumer that never slept would
		 * hang the producer's wait instead). */
		if (!err && checked == 0)
			err = "no sleep was ever checked";
		close(s->bell);
	}
	free(mem);
	free(s);
	return err;
}
