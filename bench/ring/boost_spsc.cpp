// SPDX-License-Identifier: MIT
//
// boost_spsc: boost::lockfree::spsc_queue<T> with T a struct of exactly P
// bytes (one instantiation per supported payload size), runtime capacity
// bc->slots. Batches go through push(const T*, n) / pop(T*, n). Both sides
// busy-poll.

#include <boost/lockfree/spsc_queue.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "bench.h"

namespace {

template <std::size_t P>
struct Msg {
	unsigned char bytes[P];
};

struct QueueBase {
	virtual ~QueueBase() = default;
	virtual void produce(bench_case *bc) = 0;
	virtual void consume(bench_case *bc) = 0;
	virtual void lockstep(bench_case *bc, std::uint64_t rounds) = 0;
};

template <std::size_t P>
struct Queue final : QueueBase {
	static_assert(sizeof(Msg<P>) == P, "message struct has no padding");

	explicit Queue(std::size_t slots) : q(slots) {}

	// Stamp and push one batch of B messages from @msgs, the private array.
	void produce_batch(bench_case *bc, Msg<P> *msgs, std::uint64_t seq)
	{
		const std::uint32_t B = bc->batch;

		for (std::uint32_t i = 0; i < B; i++)
			bench_stamp(msgs[i].bytes, seq + i);
		for (std::uint32_t done = 0; done < B;) {
			std::size_t n = q.push(msgs + done, B - done);
			if (n == 0)
				bench_relax();
			done += static_cast<std::uint32_t>(n);
		}
	}

	// Pop up to B messages into @priv and check them; returns how many.
	std::size_t consume(bench_case *bc, Msg<P> *priv, std::uint64_t *expect)
	{
		std::size_t n = q.pop(priv, bc->batch);

		bench_sink(priv);
		for (std::size_t i = 0; i < n; i++)
			bench_check(bc, priv[i].bytes, (*expect)++);
		return n;
	}

	static Msg<P> *private_copy(const bench_case *bc)
	{
		auto *msgs = static_cast<Msg<P> *>(
			std::malloc(sizeof(Msg<P>) * bc->batch));

		if (!msgs)
			bench_fatal("boost_spsc: out of memory");
		std::memcpy(msgs, bc->tmpl, sizeof(Msg<P>) * bc->batch);
		return msgs;
	}

	void produce(bench_case *bc) override
	{
		Msg<P> *msgs = private_copy(bc);
		std::uint64_t seq = 0;

		while (!bench_stop_requested(bc)) {
			produce_batch(bc, msgs, seq);
			seq += bc->batch;
		}
		bench_producer_finish(bc, seq);
		std::free(msgs);
	}

	void consume(bench_case *bc) override
	{
		Msg<P> *priv = private_copy(bc);
		std::uint64_t expect = 0;

		for (;;) {
			if (consume(bc, priv, &expect) == 0) {
				if (bench_consumer_done(bc, expect))
					break;
				bench_relax();
				continue;
			}
			bench_set_received(bc, expect);
		}
		std::free(priv);
	}

	void lockstep(bench_case *bc, std::uint64_t rounds) override
	{
		Msg<P> *msgs = private_copy(bc), *priv = private_copy(bc);
		std::uint64_t seq = 0, expect = 0;

		for (std::uint64_t i = 0; i < rounds; i++) {
			produce_batch(bc, msgs, seq);
			seq += bc->batch;
			while (expect < seq)
				if (consume(bc, priv, &expect) == 0)
					bench_fatal("boost_spsc: a pushed batch did not arrive");
			bench_set_received(bc, expect);
		}
		std::free(msgs);
		std::free(priv);
	}

	boost::lockfree::spsc_queue<Msg<P>> q;
};

template <std::size_t P>
QueueBase *make_if(std::uint32_t payload, std::size_t slots)
{
	if (payload == P)
		return new (std::nothrow) Queue<P>(slots);
	if constexpr (P < 65536)
		return make_if<P * 2>(payload, slots);
	else
		return nullptr;
}

int boost_setup(bench_case *bc)
{
	QueueBase *q;

	try {
		q = make_if<8>(bc->payload, bc->slots);
	} catch (const std::bad_alloc &) {
		q = nullptr;
	}
	if (!q) {
		std::fprintf(stderr, "boost_spsc: no queue for payload %u\n",
			     bc->payload);
		return -EINVAL;
	}
	bc->state = q;
	return 0;
}

void boost_producer(bench_case *bc)
{
	static_cast<QueueBase *>(bc->state)->produce(bc);
}

void boost_consumer(bench_case *bc)
{
	static_cast<QueueBase *>(bc->state)->consume(bc);
}

void boost_lockstep(bench_case *bc, std::uint64_t rounds)
{
	static_cast<QueueBase *>(bc->state)->lockstep(bc, rounds);
}

void boost_teardown(bench_case *bc)
{
	delete static_cast<QueueBase *>(bc->state);
	bc->state = nullptr;
}

} // namespace

extern "C" const bench_impl bench_impl_boost_spsc = {
	"boost_spsc", false, boost_setup, boost_producer, boost_consumer,
	boost_teardown, boost_lockstep,
};
