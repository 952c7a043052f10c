/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "echo.h"

const char *echo_serve(struct vamos_chan *ch)
{
	struct vamos_record in[64];
	for (;;) {
		int rc = vamos_chan_wait(ch, -1);
		if (rc < 0)
			return vamos_chan_error(ch) ? vamos_chan_error(ch) : "wait failed";
		int n = vamos_chan_poll(ch, in, 64);
		if (n < 0)
			return vamos_chan_error(ch);
		int stop = 0;
		for (int i = 0; i < n; i++) {
			void *p;
			/* The reply ring is as large as the request ring, and
			 * each request is released only after its reply is
			 * queued; a full reply ring means flush and wait. */
			while ((rc = vamos_chan_reserve(ch, in[i].len, &p)) == -EAGAIN) {
				if (vamos_chan_flush(ch) < 0)
					return vamos_chan_error(ch);
				/* Let the guest drain replies. */
				sched_yield();
			}
			if (rc < 0)
				return "reserve for a reply failed";
			memcpy(p, in[i].data, in[i].len);
			vamos_chan_commit(ch, in[i].type, in[i].len);
			stop |= in[i].type == ECHO_TYPE_STOP;
		}
		vamos_chan_release(ch);
		if (vamos_chan_flush(ch) < 0)
			return vamos_chan_error(ch);
		if (stop)
			return NULL;
	}
}

static const char *fail(char *err, size_t errlen, const char *what,
			struct vamos_chan *ch, uint64_t at)
{
	const char *why = vamos_chan_error(ch);
	snprintf(err, errlen, "%s at record %llu%s%s", what, (unsigned long long)at,
		 why ? ": " : "", why ? why : "");
	return err;
}

/* Take every reply that is there; advance *next_reply. */
static const char *drain(struct vamos_chan *ch, uint64_t *next_reply, int *stopped,
			 char *err, size_t errlen)
{
	struct vamos_record in[64];
	int n;
	while ((n = vamos_chan_poll(ch, in, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			if (in[i].type == ECHO_TYPE_STOP) {
				*stopped = 1;
				continue;
			}
			const char *bad = echo_check(&in[i], *next_reply);
			if (bad)
				return fail(err, errlen, bad, ch, *next_reply);
			(*next_reply)++;
		}
		vamos_chan_release(ch);
		/* STOP's echo is the host's last word: it may close the region
		 * right after, so do not look again. */
		if (*stopped)
			return NULL;
	}
	if (n < 0)
		return fail(err, errlen, "poll failed", ch, *next_reply);
	return NULL;
}

const char *echo_drive(struct vamos_chan *ch, uint64_t records, unsigned batch,
		       int timeout_ms, char *err, size_t errlen)
{
	uint64_t sent = 0, next_reply = 0;
	int stopped = 0;
	const char *bad;

	while (sent < records) {
		unsigned in_batch = 0;
		while (in_batch < batch && sent < records) {
			void *p;
			uint32_t len = echo_len(sent);
			int rc = vamos_chan_reserve(ch, len, &p);
			if (rc == -EAGAIN)
				break;
			if (rc < 0)
				return fail(err, errlen, "reserve failed", ch, sent);
			echo_fill(p, sent, len);
			vamos_chan_commit(ch, ECHO_TYPE_DATA, len);
			sent++;
			in_batch++;
		}
		if (vamos_chan_flush(ch) < 0)
			return fail(err, errlen, "flush failed", ch, sent);
		if ((bad = drain(ch, &next_reply, &stopped, err, errlen)))
			return bad;
		/* Request ring full, or a whole batch out: wait for replies
		 * (sending on would only fill the rings). */
		if (next_reply < sent && (in_batch == 0 || in_batch == batch)) {
			int rc = vamos_chan_wait(ch, timeout_ms);
			if (rc < 0)
				return fail(err, errlen, rc == -ETIMEDOUT ? "timed out waiting"
									  : "wait failed",
					    ch, next_reply);
		}
	}
	/* STOP, then take the replies still out and STOP's own echo. */
	for (;;) {
		void *p;
		int rc = vamos_chan_reserve(ch, 0, &p);
		if (rc == 0)
			break;
		if (rc != -EAGAIN || vamos_chan_flush(ch) < 0)
			return fail(err, errlen, "reserve for STOP failed", ch, sent);
		if ((bad = drain(ch, &next_reply, &stopped, err, errlen)))
			return bad;
		if (vamos_chan_wait(ch, timeout_ms) < 0)
			return fail(err, errlen, "wait before STOP failed", ch, next_reply);
	}
	vamos_chan_commit(ch, ECHO_TYPE_STOP, 0);
	if (vamos_chan_flush(ch) < 0)
		return fail(err, errlen, "flush of STOP failed", ch, sent);
	while (!stopped) {
		if ((bad = drain(ch, &next_reply, &stopped, err, errlen)))
			return bad;
		if (!stopped && vamos_chan_wait(ch, timeout_ms) < 0)
			return fail(err, errlen, "waiting for the last replies failed", ch,
				    next_reply);
	}
	if (next_reply != records)
		return fail(err, errlen, "replies missing before STOP", ch, next_reply);
	return NULL;
}
