/* SPDX-License-Identifier: MIT */
/*
 * rte_ring: DPDK's ring with P-byte elements (the _elem API, esize = P),
 * single-producer / single-consumer, laid out by rte_ring_init() in memory
 * we allocate ourselves, so no EAL (hugepages, lcores) is needed.
 * Both sides busy-poll.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "bench.h"

static int rte_setup(struct bench_case *bc)
{
	ssize_t size;
	struct rte_ring *r;
	int rc;

	size = rte_ring_get_memsize_elem(bc->payload, bc->slots);
	if (size < 0) {
		fprintf(stderr, "rte_ring: rte_ring_get_memsize_elem(%u, %u): %s\n",
			bc->payload, bc->slots, strerror((int)-size));
		return (int)size;
	}
	r = aligned_alloc(RTE_CACHE_LINE_SIZE,
			  ((size_t)size + RTE_CACHE_LINE_SIZE - 1) &
			  ~(size_t)(RTE_CACHE_LINE_SIZE - 1));
	if (!r)
		return -ENOMEM;
	memset(r, 0, (size_t)size);
	rc = rte_ring_init(r, "bench", bc->slots, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rc != 0) {
		fprintf(stderr, "rte_ring: rte_ring_init: %s\n", strerror(-rc));
		free(r);
		return rc;
	}
	bc->state = r;
	return 0;
}

/* Stamp and enqueue one batch of B messages from @msgs, the private array. */
static void rte_produce_batch(struct bench_case *bc, struct rte_ring *r,
			      unsigned char *msgs, uint64_t seq)
{
	const uint32_t P = bc->payload, B = bc->batch;

	for (uint32_t i = 0; i < B; i++)
		bench_stamp(msgs + (size_t)i * P, seq + i);
	for (uint32_t done = 0; done < B;) {
		unsigned n = rte_ring_sp_enqueue_burst_elem(
			r, msgs + (size_t)done * P, P, B - done, NULL);
		if (n == 0)
			bench_relax();
		done += n;
	}
}

/* Dequeue up to B messages into @priv and check them; returns how many. */
static unsigned rte_consume(struct bench_case *bc, struct rte_ring *r,
			    unsigned char *priv, uint64_t *expect)
{
	const uint32_t P = bc->payload, B = bc->batch;
	unsigned n = rte_ring_sc_dequeue_burst_elem(r, priv, P, B, NULL);

	bench_sink(priv);
	for (unsigned i = 0; i < n; i++)
		bench_check(bc, priv + (size_t)i * P, (*expect)++);
	return n;
}

static unsigned char *rte_private_copy(const struct bench_case *bc)
{
	unsigned char *msgs = malloc((size_t)bc->payload * bc->batch);

	if (!msgs)
		bench_fatal("rte_ring: out of memory");
	memcpy(msgs, bc->tmpl, (size_t)bc->payload * bc->batch);
	return msgs;
}

static void rte_producer(struct bench_case *bc)
{
	struct rte_ring *r = bc->state;
	unsigned char *msgs = rte_private_copy(bc);
	uint64_t seq = 0;

	while (!bench_stop_requested(bc)) {
		rte_produce_batch(bc, r, msgs, seq);
		seq += bc->batch;
	}
	bench_producer_finish(bc, seq);
	free(msgs);
}

static void rte_consumer(struct bench_case *bc)
{
	struct rte_ring *r = bc->state;
	unsigned char *priv = rte_private_copy(bc);
	uint64_t expect = 0;

	for (;;) {
		if (rte_consume(bc, r, priv, &expect) == 0) {
			if (bench_consumer_done(bc, expect))
				break;
			bench_relax();
			continue;
		}
		bench_set_received(bc, expect);
	}
	free(priv);
}

static void rte_lockstep(struct bench_case *bc, uint64_t rounds)
{
	struct rte_ring *r = bc->state;
	unsigned char *msgs = rte_private_copy(bc);
	unsigned char *priv = rte_private_copy(bc);
	uint64_t seq = 0, expect = 0;

	for (uint64_t i = 0; i < rounds; i++) {
		rte_produce_batch(bc, r, msgs, seq);
		seq += bc->batch;
		while (expect < seq)
			if (rte_consume(bc, r, priv, &expect) == 0)
				bench_fatal("rte_ring: an enqueued batch did not arrive");
		bench_set_received(bc, expect);
	}
	free(msgs);
	free(priv);
}

static void rte_teardown(struct bench_case *bc)
{
	free(bc->state);
	bc->state = NULL;
}

const struct bench_impl bench_impl_rte_ring = {
	.name = "rte_ring",
	.has_doorbells = false,
	.setup = rte_setup,
	.producer = rte_producer,
	.consumer = rte_consumer,
	.teardown = rte_teardown,
	.lockstep = rte_lockstep,
};
