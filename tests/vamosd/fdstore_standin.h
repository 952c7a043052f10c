/* SPDX-License-Identifier: MIT */
/* A stand-in for systemd's side of the notify socket and fd store, for
 * tests (systemd cannot run as PID 1 here): it binds the datagram socket
 * NOTIFY_SOCKET names, keeps the descriptors FDSTORE=1 messages carry
 * under their FDNAME, drops them on FDSTOREREMOVE=1, counts READY=1, and
 * passes what it holds to the next vamosd as systemd does: descriptors
 * from 3 on, LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (the pid of the
 * process about to exec, so it is set in the fork child). Unlike systemd
 * it keeps a file stored twice twice; vamosd never relies on either. */
#ifndef VAMOS_TEST_FDSTORE_STANDIN_H
#define VAMOS_TEST_FDSTORE_STANDIN_H

#define STANDIN_MAX_FDS 512

struct standin {
	int sock;
	char dir[64];
	char path[108];
	unsigned n;
	char names[STANDIN_MAX_FDS][256];
	int fds[STANDIN_MAX_FDS];
	unsigned ready;    /* READY=1 messages seen */
	unsigned stopping; /* STOPPING=1 messages seen */
	unsigned bad;      /* messages it could not make sense of */
};

/* Bind a notify socket in a private directory. NULL or an error. */
const char *standin_open(struct standin *s);

/* Take every message waiting, waiting up to @ms for the first. Returns
 * how many it took. */
int standin_pump(struct standin *s, int ms);

/* Stored descriptors whose name starts with @prefix. */
unsigned standin_count(const struct standin *s, const char *prefix);

/* In the fork child that is about to exec vamosd: the stored descriptors
 * at 3, 4, ..., and NOTIFY_SOCKET, LISTEN_FDS, LISTEN_FDNAMES and
 * LISTEN_PID in the environment. */
void standin_child_env(struct standin *s);

/* Close everything and remove the socket. */
void standin_close(struct standin *s);

#endif
