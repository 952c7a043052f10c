/* SPDX-License-Identifier: MIT */
/*
 * A reply, one concept in reply.c: it goes straight into the session's
 * reply ring (services that answer on the poller) or into a buffer
 * (services on the blocking pool, and deferred replies). A buffered reply
 * has one way back: reply_post() hands it as a completion to the inbox of
 * the poller that owns its session, which writes it with reply_deliver().
 */
#ifndef VAMOSD_REPLY_H
#define VAMOSD_REPLY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/wfcqueue.h>

#include <vamos/channel.h>
#include <vamos/protocol.h>

struct session;

struct reply {
	bool to_ring;
	bool deferred;           /* reply_defer() took it: answered later */
	struct session *session; /* to_ring: the session it answers */
	struct vamos_chan *ch;   /* to_ring */
	uint64_t id;
	unsigned char *at;       /* reserved record (header first) */
	uint32_t reserved;       /* payload bytes reserved */
	bool committed;
	int status;              /* as committed */
	uint32_t max_payload;    /* largest reply payload */
	unsigned char *buf;      /* !to_ring: malloc'd header + payload */
	uint32_t buf_len;        /* !to_ring: header + committed payload */
};

/* Finish a reply the handler left open or never started, with status @rc
 * and no bytes. Returns 0, or -EAGAIN if not even an empty reply fits. */
int reply_finish(struct reply *rep, int rc);

/* A buffered reply on its way to its session's poller. */
struct completion {
	struct cds_wfcq_node node;
	struct completion *next;  /* the poller's own list */
	struct session *session;  /* referenced */
	unsigned char *reply;     /* header + bytes, malloc'd */
	uint32_t reply_len;
};

/* A poller's inbox of completions (a wait-free queue from liburcu, plus
 * the poller's eventfd, written after each post). */
struct reply_inbox {
	struct cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	atomic_ulong posted;      /* completions ever posted (ordering only) */
	int wake_fd;
};

void reply_inbox_init(struct reply_inbox *in, int wake_fd);
/* The oldest completion posted to @in, or NULL. Its poller only. */
struct completion *reply_inbox_take(struct reply_inbox *in);

/* Hand buffered reply @rep (none if rep->buf is NULL: it could not be
 * made) for request @id to the inbox of @s; either way the request no
 * longer holds @s (its reference and its in_flight count go with it). */
void reply_post(struct session *s, struct reply *rep, uint64_t id);
/* After sessions were marked removed: on return every reply_post() that
 * saw one of them still served has finished with its inbox, so a poller
 * that served only removed sessions may be destroyed. */
void reply_posts_settle(void);

/* Session @s moves from the poller of inbox @from to the one of inbox @to
 * (@from's poller only, once @s left its set). Under the post lock, so no
 * post for @s lands between: whatever is still posted to @from goes to the
 * end of *@list (the caller's completions, oldest first), then those of @s
 * leave *@list for @to, in order, and s->inbox becomes @to: @to's poller
 * gets every buffered reply of @s, oldest first, before any posted later. */
void reply_hand_off(struct reply_inbox *from, struct completion **list, struct session *s,
		    struct reply_inbox *to);

/* Write a completion's reply into @s's ring (its poller only). Returns 0
 * (written, or dropped if the session failed) or -EAGAIN if the ring is
 * full (try again later). */
int reply_deliver(struct session *s, const void *buf, uint32_t len);

void completion_free(struct completion *c);

#endif
