/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "echo_proto.h"

int bt_serve(struct vamos_chan *ch)
{
	struct vamos_record in[64];
	for (;;) {
		int rc = vamos_chan_wait(ch, -1);
		if (rc < 0)
			return rc;
		int n = vamos_chan_poll(ch, in, 64);
		if (n < 0)
			return n;
		int stop = 0;
		for (int i = 0; i < n; i++) {
			void *p;
			while ((rc = vamos_chan_reserve(ch, in[i].len, &p)) == -EAGAIN) {
				if ((rc = vamos_chan_flush(ch)) < 0)
					return rc;
				sched_yield();
			}
			if (rc < 0)
				return rc;
			memcpy(p, in[i].data, in[i].len);
			if (in[i].type == BT_CTRL && in[i].len == sizeof(struct bt_ctrl)) {
				struct bt_ctrl c;
				memcpy(&c, p, sizeof c);
				vamos_chan_set_spin(ch, c.server_spin_ns);
				struct vamos_chan_stats s = vamos_chan_stats(ch);
				c.server_notifications = s.notifications_sent;
				c.server_wakeups = s.notifications_received;
				memcpy(p, &c, sizeof c);
			}
			vamos_chan_commit(ch, in[i].type, in[i].len);
			stop |= in[i].type == BT_STOP;
		}
		vamos_chan_release(ch);
		if ((rc = vamos_chan_flush(ch)) < 0)
			return rc;
		if (stop)
			return 0;
	}
}
