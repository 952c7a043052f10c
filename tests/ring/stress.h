/* SPDX-License-Identifier: MIT */
/* A producer and a consumer that move numbered, checksummed records through
 * one ring, for the thread and process stress tests. The consumer sleeps on
 * an eventfd when idle; the producer rings it only when publish asks to. */
#ifndef VAMOS_TEST_STRESS_H
#define VAMOS_TEST_STRESS_H

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vamos/ring.h"

struct stress_stats {
	uint64_t records, batches, doorbells, sleeps;
};

/* Record @seq: its length and its bytes follow from @seq alone. */
static inline uint32_t stress_len(uint64_t seq)
{
	uint32_t h = (uint32_t)(seq * 2654435761u);
	return 16 + (h >> 7) % ((h & 7) == 0 ? 1000 : 120);
}

static inline uint64_t stress_fnv(const unsigned char *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static inline void stress_fill(unsigned char *p, uint64_t seq, uint32_t len)
{
	memcpy(p, &seq, 8);
	for (uint32_t i = 16; i < len; i++)
		p[i] = (unsigned char)(seq ^ (i * 151u));
	uint64_t sum = stress_fnv(p + 16, len - 16) ^ seq;
	memcpy(p + 8, &sum, 8);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Send @count records in batches of 1..64; returns NULL or what went wrong. */
static inline const char *stress_produce(struct vamos_producer *p, int bell,
					 uint64_t count, struct stress_stats *st)
{
	uint64_t rng = 0x2545F4914F6CDD1Dull, seq = 0;
	while (seq < count) {
		rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
		uint64_t batch = 1 + rng % 64;
		for (uint64_t i = 0; i < batch && seq < count;) {
			void *dst;
			uint32_t len = stress_len(seq);
			int rc = vamos_producer_reserve(p, len, &dst);
			if (rc == -EAGAIN) {
				/* Full: let the consumer see what we have, wait. */
				if (vamos_producer_publish(p) == 1) {
					st->doorbells++;
					if (eventfd_write(bell, 1))
						return "eventfd_write failed";
				}
				for (int spin = 0; spin < 64; spin++)
					cpu_relax();
				sched_yield();
				continue;
			}
			if (rc)
				return vamos_producer_error(p) ? vamos_producer_error(p)
							       : "reserve failed";
			stress_fill(dst, seq, len);
			if (vamos_producer_commit(p, (uint16_t)(seq & 0xfff), len))
				return "commit failed";
			seq++, i++, st->records++;
		}
		st->batches++;
		int rc = vamos_producer_publish(p);
		if (rc < 0)
			return vamos_producer_error(p);
		if (rc == 1) {
			st->doorbells++;
			if (eventfd_write(bell, 1))
				return "eventfd_write failed";
		}
	}
	return NULL;
}

/* Publish what is committed; ring the doorbell if the consumer asked. */
static inline const char *stress_publish(struct vamos_producer *p, int bell,
					 struct stress_stats *st)
{
	int rc = vamos_producer_publish(p);
	if (rc < 0)
		return vamos_producer_error(p);
	if (rc == 1) {
		st->doorbells++;
		if (eventfd_write(bell, 1))
			return "eventfd_write failed";
	}
	return NULL;
}

/* As stress_produce, but each batch is built in private memory and sent
 * with vamos_producer_send_burst (which may take it in several calls when
 * the ring fills up), then published once. */
static inline const char *stress_produce_burst(struct vamos_producer *p, int bell,
					       uint64_t count, struct stress_stats *st)
{
	enum { MAX_BATCH = 64, MAX_LEN = 1016 };
	static _Thread_local unsigned char buf[MAX_BATCH][MAX_LEN];
	struct vamos_msg msgs[MAX_BATCH];
	uint64_t rng = 0x9E3779B97F4A7C15ull, seq = 0;
	const char *err;
	while (seq < count) {
		rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
		unsigned batch = 1 + (unsigned)(rng % MAX_BATCH);
		if (batch > count - seq)
			batch = (unsigned)(count - seq);
		for (unsigned i = 0; i < batch; i++) {
			uint32_t len = stress_len(seq + i);
			stress_fill(buf[i], seq + i, len);
			msgs[i] = (struct vamos_msg){ .data = buf[i], .len = len,
						      .type = (uint16_t)((seq + i) & 0xfff) };
		}
		for (unsigned done = 0; done < batch;) {
			int n = vamos_producer_send_burst(p, msgs + done, batch - done);
			if (n == -EAGAIN) {
				/* Full: let the consumer see what we have, wait. */
				if ((err = stress_publish(p, bell, st)))
					return err;
				for (int spin = 0; spin < 64; spin++)
					cpu_relax();
				sched_yield();
				continue;
			}
			if (n <= 0)
				return vamos_producer_error(p) ? vamos_producer_error(p)
							       : "send_burst failed";
			done += (unsigned)n;
		}
		seq += batch;
		st->records += batch;
		st->batches++;
		if ((err = stress_publish(p, bell, st)))
			return err;
	}
	return NULL;
}

/* Array stress: elements of a fixed, unaligned size: sequence number,
 * a checksum of both, 4 more bytes. */
#define STRESS_ELEM_SIZE 20u
#define STRESS_ELEM_TYPE 7u

static inline void stress_elem_fill(unsigned char *e, uint64_t seq)
{
	uint32_t tail = (uint32_t)(seq * 2654435761u);
	uint64_t sum = stress_fnv((const unsigned char *)&tail, 4) ^ seq;
	memcpy(e, &seq, 8);
	memcpy(e + 8, &sum, 8);
	memcpy(e + 16, &tail, 4);
}

/* NULL if element @e is number @expect, intact; else what is wrong. */
static inline const char *stress_elem_check(const unsigned char *e, uint64_t expect)
{
	uint64_t seq, sum;
	uint32_t tail;
	memcpy(&seq, e, 8);
	memcpy(&sum, e + 8, 8);
	memcpy(&tail, e + 16, 4);
	if (seq != expect)
		return "wrong sequence number: element lost, duplicated or reordered";
	if (sum != (stress_fnv((const unsigned char *)&tail, 4) ^ seq))
		return "checksum mismatch: element corrupted";
	return NULL;
}

/* Send @count elements in batches of 1..64: a batch of one as a plain
 * record, larger ones with vamos_producer_send_array (which may take a
 * batch in several records when the ring's end or the consumer cuts it),
 * published once per batch. */
static inline const char *stress_produce_array(struct vamos_producer *p, int bell,
					       uint64_t count, struct stress_stats *st)
{
	enum { MAX_BATCH = 64 };
	unsigned char buf[MAX_BATCH * STRESS_ELEM_SIZE];
	uint64_t rng = 0xD1B54A32D192ED03ull, seq = 0;
	const char *err;
	while (seq < count) {
		rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
		unsigned batch = 1 + (unsigned)(rng % MAX_BATCH);
		if (batch > count - seq)
			batch = (unsigned)(count - seq);
		for (unsigned i = 0; i < batch; i++)
			stress_elem_fill(buf + i * STRESS_ELEM_SIZE, seq + i);
		for (unsigned done = 0; done < batch;) {
			int n = batch == 1 ?
				vamos_producer_send(p, STRESS_ELEM_TYPE, buf, STRESS_ELEM_SIZE) :
				vamos_producer_send_array(p, STRESS_ELEM_TYPE,
							  buf + done * STRESS_ELEM_SIZE,
							  STRESS_ELEM_SIZE, batch - done);
			if (n == -EAGAIN) {
				/* Full: let the consumer see what we have, wait. */
				if ((err = stress_publish(p, bell, st)))
					return err;
				for (int spin = 0; spin < 64; spin++)
					cpu_relax();
				sched_yield();
				continue;
			}
			if (n < 0 || (n == 0 && batch > 1))
				return vamos_producer_error(p) ? vamos_producer_error(p)
							       : "send_array failed";
			done += batch == 1 ? 1 : (unsigned)n;
		}
		seq += batch;
		st->records += batch;
		st->batches++;
		if ((err = stress_publish(p, bell, st)))
			return err;
	}
	return NULL;
}

/* Receive @count elements with vamos_consumer_peek_arrays, plain records
 * and arrays alike, checking each element's order and checksum. */
static inline const char *stress_consume_array(struct vamos_consumer *c, int bell,
					       uint64_t count, struct stress_stats *st)
{
	struct vamos_record rec[64];
	uint64_t expect = 0;
	unsigned idle = 0;
	while (expect < count) {
		int n = vamos_consumer_peek_arrays(c, rec, 64);
		if (n < 0)
			return vamos_consumer_error(c);
		for (int i = 0; i < n; i++) {
			int k = vamos_record_elements(&rec[i], STRESS_ELEM_SIZE);
			if (k <= 0)
				return "record is not whole elements";
			if (rec[i].type != STRESS_ELEM_TYPE)
				return "wrong type";
			const unsigned char *e = rec[i].data;
			for (int j = 0; j < k; j++, expect++) {
				const char *err = stress_elem_check(e + j * STRESS_ELEM_SIZE, expect);
				if (err)
					return err;
			}
			st->records += (uint64_t)k;
		}
		if (n) {
			vamos_consumer_release(c);
			idle = 0;
			continue;
		}
		if (++idle < 200) {
			cpu_relax();
			continue;
		}
		int rc = vamos_consumer_prepare_sleep(c);
		if (rc < 0)
			return vamos_consumer_error(c);
		if (rc == 1) {
			eventfd_t v;
			st->sleeps++;
			if (eventfd_read(bell, &v))
				return "eventfd_read failed";
			vamos_consumer_awake(c);
		}
		idle = 0;
	}
	return NULL;
}

/* Receive @count records, checking order, length, type and checksum. */
static inline const char *stress_consume(struct vamos_consumer *c, int bell,
					 uint64_t count, struct stress_stats *st)
{
	struct vamos_record rec[64];
	unsigned char copy[2048];
	uint64_t expect = 0;
	unsigned idle = 0;
	while (expect < count) {
		int n = vamos_consumer_peek(c, rec, 64);
		if (n < 0)
			return vamos_consumer_error(c);
		for (int i = 0; i < n; i++, expect++) {
			uint64_t seq, sum;
			if (rec[i].len != stress_len(expect))
				return "wrong length: record lost, duplicated or reordered";
			if (rec[i].type != (expect & 0xfff))
				return "wrong type";
			memcpy(copy, rec[i].data, rec[i].len);
			memcpy(&seq, copy, 8);
			memcpy(&sum, copy + 8, 8);
			if (seq != expect)
				return "wrong sequence number";
			if (sum != (stress_fnv(copy + 16, rec[i].len - 16) ^ seq))
				return "checksum mismatch: record corrupted";
		}
		st->records += (uint64_t)n;
		if (n) {
			vamos_consumer_release(c);
			idle = 0;
			continue;
		}
		if (++idle < 200) {
			cpu_relax();
			continue;
		}
		int rc = vamos_consumer_prepare_sleep(c);
		if (rc < 0)
			return vamos_consumer_error(c);
		if (rc == 1) {
			eventfd_t v;
			st->sleeps++;
			if (eventfd_read(bell, &v))
				return "eventfd_read failed";
			vamos_consumer_awake(c);
		}
		idle = 0;
	}
	return NULL;
}

#endif
