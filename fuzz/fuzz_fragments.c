/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for vamosd's reassembly of MySQL requests and replies in
 * pieces (host-server/mysql_fragments.h): the input is a sequence of what a
 * hostile guest can make the mysql service do — pieces of any sequence,
 * offset, total and op, other requests in between, replies kept and
 * fetched at any offset, contexts closed, the VM reset — for four
 * contexts. Pieces are usually the right next ones (so that whole
 * requests complete), perturbed as the input says. Checked: a completed
 * request is exactly the bytes sent for it, memory held never exceeds the
 * VM's bound, and nothing leaks (ASan/LSan).
 *
 * Input: commands of 4 bytes (command, context, flags, length), a piece's
 * bytes after a put command.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vamos/mysql_protocol.h>

#include "mysql_fragments.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CTXS 4
#define MAX_MESSAGE 2048u

/* What the guest believes about each context. */
struct model {
	bool started, busy;
	uint32_t seq;
	uint64_t offset, total;
	uint16_t op;
	unsigned char sent[MAX_MESSAGE];
	uint64_t reply_sent;
};

static void put(struct mfrag *f, struct model *m, uint64_t ctx, uint8_t flags, uint32_t n,
		const uint8_t *bytes)
{
	if (!m->started) {
		m->seq = 0;
		m->offset = 0;
		m->total = n + (uint64_t)(flags >> 4) * 96 + sizeof(struct vamos_mysql_req);
		m->op = VAMOS_MYSQL_WRITE;
	}
	struct vamos_mysql_fragment h = { .op = m->op, .seq = m->seq, .total = m->total,
					  .offset = m->offset };
	struct vamos_mysql_fragment right = h;
	if (flags & 1)
		h.seq += 1 + (flags >> 5);
	if (flags & 2)
		h.offset = h.offset + (flags >> 4) - 8;
	if (flags & 4)
		h.total += (flags >> 4) * 1024 - 7;
	if (flags & 8)
		h.op = (uint16_t)(flags >> 3);
	if (!m->started) { /* a first piece sets what the next ones must say */
		m->total = right.total = h.total;
		m->op = right.op = h.op;
	}
	unsigned char piece[256];
	memcpy(piece, bytes, n);
	/* The whole request's header names its context unless bit 4 says not. */
	struct vamos_mysql_req rh = { .version = VAMOS_MYSQL_VERSION, .ctx = ctx };
	for (uint32_t i = 0; i < n && !(flags & 16); i++)
		if (h.offset + i < sizeof rh)
			piece[i] = ((unsigned char *)&rh)[h.offset + i];
	if (!m->busy && h.offset < MAX_MESSAGE && n <= MAX_MESSAGE - h.offset)
		memcpy(m->sent + h.offset, piece, n);
	struct mfrag_whole w;
	const char *why = NULL;
	int rc = mfrag_put(f, ctx, &h, piece, n, &w, &why);
	if (rc == MFRAG_COMPLETE) {
		/* Only the right pieces complete a request, and it is what was sent. */
		if (m->busy || memcmp(&h, &right, sizeof h) || w.len != h.total || w.op != h.op ||
		    memcmp(w.data, m->sent, w.len))
			abort();
		m->busy = true;
	} else if (rc == 0) {
		m->started = true;
		m->seq++;
		m->offset += n;
	} else if (rc != -EBUSY) {
		if (!why)
			abort(); /* every refusal says why */
		m->started = false;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfrag_limits lim = { .max_message = MAX_MESSAGE, .max_held = 3 * MAX_MESSAGE,
				    .max_entries = 3 };
	struct mfrag *f;
	if (mfrag_new(&lim, &f))
		return 0;
	static struct model models[CTXS];
	memset(models, 0, sizeof models);
	size_t at = 0;
	while (size - at >= 4) {
		const uint8_t *c = data + at;
		at += 4;
		uint64_t ctx = c[1] % CTXS + 1;
		struct model *m = &models[ctx - 1];
		const char *why = NULL;
		unsigned char out[512];
		switch (c[0] % 8) {
		case 0: {
			uint32_t n = c[3];
			if (n > size - at)
				n = (uint32_t)(size - at);
			put(f, m, ctx, c[2], n, data + at);
			at += n;
			break;
		}
		case 1:
			if (m->busy) { /* the API's contract: release only what completed */
				mfrag_release(f, ctx, c[2] & 1);
				m->busy = false;
				if (c[2] & 1)
					m->started = false;
			}
			break;
		case 2:
			if (mfrag_other_request(f, ctx, &why) == -EINVAL)
				m->started = false;
			break;
		case 3: {
			uint64_t len = (uint64_t)c[2] * 16 + 1;
			unsigned char *b = malloc(len);
			if (b) {
				memset(b, c[3], len);
				if (mfrag_keep_reply(f, ctx, b, len, c[3] % len) == 0)
					m->reply_sent = c[3] % len;
			}
			break;
		}
		case 4: {
			struct vamos_mysql_next n = { .offset = m->reply_sent + (c[2] & 1 ? c[2] : 0) };
			int64_t got = mfrag_next(f, ctx, (const unsigned char *)&n, sizeof n, out,
						 c[3] % sizeof out, &why);
			if (got > (int64_t)sizeof out)
				abort();
			if (got > 0)
				m->reply_sent += (uint64_t)got;
			break;
		}
		case 5:
			mfrag_drop(f, ctx);
			if (!m->busy)
				m->started = false;
			break;
		case 6:
			mfrag_reset(f);
			for (int i = 0; i < CTXS; i++)
				if (!models[i].busy)
					models[i].started = false;
			break;
		default:
			break;
		}
		if (mfrag_held(f) > lim.max_held)
			abort();
	}
	for (uint64_t i = 0; i < CTXS; i++)
		if (models[i].busy)
			mfrag_release(f, i + 1, true);
	mfrag_free(f);
	return 0;
}
