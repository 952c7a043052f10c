/* SPDX-License-Identifier: MIT */
/* The seed corpus of fuzz-session (fuzz/corpus/session): record sequences
 * in its input format (see fuzz_session.c): good and bad HELLOs, requests
 * to every kind of service, batches whose replies fill the channel, bad
 * headers and record types. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vamos/protocol.h>

#include "seeds.h"

/* The test service fuzz_session.c registers. */
#define PICKY_SERVICE 7

struct seed {
	unsigned char b[16384];
	size_t len;
};

static void rec(struct seed *s, uint8_t kind, const void *bytes, uint16_t len)
{
	unsigned char h[3] = { kind, (uint8_t)len, (uint8_t)(len >> 8) };
	memcpy(s->b + s->len, h, sizeof h);
	if (len)
		memcpy(s->b + s->len + sizeof h, bytes, len);
	s->len += sizeof h + len;
}

static int write_seed(const char *dir, const char *name, uint8_t mode, const struct seed *s)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fputc(mode, f);
	fwrite(s->b, 1, s->len, f);
	return fclose(f);
}

enum { ECHO = 0 << 3, NOOP = 1 << 3, PICKY = 2 << 3, UNKNOWN = 3 << 3, END = 0x80 };

void fuzz_session_write_seeds(const char *dir)
{
	static struct seed s;
	int bad = 0;
	static unsigned char big[1000];
	memset(big, 'x', sizeof big);

	memset(&s, 0, sizeof s);
	rec(&s, 0 | END, "nonce123", 8);
	rec(&s, 2 | ECHO, "hello", 5);
	rec(&s, 2 | NOOP, "", 0);
	rec(&s, 2 | UNKNOWN | END, "?", 1);
	bad |= write_seed(dir, "hello-echo-noop-unknown", 0, &s);

	memset(&s, 0, sizeof s);
	rec(&s, 0 | END, "n", 1);
	for (uint8_t op = 0; op < 4; op++)
		rec(&s, 2 | PICKY, (uint8_t[]){ op, 1, 2, 3, 4, 5, 6, 7 }, 8);
	rec(&s, 2 | ECHO | END, "x", 1);
	bad |= write_seed(dir, "picky-answers", 0, &s);

	/* A batch that overflows the replies' room: echoes of many bytes. */
	memset(&s, 0, sizeof s);
	rec(&s, 0 | END, "n", 1);
	for (int i = 0; i < 12; i++)
		rec(&s, 2 | ECHO, big, sizeof big);
	rec(&s, 2 | NOOP | END, "", 0);
	bad |= write_seed(dir, "big-batch", 0, &s);

	/* Replies larger than their requests, filling the channel. */
	memset(&s, 0, sizeof s);
	rec(&s, 0 | END, "n", 1);
	for (int i = 0; i < 4; i++)
		rec(&s, 2 | PICKY, big, 600);
	rec(&s, 2 | ECHO | END, "x", 1);
	bad |= write_seed(dir, "replies-fill-the-channel", 0, &s);

	memset(&s, 0, sizeof s);
	rec(&s, 2 | ECHO | END, "before hello", 12);
	bad |= write_seed(dir, "request-before-hello", 0, &s);
	bad |= write_seed(dir, "welcomed-by-predecessor", 1, &s);

	memset(&s, 0, sizeof s);
	rec(&s, 1 | END, "short", 5);
	bad |= write_seed(dir, "hello-wrong-size", 0, &s);

	memset(&s, 0, sizeof s);
	struct vamos_hello h = { .version = VAMOS_PROTOCOL_VERSION + 1 };
	rec(&s, 1 | END, &h, sizeof h);
	bad |= write_seed(dir, "hello-other-version", 0, &s);

	memset(&s, 0, sizeof s);
	rec(&s, 0, "n", 1);
	struct vamos_request_header rh = { .id = 9, .service = VAMOS_SERVICE_ECHO, .reserved = 1 };
	rec(&s, 3, &rh, sizeof rh);
	rec(&s, 3 | END, "tiny", 4);
	bad |= write_seed(dir, "request-headers-bad", 0, &s);

	memset(&s, 0, sizeof s);
	rec(&s, 0, "n", 1);
	rec(&s, 4 | END, (uint8_t[]){ VAMOS_MSG_REPLY, 0, 0, 0 }, 4);
	bad |= write_seed(dir, "unknown-record-type", 0, &s);

	memset(&s, 0, sizeof s);
	rec(&s, 0, "n", 1);
	rec(&s, 0 | END, "again", 5);
	rec(&s, 2 | ECHO | END, "after two", 9);
	bad |= write_seed(dir, "two-hellos", 0, &s);

	if (bad) {
		fprintf(stderr, "fuzz-session: cannot write the seeds into %s\n", dir);
		exit(1);
	}
	exit(0);
}

