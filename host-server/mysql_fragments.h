/* SPDX-License-Identifier: MIT */
/*
 * One VM's messages larger than a channel record (vamos/mysql_protocol.h,
 * VAMOS_MYSQL_FRAGMENT and VAMOS_MYSQL_MORE): the requests being
 * reassembled from FRAGMENT pieces and the replies waiting to be fetched
 * with REPLY_NEXT, at most one of each per context. Everything the guest
 * sends is checked here; memory held is bounded per VM. Thread-safe (one
 * lock per VM).
 */
#ifndef VAMOSD_MYSQL_FRAGMENTS_H
#define VAMOSD_MYSQL_FRAGMENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <vamos/mysql_protocol.h>

struct mfrag;

/** Bounds of one VM's held messages. */
struct mfrag_limits {
	uint64_t max_message; /**< largest whole request or reply */
	uint64_t max_held;    /**< bytes held at once in all of them */
	unsigned max_entries; /**< contexts holding something at once */
};

/** A reassembled request, valid until mfrag_release(). */
struct mfrag_whole {
	uint16_t op;               /**< its op */
	const unsigned char *data; /**< its bytes (vamos_mysql_req first) */
	uint32_t len;
};

/** mfrag_put()'s answer when the piece completed the request. */
#define MFRAG_COMPLETE 1

/** A VM's state; 0 or -ENOMEM. */
int mfrag_new(const struct mfrag_limits *lim, struct mfrag **out);
/** Free it and everything held (nothing may be in use). */
void mfrag_free(struct mfrag *f);

/**
 * One FRAGMENT piece of context @ctx: @h its header (the caller's private
 * copy), @piece/@n its bytes (guest memory possibly: copied once).
 * Returns 0 (kept, more expected), MFRAG_COMPLETE (@out is the whole
 * request; the reassembly stays in use until mfrag_release), -EBUSY (the
 * context's reassembly is in use: nothing changed), or -EINVAL /
 * -EMSGSIZE / -ENOMEM with @why (the context's reassembly is dropped).
 */
int mfrag_put(struct mfrag *f, uint64_t ctx, const struct vamos_mysql_fragment *h,
	      const unsigned char *piece, uint32_t n, struct mfrag_whole *out, const char **why);

/** Done with a completed request of @ctx: @consumed frees it; otherwise
 *  (the request is to be handed over again, -EAGAIN) its last piece is
 *  expected again. */
void mfrag_release(struct mfrag *f, uint64_t ctx, bool consumed);

/**
 * A request of @ctx that is neither FRAGMENT nor REPLY_NEXT: drops what
 * is left of the context's reply. Returns -EINVAL with @why (and drops
 * the reassembly) if a reassembly was under way, -EBUSY if it is in use,
 * else 0.
 */
int mfrag_other_request(struct mfrag *f, uint64_t ctx, const char **why);

/**
 * Keep reply bytes @buf (malloc'd; always taken over) of length @len for
 * @ctx, of which the first @sent went with the VAMOS_MYSQL_MORE reply.
 * 0, or -ENOMEM over the VM's bounds (@buf freed).
 */
int mfrag_keep_reply(struct mfrag *f, uint64_t ctx, unsigned char *buf, uint64_t len,
		     uint64_t sent);

/**
 * REPLY_NEXT of @ctx with @body/@len the request bytes after its
 * vamos_mysql_req: copies the next piece (at most @cap bytes) to @dst.
 * Returns its length (the reply is freed once all of it went), or -EINVAL
 * with @why (no such reply, or an offset other than the bytes sent so far:
 * the reply is dropped).
 */
int64_t mfrag_next(struct mfrag *f, uint64_t ctx, const unsigned char *body, uint32_t len,
		   void *dst, uint32_t cap, const char **why);

/** Drop what @ctx holds (its CTX_CLOSE). */
void mfrag_drop(struct mfrag *f, uint64_t ctx);
/** Drop everything (the VM's contexts ended). */
void mfrag_reset(struct mfrag *f);

/** Bytes held now (tests, stats). */
uint64_t mfrag_held(struct mfrag *f);

#endif
