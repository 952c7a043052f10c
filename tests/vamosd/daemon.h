/* SPDX-License-Identifier: MIT */
/* Tests of vamosd run the real daemon as a child process (the binary the
 * build made, named by $VAMOSD) in a private directory, and talk to it as
 * guests would: local peers on its VM sockets, stream clients on its UNIX
 * socket, and its control socket for stats. Plain C, no Criterion, so the
 * TSan runner can use it too. */
#ifndef VAMOS_TEST_DAEMON_H
#define VAMOS_TEST_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <vamos/channel.h>
#include <vamos/ivshmem.h>

#define DAEMON_VMS 3

struct daemon {
	pid_t pid;
	char dir[64];
	char vm_sock[DAEMON_VMS][128];
	char control[128];
	char stream_sock[128];           /* the shared unix_socket (no VM) */
	char vm_stream[DAEMON_VMS][128]; /* each VM's stream_socket, if daemon_vm_streams */
	char log[128];
	char name[DAEMON_VMS][32]; /* the VMs' names: vm0, vm1... by default */
	unsigned vms;
};

/* Called in the fork child just before it execs vamosd, when set (an fd
 * store stand-in passes its descriptors this way). */
extern void (*daemon_before_exec)(void);

/* Appended to every VM's --vm option when set (",key=value..."). */
extern const char *daemon_vm_options;
/* Give every VM its own stream socket (vm_stream[]) when set. */
extern bool daemon_vm_streams;

/* Start vamosd with @vms VMs (4 channels of @ring_bytes, 4 vectors each),
 * a stream socket and a control socket, plus @extra flags (NULL-ended).
 * Waits until it answers on the control socket. NULL or an error. */
const char *daemon_start(struct daemon *d, unsigned vms, uint32_t ring_bytes,
			 const char *const *extra);
/* The same with VMs named @names[vms] (sockets still vmN.sock). */
const char *daemon_start_named(struct daemon *d, unsigned vms, const char *const *names,
			       uint32_t ring_bytes, const char *const *extra);
/* The same daemon again, on the same paths (after a kill). */
const char *daemon_restart(struct daemon *d, unsigned vms, uint32_t ring_bytes,
			   const char *const *extra);
/* Send @sig; with @wait, reap it and return its exit status (128+N for a
 * signal), else 0. */
int daemon_signal(struct daemon *d, int sig, bool wait);
/* Kill it if alive, remove every file and the directory. */
void daemon_cleanup(struct daemon *d);
/* Ask the control socket @command; the answer (malloc'd) or NULL (also if
 * vamosd does not answer within 30 s: a frozen daemon fails the test
 * rather than hanging it). */
char *daemon_ask(const struct daemon *d, const char *command);
/* A counter from `stats` for @vm's "all" row: column @col (1 = requests). */
long long daemon_stat(const struct daemon *d, const char *vm, int col);

/* Does vamosd's log hold @text (a sanitizer's report, say)? */
bool daemon_log_has(const struct daemon *d, const char *text);

/* vamosd is a keeper and its worker (host-server/keeper.h): the worker's
 * pid, or 0 while there is none. */
pid_t daemon_worker(const struct daemon *d);

/* A raw guest session on one channel (HELLO/WELCOME done by open). */
struct raw {
	struct vamos_chan *ch;
	uint64_t boot_id;
	uint64_t nonce;
	uint32_t max_request; /* WELCOME's */
};
const char *raw_open(struct raw *r, struct vamos_chan *ch);
/* Queue a request (flush with vamos_chan_flush). 0 or the channel's error. */
int raw_request(struct raw *r, uint64_t id, uint16_t service, uint16_t op,
		const void *data, uint32_t len);
/* Wait up to @ms for replies; for each call @fn. Returns replies taken,
 * or a negative error. */
int raw_replies(struct raw *r, int ms,
		void (*fn)(void *arg, uint64_t id, int status, const void *data, uint32_t len),
		void *arg);

#endif
