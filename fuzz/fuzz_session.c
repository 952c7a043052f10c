/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for vamosd's session layer (host-server/session.c): the
 * input is the records a hostile guest sends on one channel — HELLOs good
 * and bad, requests to services that answer, fail, half-answer or are
 * unknown, records of unknown types — in batches. They go through a real
 * stream channel (a socketpair) into a session, which vamosd's poller loop
 * would serve; the guest end takes the replies. The session must answer or
 * end cleanly: never crash, never read or write out of bounds, never hang.
 *
 * Input: one byte of mode (bit 0: the session starts welcomed, as after a
 * restart in place), then records: kind, length (2 bytes LE), bytes.
 * Kind bits 0-2: 0 a HELLO of our version (nonce from the bytes), 1 a
 * HELLO as given, 2 a REQUEST whose header names a service (bits 3-4 of
 * the kind: echo, noop, the picky test service, none) followed by the
 * bytes, 3 a REQUEST as given, 4-7 a record of type (bytes[0]) as given.
 * Bit 7: the batch ends here (the guest flushes, the host serves).
 *
 * With VAMOS_FUZZ_WRITE_SEEDS=DIR the target writes its seed corpus into
 * DIR and exits (fuzz/corpus/session holds the result).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vamos/protocol.h>
#include <vamos/vsock.h>

#include "log.h"
#include "reply.h"
#include "seeds.h"
#include "service.h"
#include "serve.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define PICKY_SERVICE 7
#define BOOT_ID 0x5eed

/* ---- services that answer in every way a service may ---- */

static int echo(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx;
	void *p;
	int rc = reply_reserve(rep, req->len, &p);
	if (rc)
		return rc;
	memcpy(p, req->data, req->len);
	reply_commit(rep, 0, req->len);
	return 0;
}

static int noop(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx;
	(void)req;
	(void)rep;
	return 0;
}

/* By op: answer half of what it reserved (64 times the request's size, up
 * to the largest reply: replies that fill the channel), fail at once,
 * reserve and then fail without committing, or ask for more than a reply
 * can carry. */
static int picky(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx;
	void *p;
	int rc;
	switch (req->op & 3) {
	case 0: {
		uint64_t want = (uint64_t)req->len * 64;
		uint32_t len = want < rep->max_payload ? (uint32_t)want : rep->max_payload;
		if ((rc = reply_reserve(rep, len, &p)))
			return rc;
		memset(p, 0xab, len);
		reply_commit(rep, 1, len / 2);
		return 0;
	}
	case 1:
		return -EIO;
	case 2:
		if ((rc = reply_reserve(rep, req->len, &p)))
			return rc;
		return -EINVAL;
	default:
		rc = reply_reserve(rep, UINT32_MAX, &p);
		return rc == -EAGAIN ? rc : -EMSGSIZE;
	}
}

/* ---- the guest's end ---- */

static const uint16_t services[4] = { VAMOS_SERVICE_ECHO, VAMOS_SERVICE_NOOP, PICKY_SERVICE,
				      999 };

/* Take every reply waiting on the guest's end; -1 once it failed. */
static int drain(struct vamos_chan *guest)
{
	struct vamos_record recs[64];
	int total = 0;
	for (;;) {
		int n = vamos_chan_poll(guest, recs, 64);
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			const unsigned char *b = recs[i].data;
			volatile unsigned char sink = 0;
			for (uint32_t j = 0; j < recs[i].len; j++)
				sink ^= b[j];
			(void)sink;
		}
		vamos_chan_release(guest);
		if (n == 0)
			return total;
		total += n;
	}
}

/* Flush the guest, then serve until both ends are idle. -1: it ended. */
static int round_trip(struct session *s, struct vamos_chan *guest)
{
	if (vamos_chan_flush(guest) < 0)
		return -1;
	for (int i = 0; i < 1000; i++) {
		int n = session_serve(s, BOOT_ID, true);
		if (n < 0)
			return -1;
		int r = drain(guest);
		if (r < 0)
			return -1;
		/* Idle, and nothing held back for want of room. */
		if (n == 0 && r == 0 && s->held_next == s->held_count)
			return 0;
	}
	abort(); /* a session that never settles is a hang */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 256 * 1024)
		return 0;
	uint8_t mode = data[0];
	size_t at = 1;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct vamos_stream_params p = { .max_frame = VAMOS_STREAM_MIN_MAX_FRAME };
	struct vamos_chan *guest, *host;
	if (vamos_stream_open_fd(sv[0], &p, &guest) || vamos_stream_open_fd(sv[1], &p, &host))
		abort();
	struct session *s = session_new(host, VM_NONE, "fuzz", 0);
	if (!s)
		abort();
	if (mode & 1)
		session_assume_welcomed(s);
	uint64_t id = 0;
	bool ended = false;
	while (!ended && size - at >= 3) {
		uint8_t kind = data[at];
		uint32_t len = (uint32_t)data[at + 1] | (uint32_t)data[at + 2] << 8;
		at += 3;
		if (len > size - at)
			len = (uint32_t)(size - at);
		const uint8_t *b = data + at;
		at += len;

		unsigned char rec[70000];
		uint32_t rec_len = len;
		uint16_t type;
		switch (kind & 7) {
		case 0: {
			struct vamos_hello h = { .version = VAMOS_PROTOCOL_VERSION };
			memcpy(&h.nonce, b, len < 8 ? len : 8);
			memcpy(rec, &h, sizeof h);
			rec_len = sizeof h;
			type = VAMOS_MSG_HELLO;
			break;
		}
		case 1:
			memcpy(rec, b, len);
			type = VAMOS_MSG_HELLO;
			break;
		case 2: {
			struct vamos_request_header h = { .id = id++,
							  .service = services[(kind >> 3) & 3],
							  .op = len ? b[0] : 0 };
			memcpy(rec, &h, sizeof h);
			memcpy(rec + sizeof h, b, len);
			rec_len = (uint32_t)sizeof h + len;
			type = VAMOS_MSG_REQUEST;
			break;
		}
		case 3:
			memcpy(rec, b, len);
			type = VAMOS_MSG_REQUEST;
			break;
		default:
			memcpy(rec, b, len);
			type = len ? b[0] % (VAMOS_RECORD_TYPE_MAX + 1) : 0;
			break;
		}
		int rc;
		while ((rc = vamos_chan_send(guest, type, rec, rec_len)) == -EAGAIN)
			if (round_trip(s, guest) < 0) {
				ended = true;
				break;
			}
		if (rc == -EMSGSIZE)
			continue; /* larger than the guest may send */
		if (rc < 0 && !ended)
			ended = true;
		if (!ended && (kind & 0x80) && round_trip(s, guest) < 0)
			ended = true;
	}
	if (!ended)
		round_trip(s, guest);
	session_unref(s);
	vamos_chan_close(guest);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *seeds = getenv("VAMOS_FUZZ_WRITE_SEEDS");
	if (seeds)
		fuzz_session_write_seeds(seeds);
	log_set_level(LOG_ERROR);
	static const struct service svcs[] = {
		{ .id = VAMOS_SERVICE_ECHO, .name = "echo", .handle = echo },
		{ .id = VAMOS_SERVICE_NOOP, .name = "noop", .handle = noop },
		{ .id = PICKY_SERVICE, .name = "picky", .handle = picky },
	};
	for (unsigned i = 0; i < sizeof svcs / sizeof svcs[0]; i++)
		if (services_register(&svcs[i]))
			abort();
	return 0;
}
