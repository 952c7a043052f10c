/* SPDX-License-Identifier: MIT */
/*
 * bench-ring: the interface every transport under test implements, and the
 * hot-path helpers they share.
 *
 * One *case* is (impl, payload P, batch B). The runner sets up the case,
 * starts the consumer and the producer on their own CPUs, lets them run for
 * a warm-up and then a measured window, raises `stop`, and joins them.
 *
 * Every impl does the same work:
 *   producer: each message is P bytes, a copy of the template whose first
 *             8 bytes carry the sequence number 0, 1, 2, ...; B messages go
 *             in per enqueue call / publish; checks `stop` between batches;
 *             when stopped, calls bench_producer_finish(), and, if its
 *             consumer may be asleep, wakes it.
 *   consumer: takes up to B messages per call, copies each payload into
 *             private memory and checks its sequence number; stores its
 *             running count with bench_set_received(); returns once
 *             bench_consumer_done() says everything sent has arrived.
 *
 * Shared fields are accessed with the __atomic builtins so this header
 * means the same in C and in C++ (boost_spsc.cpp).
 */
#ifndef BENCH_RING_BENCH_H
#define BENCH_RING_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_CACHE_LINE 64
#define BENCH_ALIGNED __attribute__((aligned(BENCH_CACHE_LINE)))
#define BENCH_UNLIKELY(x) __builtin_expect(!!(x), 0)

/** One run of one impl with one payload size and batch size. */
struct bench_case {
	/* Set by the runner before setup(); read-only afterwards. */
	const struct bench_impl *impl;
	uint32_t payload;          /* P: bytes per message, power of two >= 8 */
	uint32_t batch;            /* B: messages per enqueue / dequeue call */
	uint32_t ring_bytes;       /* byte budget of the queue or buffer */
	uint32_t slots;            /* messages the queue should hold: a power
				      of two >= max(ring_bytes / P, 4 * B) */
	const unsigned char *tmpl; /* B * P bytes of template messages */
	void *state;               /* owned by the impl */

	/* runner -> producer, producer -> consumer */
	BENCH_ALIGNED int stop;    /* time is up: producer stops */
	int producer_done;         /* producer sent its last message */
	uint64_t sent;             /* messages sent; valid once producer_done */

	/* Each written by one thread only; read by the runner (and
	   `received` by the urcu_wfcq producer, to bound its queue). */
	BENCH_ALIGNED uint64_t received; /* consumer: messages checked */
	BENCH_ALIGNED uint64_t doorbells; /* producer: wakeups it had to send */
};

/** A transport under test. */
struct bench_impl {
	const char *name;
	bool has_doorbells; /* consumer sleeps; doorbells are counted */
	/* Build the queue for bc->payload / batch / slots. 0 or -errno, having
	   printed why to stderr. */
	int (*setup)(struct bench_case *bc);
	void (*producer)(struct bench_case *bc);
	void (*consumer)(struct bench_case *bc);
	void (*teardown)(struct bench_case *bc);
	/* Optional: @rounds times, enqueue one batch of B messages and then
	   dequeue it, in the calling thread, with the same calls and copies
	   as producer() and consumer(). No spinning, no waiting: what a
	   callgrind run of it counts is the per-message cost itself. */
	void (*lockstep)(struct bench_case *bc, uint64_t rounds);
};

extern const struct bench_impl bench_impl_vamos;
extern const struct bench_impl bench_impl_vamos_array;
extern const struct bench_impl bench_impl_rte_ring;
extern const struct bench_impl bench_impl_boost_spsc;
extern const struct bench_impl bench_impl_urcu_wfcq;
extern const struct bench_impl bench_impl_pipe;
extern const struct bench_impl bench_impl_unix_socket;

/** Print "bench-ring: FATAL: ..." to stderr and abort: a broken run must
 *  not report numbers. */
__attribute__((noreturn, format(printf, 1, 2)))
void bench_fatal(const char *fmt, ...);

/** Polite busy-wait step. */
static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/** Make the compiler believe @p is read: copies into it are not dead. */
static inline void bench_sink(const void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/**
 * Copy one @len-byte message. Sizes the benchmark uses become fixed-size
 * copies the compiler inlines, as the peers' own copy loops are; an
 * application with fixed-size messages would get the same.
 */
static inline void bench_copy(void *dst, const void *src, uint32_t len)
{
	switch (len) {
	case 8: memcpy(dst, src, 8); break;
	case 16: memcpy(dst, src, 16); break;
	case 32: memcpy(dst, src, 32); break;
	case 64: memcpy(dst, src, 64); break;
	case 128: memcpy(dst, src, 128); break;
	case 256: memcpy(dst, src, 256); break;
	default: memcpy(dst, src, len); break;
	}
}

/* ------------------------------------------------------------- producer */

static inline bool bench_stop_requested(const struct bench_case *bc)
{
	return __atomic_load_n(&bc->stop, __ATOMIC_RELAXED) != 0;
}

static inline void bench_set_doorbells(struct bench_case *bc, uint64_t n)
{
	__atomic_store_n(&bc->doorbells, n, __ATOMIC_RELAXED);
}

/** Everything up to @sent is enqueued and visible to the consumer. */
static inline void bench_producer_finish(struct bench_case *bc, uint64_t sent)
{
	__atomic_store_n(&bc->sent, sent, __ATOMIC_RELAXED);
	__atomic_store_n(&bc->producer_done, 1, __ATOMIC_RELEASE);
}

/** Write sequence number @seq into the first 8 bytes of message @msg. */
static inline void bench_stamp(void *msg, uint64_t seq)
{
	memcpy(msg, &seq, sizeof(seq));
}

/* ------------------------------------------------------------- consumer */

static inline void bench_set_received(struct bench_case *bc, uint64_t n)
{
	__atomic_store_n(&bc->received, n, __ATOMIC_RELEASE);
}

static inline uint64_t bench_get_received(const struct bench_case *bc)
{
	return __atomic_load_n(&bc->received, __ATOMIC_ACQUIRE);
}

/** True once the producer is done and all it sent has been received. */
static inline bool bench_consumer_done(const struct bench_case *bc,
				       uint64_t received)
{
	if (!__atomic_load_n(&bc->producer_done, __ATOMIC_ACQUIRE))
		return false;
	uint64_t sent = __atomic_load_n(&bc->sent, __ATOMIC_RELAXED);
	if (BENCH_UNLIKELY(received > sent))
		bench_fatal("%s: received %llu messages, only %llu were sent",
			    bc->impl->name, (unsigned long long)received,
			    (unsigned long long)sent);
	return received == sent;
}

/** Check that private copy @msg carries sequence number @expect. */
static inline void bench_check(const struct bench_case *bc, const void *msg,
			       uint64_t expect)
{
	uint64_t seq;
	memcpy(&seq, msg, sizeof(seq));
	if (BENCH_UNLIKELY(seq != expect))
		bench_fatal("%s P=%u B=%u: message %llu carries sequence "
			    "number %llu", bc->impl->name, bc->payload,
			    bc->batch, (unsigned long long)expect,
			    (unsigned long long)seq);
}

#ifdef __cplusplus
}
#endif

#endif /* BENCH_RING_BENCH_H */
