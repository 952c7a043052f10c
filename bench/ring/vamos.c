/* SPDX-License-Identifier: MIT */
/*
 * vamos: libvamos-ring, one channel of a region in malloc'd memory. The
 * host creates the region, the guest attaches to the same bytes; the
 * producer is the guest's request end (.tx), the consumer the host's (.rx).
 *
 * Unlike the other impls the consumer sleeps when idle, as a real host
 * would: it spins a bounded number of empty polls, announces sleep with
 * vamos_consumer_prepare_sleep() and blocks on an eventfd, the doorbell.
 * The producer rings it whenever vamos_producer_publish() asks to, and
 * counts those doorbells.
 *
 * Two queues share this code. "vamos" sends a batch as variable-length
 * records (vamos_producer_send_burst: a header per message, the path for
 * messages of any length). "vamos_array" uses that every message has the
 * same size, as the peers do with their fixed T: a batch goes as one array
 * record (vamos_producer_send_array: one header, one copy) and comes out
 * with one copy (vamos_consumer_peek_arrays). A single message is written
 * in place by both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vamos/ring.h>

#include "bench.h"

#define MSG_TYPE 1u
/* Empty polls before the consumer announces sleep. */
#define SPIN_POLLS 2000
/* A sleeping consumer checks every so often that no doorbell went
   missing: records published while it slept, and no doorbell, are fatal. */
#define SLEEP_TIMEOUT_MS 500
#define REPLY_CAPACITY 64u

struct vamos_state {
	void *mem;
	size_t mem_size;
	int doorbell; /* eventfd */
	struct vamos_region host_region;
	struct vamos_region guest_region;
	/* Each handle is touched by one thread only: keep them apart. */
	BENCH_ALIGNED struct vamos_channel guest; /* producer: guest.tx */
	BENCH_ALIGNED struct vamos_channel host;  /* consumer: host.rx */
	/* Producer-owned: messages made visible so far, stored after each
	   publish and after the doorbell it asked for (lost-wakeup check). */
	BENCH_ALIGNED uint64_t published;
	/* Producer-owned, for bursts: B messages in private memory (the
	   template, stamped per batch) and their descriptors. */
	unsigned char *msgs;
	struct vamos_msg *burst;
	bool arrays; /* vamos_array: batches as array records */
};

static uint32_t ring_capacity(const struct bench_case *bc)
{
	/* Same byte budget as the others, but at least 4 batches. */
	uint64_t want = 4ull * bc->batch * vamos_record_size(bc->payload);
	uint64_t cap = bc->ring_bytes;

	while (cap < want)
		cap <<= 1;
	return cap > VAMOS_RING_MAX_CAPACITY ? VAMOS_RING_MAX_CAPACITY
					     : (uint32_t)cap;
}

static void vamos_teardown(struct bench_case *bc)
{
	struct vamos_state *s = bc->state;

	if (!s)
		return;
	if (s->doorbell >= 0)
		close(s->doorbell);
	free(s->msgs);
	free(s->burst);
	free(s->mem);
	free(s);
	bc->state = NULL;
}

static int vamos_setup(struct bench_case *bc)
{
	struct vamos_region_params params = {
		.channel_count = 1,
		.request_capacity = ring_capacity(bc),
		.reply_capacity = REPLY_CAPACITY,
	};
	struct vamos_state *s;
	size_t size;
	int rc;

	s = aligned_alloc(BENCH_CACHE_LINE, sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	s->doorbell = -1;
	s->arrays = bc->impl == &bench_impl_vamos_array;
	bc->state = s;

	if (bc->payload > vamos_ring_max_payload(params.request_capacity)) {
		fprintf(stderr, "vamos: payload %u too large for a %u-byte ring\n",
			bc->payload, params.request_capacity);
		vamos_teardown(bc);
		return -EMSGSIZE;
	}
	size = vamos_region_size(&params);
	if (size == 0) {
		fprintf(stderr, "vamos: vamos_region_size() refused capacity %u\n",
			params.request_capacity);
		vamos_teardown(bc);
		return -EINVAL;
	}
	s->mem_size = (size + 4095) & ~(size_t)4095;
	s->mem = aligned_alloc(4096, s->mem_size);
	if (!s->mem) {
		vamos_teardown(bc);
		return -ENOMEM;
	}
	memset(s->mem, 0, s->mem_size);

	rc = vamos_region_init(s->mem, s->mem_size, &params, &s->host_region);
	if (rc != 0) {
		fprintf(stderr, "vamos: vamos_region_init: %s (%s)\n",
			strerror(-rc), s->host_region.error ? s->host_region.error : "?");
		vamos_teardown(bc);
		return rc;
	}
	rc = vamos_region_attach(s->mem, s->mem_size, &s->guest_region);
	if (rc != 0) {
		fprintf(stderr, "vamos: vamos_region_attach: %s (%s)\n",
			strerror(-rc), s->guest_region.error ? s->guest_region.error : "?");
		vamos_teardown(bc);
		return rc;
	}
	rc = vamos_channel_open(&s->host_region, 0, VAMOS_SIDE_HOST, &s->host);
	if (rc == 0)
		rc = vamos_channel_open(&s->guest_region, 0, VAMOS_SIDE_GUEST,
					&s->guest);
	if (rc != 0) {
		fprintf(stderr, "vamos: vamos_channel_open: %s\n", strerror(-rc));
		vamos_teardown(bc);
		return rc;
	}
	vamos_region_set_state(&s->host_region, VAMOS_SIDE_HOST, VAMOS_STATE_READY);
	vamos_region_set_state(&s->guest_region, VAMOS_SIDE_GUEST, VAMOS_STATE_READY);

	s->msgs = malloc((size_t)bc->payload * bc->batch);
	s->burst = calloc(bc->batch, sizeof(*s->burst));
	if (!s->msgs || !s->burst) {
		vamos_teardown(bc);
		return -ENOMEM;
	}
	memcpy(s->msgs, bc->tmpl, (size_t)bc->payload * bc->batch);
	for (uint32_t i = 0; i < bc->batch; i++)
		s->burst[i] = (struct vamos_msg){
			.data = s->msgs + (size_t)i * bc->payload,
			.len = bc->payload,
			.type = MSG_TYPE,
		};

	s->doorbell = eventfd(0, EFD_CLOEXEC);
	if (s->doorbell < 0) {
		rc = -errno;
		fprintf(stderr, "vamos: eventfd: %s\n", strerror(errno));
		vamos_teardown(bc);
		return rc;
	}
	return 0;
}

static void ring_doorbell(const struct vamos_state *s)
{
	uint64_t one = 1;

	while (write(s->doorbell, &one, sizeof(one)) != (ssize_t)sizeof(one))
		if (errno != EINTR)
			bench_fatal("vamos: doorbell write: %s", strerror(errno));
}

/* Publish messages up to @seq; ring the doorbell if the consumer asked.
   Returns the doorbells rung. */
static unsigned publish(struct vamos_state *s, struct vamos_producer *tx,
			uint64_t seq)
{
	int rc = vamos_producer_publish(tx);

	if (rc < 0)
		bench_fatal("vamos: publish: %s (%s)", strerror(-rc),
			    vamos_producer_error(tx) ? vamos_producer_error(tx) : "?");
	if (rc > 0)
		ring_doorbell(s);
	__atomic_store_n(&s->published, seq, __ATOMIC_RELEASE);
	return rc > 0;
}

/* Reserve room for one message, publishing and waiting while it is full. */
static void *reserve(struct bench_case *bc, struct vamos_state *s,
		     struct vamos_producer *tx, uint64_t seq, uint64_t *doorbells)
{
	void *p;
	int rc = vamos_producer_reserve(tx, bc->payload, &p);

	if (rc == -EAGAIN) {
		/* Full: let the consumer at what we have and wait for room. */
		*doorbells += publish(s, tx, seq);
		bench_set_doorbells(bc, *doorbells);
		do {
			bench_relax();
			rc = vamos_producer_reserve(tx, bc->payload, &p);
		} while (rc == -EAGAIN);
	}
	if (BENCH_UNLIKELY(rc != 0))
		bench_fatal("vamos: reserve: %s (%s)", strerror(-rc),
			    vamos_producer_error(tx) ? vamos_producer_error(tx) : "?");
	return p;
}

/* Write B messages numbered from @seq in place and publish them. */
static void produce_in_place(struct bench_case *bc, struct vamos_state *s,
			  struct vamos_producer *tx, uint64_t seq,
			  uint64_t *doorbells)
{
	const uint32_t P = bc->payload, B = bc->batch;

	for (uint32_t i = 0; i < B; i++) {
		void *p = reserve(bc, s, tx, seq, doorbells);

		bench_copy(p, bc->tmpl, P);
		bench_stamp(p, seq++);
		int rc = vamos_producer_commit(tx, MSG_TYPE, P);
		if (BENCH_UNLIKELY(rc != 0))
			bench_fatal("vamos: commit: %s", strerror(-rc));
	}
	*doorbells += publish(s, tx, seq);
	bench_set_doorbells(bc, *doorbells);
}

/*
 * Stamp B messages numbered from @seq in the private array and send them
 * with bursts, as the peers' bulk enqueue does; publish once they are all
 * in, and whenever the ring is full.
 */
static void produce_burst(struct bench_case *bc, struct vamos_state *s,
			  struct vamos_producer *tx, uint64_t seq,
			  uint64_t *doorbells)
{
	const uint32_t P = bc->payload, B = bc->batch;
	unsigned char *const msgs = s->msgs; /* not reloaded per stamp */

	for (uint32_t i = 0; i < B; i++)
		bench_stamp(msgs + (size_t)i * P, seq + i);
	for (uint32_t done = 0; done < B;) {
		int n = vamos_producer_send_burst(tx, s->burst + done, B - done);

		if (n == -EAGAIN) {
			*doorbells += publish(s, tx, seq + done);
			bench_set_doorbells(bc, *doorbells);
			bench_relax();
			continue;
		}
		if (BENCH_UNLIKELY(n <= 0))
			bench_fatal("vamos: send_burst: %s (%s)", strerror(-n),
				    vamos_producer_error(tx) ?
				    vamos_producer_error(tx) : "?");
		done += (uint32_t)n;
	}
	*doorbells += publish(s, tx, seq + B);
	bench_set_doorbells(bc, *doorbells);
}

/*
 * Stamp B messages numbered from @seq in the private array and send them
 * as array records, as the peers' bulk enqueue copies its array of T:
 * one record for the batch unless the ring's end or the consumer cuts it.
 */
static void produce_array(struct bench_case *bc, struct vamos_state *s,
			  struct vamos_producer *tx, uint64_t seq,
			  uint64_t *doorbells)
{
	const uint32_t P = bc->payload, B = bc->batch;
	unsigned char *const msgs = s->msgs; /* not reloaded per stamp */

	for (uint32_t i = 0; i < B; i++)
		bench_stamp(msgs + (size_t)i * P, seq + i);
	for (uint32_t done = 0; done < B;) {
		int n = vamos_producer_send_array(tx, MSG_TYPE,
						  s->msgs + (size_t)done * P,
						  P, B - done);

		if (n == -EAGAIN) {
			*doorbells += publish(s, tx, seq + done);
			bench_set_doorbells(bc, *doorbells);
			bench_relax();
			continue;
		}
		if (BENCH_UNLIKELY(n <= 0))
			bench_fatal("vamos: send_array: %s (%s)", strerror(-n),
				    vamos_producer_error(tx) ?
				    vamos_producer_error(tx) : "?");
		done += (uint32_t)n;
	}
	*doorbells += publish(s, tx, seq + B);
	bench_set_doorbells(bc, *doorbells);
}

/* One batch: a single message is written in place (fewer instructions than
   a burst or an array of one, which copy it twice), batches go in bursts
   or as array records. */
static void produce_batch(struct bench_case *bc, struct vamos_state *s,
			  struct vamos_producer *tx, uint64_t seq,
			  uint64_t *doorbells)
{
	if (bc->batch == 1)
		produce_in_place(bc, s, tx, seq, doorbells);
	else if (s->arrays)
		produce_array(bc, s, tx, seq, doorbells);
	else
		produce_burst(bc, s, tx, seq, doorbells);
}

static void vamos_producer(struct bench_case *bc)
{
	struct vamos_state *s = bc->state;
	struct vamos_producer *tx = &s->guest.tx;
	uint64_t seq = 0, doorbells = 0;

	while (!bench_stop_requested(bc)) {
		produce_batch(bc, s, tx, seq, &doorbells);
		seq += bc->batch;
	}
	bench_producer_finish(bc, seq);
	/* Whatever the consumer is doing, make sure it looks once more. */
	ring_doorbell(s);
}

/*
 * Sleep until the doorbell rings. Every SLEEP_TIMEOUT_MS, check that none
 * was lost: the consumer announced sleep on an empty ring, so any publish
 * since then had to ring, and the producer rings before it updates
 * s->published. Messages published beyond @expect with the eventfd still
 * silent mean a publish saw no announcement.
 */
static void wait_doorbell(struct bench_case *bc, struct vamos_state *s,
			  uint64_t expect)
{
	struct pollfd pfd = { .fd = s->doorbell, .events = POLLIN };
	uint64_t count;

	for (;;) {
		int rc = poll(&pfd, 1, SLEEP_TIMEOUT_MS);

		if (rc > 0)
			break;
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			bench_fatal("vamos: poll: %s", strerror(errno));

		uint64_t published = __atomic_load_n(&s->published,
						     __ATOMIC_ACQUIRE);
		if (published > expect && poll(&pfd, 1, 0) == 0)
			bench_fatal("vamos P=%u B=%u: lost wakeup: message %llu "
				    "was published while the consumer slept "
				    "and no doorbell came", bc->payload,
				    bc->batch, (unsigned long long)expect);
	}
	if (read(s->doorbell, &count, sizeof(count)) < 0 && errno != EAGAIN)
		bench_fatal("vamos: doorbell read: %s", strerror(errno));
}

/* Peek up to B messages, copy each into @priv and check it, release them.
   Returns how many, or fails the run if the ring is broken. */
static int consume(struct bench_case *bc, struct vamos_consumer *rx,
		   struct vamos_record *recs, unsigned char *priv,
		   uint64_t *expect)
{
	const uint32_t P = bc->payload;
	int n = vamos_consumer_peek(rx, recs, bc->batch);
	uint64_t next = *expect; /* in a register, as in the peers' loops */

	if (BENCH_UNLIKELY(n < 0))
		bench_fatal("vamos: peek: %s (%s)", strerror(-n),
			    vamos_consumer_error(rx) ? vamos_consumer_error(rx) : "?");
	for (int i = 0; i < n; i++) {
		if (BENCH_UNLIKELY(recs[i].len != P || recs[i].type != MSG_TYPE))
			bench_fatal("vamos: message %llu has length %u type %u",
				    (unsigned long long)next, recs[i].len,
				    recs[i].type);
		bench_copy(priv, recs[i].data, P);
		bench_sink(priv);
		bench_check(bc, priv, next++);
	}
	*expect = next;
	if (n > 0)
		vamos_consumer_release(rx);
	return n;
}

/* Peek up to B records, single messages or arrays of them; copy each
   record's messages into @priv in one go and check them; release. Returns
   how many messages, or fails the run if the ring is broken. */
static int consume_arrays(struct bench_case *bc, struct vamos_consumer *rx,
			  struct vamos_record *recs, unsigned char *priv,
			  uint64_t *expect)
{
	const uint32_t P = bc->payload;
	int n = vamos_consumer_peek_arrays(rx, recs, bc->batch), msgs = 0;
	uint64_t next = *expect; /* in a register, as in the peers' loops */

	if (BENCH_UNLIKELY(n < 0))
		bench_fatal("vamos: peek: %s (%s)", strerror(-n),
			    vamos_consumer_error(rx) ? vamos_consumer_error(rx) : "?");
	for (int i = 0; i < n; i++) {
		int k = vamos_record_elements(&recs[i], P);

		if (BENCH_UNLIKELY(k <= 0 || recs[i].type != MSG_TYPE))
			bench_fatal("vamos: message %llu has length %u, element "
				    "size %u, type %u", (unsigned long long)next,
				    recs[i].len, recs[i].elem_size, recs[i].type);
		if (k == 1)
			bench_copy(priv, recs[i].data, P);
		else
			memcpy(priv, recs[i].data, recs[i].len);
		bench_sink(priv);
		for (int j = 0; j < k; j++)
			bench_check(bc, priv + (size_t)j * P, next++);
		msgs += k;
	}
	*expect = next;
	if (n > 0)
		vamos_consumer_release(rx);
	return msgs;
}

/* The consumer of this queue: plain records, or arrays too. */
static int consume_any(struct bench_case *bc, struct vamos_state *s,
		       struct vamos_record *recs, unsigned char *priv,
		       uint64_t *expect)
{
	if (s->arrays)
		return consume_arrays(bc, &s->host.rx, recs, priv, expect);
	return consume(bc, &s->host.rx, recs, priv, expect);
}

static struct vamos_record *alloc_records(const struct bench_case *bc)
{
	struct vamos_record *recs = calloc(bc->batch, sizeof(*recs));

	if (!recs)
		bench_fatal("vamos: out of memory");
	return recs;
}

/* Private room for a batch of messages (an array record holds up to B). */
static unsigned char *alloc_private(const struct bench_case *bc)
{
	size_t bytes = (size_t)bc->payload * bc->batch;
	unsigned char *priv = aligned_alloc(BENCH_CACHE_LINE,
					    (bytes + BENCH_CACHE_LINE - 1) &
					    ~(size_t)(BENCH_CACHE_LINE - 1));

	if (!priv)
		bench_fatal("vamos: out of memory");
	return priv;
}

static void vamos_consumer(struct bench_case *bc)
{
	struct vamos_state *s = bc->state;
	struct vamos_consumer *rx = &s->host.rx;
	struct vamos_record *recs = alloc_records(bc);
	unsigned char *priv = alloc_private(bc);
	uint64_t expect = 0;
	unsigned idle = 0;

	for (;;) {
		if (consume_any(bc, s, recs, priv, &expect) > 0) {
			bench_set_received(bc, expect);
			idle = 0;
			continue;
		}
		if (bench_consumer_done(bc, expect))
			break;
		if (++idle < SPIN_POLLS) {
			bench_relax();
			continue;
		}
		idle = 0;
		int n = vamos_consumer_prepare_sleep(rx);
		if (BENCH_UNLIKELY(n < 0))
			bench_fatal("vamos: prepare_sleep: %s (%s)", strerror(-n),
				    vamos_consumer_error(rx) ?
				    vamos_consumer_error(rx) : "?");
		if (n == 1) {
			wait_doorbell(bc, s, expect);
			vamos_consumer_awake(rx);
		}
	}
	free(recs);
	free(priv);
}

/* The consumer never sleeps here, so no publish asks for a doorbell. */
static void vamos_lockstep(struct bench_case *bc, uint64_t rounds)
{
	struct vamos_state *s = bc->state;
	struct vamos_record *recs = alloc_records(bc);
	unsigned char *priv = alloc_private(bc);
	uint64_t seq = 0, expect = 0, doorbells = 0;

	for (uint64_t i = 0; i < rounds; i++) {
		produce_batch(bc, s, &s->guest.tx, seq, &doorbells);
		seq += bc->batch;
		while (expect < seq)
			if (consume_any(bc, s, recs, priv, &expect) == 0)
				bench_fatal("vamos: a published batch did not arrive");
		bench_set_received(bc, expect);
	}
	if (doorbells)
		bench_fatal("vamos: %llu doorbells with the consumer awake",
			    (unsigned long long)doorbells);
	free(recs);
	free(priv);
}

const struct bench_impl bench_impl_vamos = {
	.name = "vamos",
	.has_doorbells = true,
	.setup = vamos_setup,
	.producer = vamos_producer,
	.consumer = vamos_consumer,
	.teardown = vamos_teardown,
	.lockstep = vamos_lockstep,
};

const struct bench_impl bench_impl_vamos_array = {
	.name = "vamos_array",
	.has_doorbells = true,
	.setup = vamos_setup,
	.producer = vamos_producer,
	.consumer = vamos_consumer,
	.teardown = vamos_teardown,
	.lockstep = vamos_lockstep,
};
