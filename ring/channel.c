/* SPDX-License-Identifier: MIT */
/* The transport-independent part of vamos/channel.h. */
#include <errno.h>

#include <vamos/channel.h>

const char *vamos_notify_mode_name(enum vamos_notify_mode mode)
{
	switch (mode) {
	case VAMOS_NOTIFY_INTERRUPT: return "interrupt";
	case VAMOS_NOTIFY_POLL: return "poll";
	case VAMOS_NOTIFY_STREAM: return "stream";
	}
	return "unknown";
}

int vamos_chan_fail_(struct vamos_chan *ch, int err, const char *why)
{
	if (!ch->failure) {
		ch->failure = err;
		ch->error = why;
	}
	return ch->failure;
}
