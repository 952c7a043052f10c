/* SPDX-License-Identifier: MIT */
/* The control socket vamosctl talks to: one command line in, the answer
 * out, then the connection closes. Commands: `stats`, `stats prometheus`,
 * `ping`. Served on the main thread. */
#ifndef VAMOSD_CONTROL_H
#define VAMOSD_CONTROL_H

#include "stats.h"

/* Listen on @path (replacing a stale socket). Returns the fd or -errno. */
int control_listen(const char *path, const char **why);

/* Answer one connection waiting on @listen_fd. */
void control_serve(int listen_fd, const struct daemon_view *d);

#endif
