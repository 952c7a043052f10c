/* SPDX-License-Identifier: MIT */
/*
 * A small stand-in for vamosd, for the client's tests: it speaks the
 * session protocol (vamos/protocol.h) over a LOCAL ivshmem server (one
 * thread per channel) or a unix stream listener (one thread per
 * connection), answers HELLO with WELCOME, and serves:
 *
 *   VAMOS_SERVICE_ECHO   the request's bytes back
 *   VAMOS_SERVICE_NOOP   status 0, no bytes
 *   VAMOS_SERVICE_SLEEP  sleeps op ms (blocking its channel), then replies
 *   TH_SVC_HOLD          never replies
 *   TH_SVC_BOOT          replies with the host's boot id (8 bytes)
 *   TH_SVC_BAD           a malformed reply, op says which (TH_BAD_*)
 *   TH_SVC_EXTRA         a reply to an id never sent, the real reply, and
 *                        the real reply again
 *   TH_SVC_AFTER_SLEEP   LOCAL: the request's bytes back, but only once
 *                        the client announced on its reply ring that it
 *                        sleeps (so it must be woken), or the host stops
 *   TH_SVC_GATHER        holds requests until op of them are held on the
 *                        channel, then answers them all (status 0, each
 *                        request's first 8 bytes back): proof that op requests
 *                        were in flight at once
 *   anything else        status -ENOENT
 *
 * Every request it takes is logged by id, across restarts, so a test can
 * tell that none ran twice. Plain C: the TSan runner uses it too.
 */
#ifndef VAMOS_TEST_CLIENT_TESTHOST_H
#define VAMOS_TEST_CLIENT_TESTHOST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vamos/client.h>
#include <vamos/ivshmem.h>

#define TH_SVC_HOLD 0x7001
#define TH_SVC_BOOT 0x7002
#define TH_SVC_BAD 0x7003
#define TH_SVC_EXTRA 0x7004
#define TH_SVC_AFTER_SLEEP 0x7005
#define TH_SVC_GATHER 0x7006
#define TH_GATHER_MAX 64

enum th_bad {
	TH_BAD_RESERVED = 1, /* reserved field not zero */
	TH_BAD_SHORT = 2,    /* record shorter than a reply header */
	TH_BAD_TYPE = 3,     /* a record of another type */
	TH_BAD_STATUS = 4,   /* positive status */
};

enum th_kind { TH_LOCAL, TH_UNIX };

struct th_opts {
	enum th_kind kind;
	uint32_t channels;          /* LOCAL: region channels (0: 2) */
	uint32_t vectors;           /* LOCAL: 0: as many as channels */
	uint32_t ring_capacity;     /* LOCAL: bytes per ring (0: 256 KiB) */
	bool reverse;               /* answer each batch in reverse order */
	unsigned stale_before_welcome; /* junk records sent before WELCOME */
};

/* Request ids the hosts took, shared by a test's host instances. */
struct th_log {
	pthread_mutex_t lock;
	uint64_t *ids;
	size_t n, cap;
};

#define TH_MAX_CONNS 64

struct th_conn {
	struct test_host *host;
	uint32_t index;
	struct vamos_chan *ch;
	pthread_t thread;
	bool started;
	/* TH_SVC_GATHER requests held on this channel (its thread only). */
	uint64_t gather_ids[TH_GATHER_MAX];
	uint64_t gather_bodies[TH_GATHER_MAX]; /* first 8 bytes, 0-padded */
	unsigned gathered;
};

struct test_host {
	struct th_opts o;
	char dir[64];
	char path[128];      /* the socket clients connect to */
	uint64_t boot_id;
	struct th_log *log;  /* may be NULL */
	atomic_bool stop;
	atomic_uint hellos;
	atomic_uint requests;
	atomic_uint held;
	atomic_uint lost;    /* channels whose client went away */

	/* LOCAL */
	struct vamos_ivshmem_server *server;
	pthread_t server_thread;
	int stop_fd;
	atomic_int peer;     /* latest peer that joined, 0: none */

	/* UNIX */
	int listen_fd;
	pthread_t accept_thread;

	struct th_conn conns[TH_MAX_CONNS];
	unsigned conn_count; /* LOCAL: channels; UNIX: accepted so far */
	pthread_mutex_t conns_lock;
	bool running;
};

void th_log_init(struct th_log *log);
void th_log_free(struct th_log *log);
/* NULL if no id was taken twice, else a message. */
const char *th_log_check(struct th_log *log);
size_t th_log_count(struct th_log *log);

/*
 * Start a host with @o. @path: the socket to serve on, or NULL for a fresh
 * one in a new temp dir (h->path). @log may be NULL. Returns NULL or what
 * failed.
 */
const char *th_start(struct test_host *h, const struct th_opts *o, const char *path,
		     struct th_log *log);

/* Stop it: threads end, channels and the server close (the clients'
 * sessions fail with -ECONNRESET), the socket goes. Keeps h->path and
 * h->dir; th_cleanup removes the dir. */
void th_stop(struct test_host *h);
void th_cleanup(struct test_host *h);

/* LOCAL: whether the client announced on channel @index's reply ring that
 * it sleeps (a thread of it is asleep in the channel's wait right now). */
bool th_client_sleeps(struct test_host *h, uint32_t index);

/* Client params that reach @h (transport, socket, vectors, timeout). */
void th_client_params(const struct test_host *h, struct vamos_client_params *p,
		      int timeout_ms);

/* Unset every VAMOS_* variable the client reads. */
void th_clear_env(void);

#endif
