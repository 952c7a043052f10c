/* SPDX-License-Identifier: MIT */
/* Long random sequences of reserve/commit/abort/publish/peek/release on one
 * thread, checked against a reference model of positions and contents. */
#include <errno.h>

#include "fixture.h"

struct expected {
	uint64_t seq;
	uint32_t len;
	uint16_t type;
};

struct model {
	struct expected *fifo; /* committed, not yet handed out */
	size_t first, count, visible; /* visible: published, not handed out */
	uint64_t tail;                /* byte position incl. padding */
};

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: deterministic per seed, so failures replay. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32) % n;
}

static uint32_t pick_len(uint32_t cap)
{
	uint32_t max = vamos_ring_max_payload(cap);
	switch (rnd(8)) {
	case 0: return 0;
	case 1: return max;
	case 2: return rnd(max + 1);
	default: return rnd(max / 4 + 1);
	}
}

/* What reserve must do for @len given the model tail and the real released
 * head; moves the model tail past any padding reserve writes. */
static int predict_reserve(struct model *m, uint64_t head, uint32_t cap, uint32_t len)
{
	uint64_t need = vamos_record_size(len);
	uint64_t to_end = cap - (m->tail % cap);
	if (need > to_end) {
		if (m->tail + to_end - head > cap)
			return -EAGAIN;
		m->tail += to_end;
	}
	return m->tail + need - head > cap ? -EAGAIN : 0;
}

static void run(uint32_t cap, uint64_t seed, unsigned steps)
{
	struct fixture f;
	struct model m = {0};
	struct vamos_record recs[48];
	uint64_t next_seq = 0, next_expected = 0;
	unsigned char scratch[1 << 16];

	fixture_init(&f, cap, 64, 1);
	struct vamos_producer *p = &f.guest.tx;
	struct vamos_consumer *c = &f.host.rx;
	m.fifo = calloc(cap / 8 + 1, sizeof *m.fifo);
	rng_state = seed;

	for (unsigned step = 0; step < steps; step++) {
		uint32_t op = rnd(10);
		if (op < 5) { /* produce one record */
			uint32_t len = pick_len(cap);
			int want = predict_reserve(&m, c->head, cap, len);
			void *dst;
			int rc = vamos_producer_reserve(p, len, &dst);
			cr_assert_eq(rc, want, "seed %lu step %u: reserve(%u) = %d, model %d",
				     seed, step, len, rc, want);
			if (rc)
				continue;
			if (rnd(10) == 0) {
				vamos_producer_abort(p);
				continue;
			}
			uint32_t used = rnd(4) ? len : rnd(len + 1);
			uint16_t type = (uint16_t)rnd(VAMOS_RECORD_TYPE_MAX + 1);
			fill_pattern(dst, next_seq, used);
			cr_assert_eq(vamos_producer_commit(p, type, used), 0);
			m.fifo[(m.first + m.count) % (cap / 8 + 1)] =
				(struct expected){next_seq++, used, type};
			m.count++;
			m.tail += vamos_record_size(used);
		} else if (op < 7) {
			cr_assert_geq(vamos_producer_publish(p), 0);
			m.visible = m.count;
		} else if (op < 9) {
			unsigned max = 1 + rnd(48);
			int n = vamos_consumer_peek(c, recs, max);
			size_t want = m.visible < max ? m.visible : max;
			cr_assert_eq((size_t)n, want, "seed %lu step %u", seed, step);
			for (int i = 0; i < n; i++) {
				struct expected *e = &m.fifo[m.first];
				cr_assert_eq(e->seq, next_expected++);
				cr_assert_eq(recs[i].len, e->len, "seed %lu step %u", seed, step);
				cr_assert_eq(recs[i].type, e->type);
				memcpy(scratch, recs[i].data, recs[i].len);
				cr_assert(check_pattern(scratch, e->seq, e->len));
				m.first = (m.first + 1) % (cap / 8 + 1);
				m.count--;
				m.visible--;
			}
		} else {
			vamos_consumer_release(c);
			cr_assert_leq(c->head, p->published, "never past the published tail");
		}
	}
	cr_assert_null(vamos_producer_error(p));
	cr_assert_null(vamos_consumer_error(c));
	cr_assert_gt(next_expected, steps / 10, "the sequence made progress");
	free(m.fifo);
	fixture_fini(&f);
}

Test(ring_random, tiny_ring) { for (uint64_t s = 1; s <= 20; s++) run(64, s, 20000); }
Test(ring_random, small_ring) { for (uint64_t s = 1; s <= 20; s++) run(256, s * 7919, 20000); }
Test(ring_random, page_ring) { for (uint64_t s = 1; s <= 10; s++) run(4096, s * 104729, 50000); }
Test(ring_random, large_ring) { run(65536, 42, 200000); }
