/* SPDX-License-Identifier: MIT */
/*
 * urcu_wfcq: liburcu's wait-free concurrent queue, a linked list of
 * malloc'd nodes (node + payload per message). The producer enqueues a lone
 * message directly; a batch is built as a private queue of B nodes and
 * spliced in with one __cds_wfcq_splice_blocking(). The consumer splices
 * everything queued out into a private queue, copies each payload out and
 * frees the node. Both sides busy-poll.
 *
 * The queue itself is unbounded; to compare like with like the producer
 * keeps at most bc->slots messages in flight (the same budget the rings
 * get), watching the consumer's received count.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/wfcqueue.h>

#include "bench.h"

struct wfcq_msg {
	struct cds_wfcq_node node;
	unsigned char data[]; /* payload, 8-byte aligned */
};

struct wfcq_state {
	BENCH_ALIGNED struct __cds_wfcq_head head; /* consumer side */
	BENCH_ALIGNED struct cds_wfcq_tail tail;   /* producer side */
};

static int wfcq_setup(struct bench_case *bc)
{
	struct wfcq_state *s = aligned_alloc(BENCH_CACHE_LINE, sizeof(*s));

	if (!s)
		return -ENOMEM;
	__cds_wfcq_init(&s->head, &s->tail);
	bc->state = s;
	return 0;
}

static struct wfcq_msg *make_msg(const struct bench_case *bc, uint64_t seq)
{
	struct wfcq_msg *m = malloc(sizeof(*m) + bc->payload);

	if (BENCH_UNLIKELY(!m))
		bench_fatal("urcu_wfcq: out of memory");
	cds_wfcq_node_init(&m->node);
	bench_copy(m->data, bc->tmpl, bc->payload);
	bench_stamp(m->data, seq);
	return m;
}

static void wfcq_producer(struct bench_case *bc)
{
	struct wfcq_state *s = bc->state;
	const uint32_t B = bc->batch;
	uint64_t seq = 0;

	while (!bench_stop_requested(bc)) {
		/* In flight after this batch must stay within the budget. */
		while (seq + B - bench_get_received(bc) > bc->slots)
			bench_relax();

		if (B == 1) {
			cds_wfcq_enqueue(&s->head, &s->tail, &make_msg(bc, seq)->node);
		} else {
			struct __cds_wfcq_head lh;
			struct cds_wfcq_tail lt;

			__cds_wfcq_init(&lh, &lt);
			for (uint32_t i = 0; i < B; i++)
				cds_wfcq_enqueue(&lh, &lt,
						 &make_msg(bc, seq + i)->node);
			__cds_wfcq_splice_blocking(&s->head, &s->tail, &lh, &lt);
		}
		seq += B;
	}
	bench_producer_finish(bc, seq);
}

static void wfcq_consumer(struct bench_case *bc)
{
	struct wfcq_state *s = bc->state;
	const uint32_t P = bc->payload;
	unsigned char *priv = malloc(P);
	uint64_t expect = 0;

	if (!priv)
		bench_fatal("urcu_wfcq: out of memory");
	for (;;) {
		struct __cds_wfcq_head lh;
		struct cds_wfcq_tail lt;
		struct cds_wfcq_node *node, *next;
		enum cds_wfcq_ret ret;

		__cds_wfcq_init(&lh, &lt);
		/* Non-blocking: a producer caught between its two stores
		   is simply polled again, as an empty queue is. */
		ret = __cds_wfcq_splice_nonblocking(&lh, &lt, &s->head, &s->tail);
		if (ret == CDS_WFCQ_RET_SRC_EMPTY || ret == CDS_WFCQ_RET_WOULDBLOCK) {
			if (ret == CDS_WFCQ_RET_SRC_EMPTY &&
			    bench_consumer_done(bc, expect))
				break;
			bench_relax();
			continue;
		}
		__cds_wfcq_for_each_blocking_safe(&lh, &lt, node, next) {
			struct wfcq_msg *m = caa_container_of(node, struct wfcq_msg, node);

			bench_copy(priv, m->data, P);
			bench_sink(priv);
			bench_check(bc, priv, expect++);
			free(m);
		}
		bench_set_received(bc, expect);
	}
	free(priv);
}

static void wfcq_teardown(struct bench_case *bc)
{
	free(bc->state);
	bc->state = NULL;
}

const struct bench_impl bench_impl_urcu_wfcq = {
	.name = "urcu_wfcq",
	.has_doorbells = false,
	.setup = wfcq_setup,
	.producer = wfcq_producer,
	.consumer = wfcq_consumer,
	.teardown = wfcq_teardown,
};
