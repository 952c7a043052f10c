/* SPDX-License-Identifier: MIT */
/* ha_vamos's own statuses. Everything else the plugin passes around is a
 * negative errno, from vamosd or libvamos-client, meaning what errno says;
 * these two are the plugin's own conclusions, so they live below -4095,
 * where no errno does, and never reach strerror(). */
#ifndef VAMOS_PLUGIN_STATUS_H
#define VAMOS_PLUGIN_STATUS_H

enum plugin_status {
	/* vamosd restarted under a transaction that wrote: what it wrote is
	 * gone, and MariaDB must roll the whole transaction back. */
	ST_TXN_LOST = -4096,
	/* vamosd's answer does not fit what this side knows (a malformed
	 * reply, a table that differs from its definition): the handler's
	 * message says what. */
	ST_BAD_ANSWER = -4097,
};

#endif
