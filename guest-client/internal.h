/* SPDX-License-Identifier: MIT */
/*
 * libvamos-client's private state, shared by its source files:
 *
 *   config.c     params and environment -> struct client_config
 *   connect.c    transport choice, describe, vamos_client_* calls
 *   backend.c    the ivshmem object (local peer or guest) behind every
 *                session of LOCAL/IVSHMEM, and its reconnection
 *   session.c    thread -> session, sharing, locking
 *   handshake.c  opening a session: channel, HELLO, WELCOME
 *   inflight.c   the ids a session has in flight
 *   stash.c      completions waiting for their thread
 *   io.c         submit, flush, reply routing, complete, session death
 *   call.c       vamos_call
 *   liveness.c   whether the host's heartbeat still moves while we wait
 *   reply_spin.c how long a wait polls its reply ring before it sleeps
 *   util.c       clocks, random numbers, backoff, error messages
 *
 * Library-internal: nothing here is part of the API.
 */
#ifndef VAMOS_CLIENT_INTERNAL_H
#define VAMOS_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vamos/client.h>
#include <vamos/ivshmem.h>

#define VAMOS_CLIENT_INTERNAL __attribute__((visibility("hidden")))

/* Most requests one session keeps in flight (submit says -EAGAIN above). */
#define CLIENT_MAX_IN_FLIGHT 65536u
/* Most threads one session serves (owner tokens are 16-bit). */
#define CLIENT_MAX_USERS 0xffffu
/* Most sessions in a stream pool. */
#define CLIENT_MAX_CHANNELS 4096u
/* Defaults of struct vamos_client_params. */
#define CLIENT_DEFAULT_CHANNELS 4u
#define CLIENT_DEFAULT_TIMEOUT_MS 5000
#define CLIENT_DEFAULT_STALE_MS 5000
/* A wait goes in slices this long, to notice a host that died without a
 * word (LOCAL), a heartbeat that stood still, a thread that came to share
 * a lone session, and (the receiver of a shared session) a thread that
 * waits to close the channel. */
#define CLIENT_SLICE_MS 20
/* A waiting thread polls its reply ring at most this long before it
 * sleeps (LOCAL/IVSHMEM; VAMOS_POLL_US, params.poll_us), and at most
 * CLIENT_MAX_POLL_US when configured. 400: a host whose poller slept
 * between statements answers in 100-300 us on a busy host (its wakeup,
 * then the request); a poll that ends sooner turns most of those replies
 * into interrupts, and past 3 us each look yields the vCPU anyway. */
#define CLIENT_DEFAULT_POLL_US 400
#define CLIENT_MAX_POLL_US 1000000

/* ------------------------------------------------------------------ config */

struct client_config {
	enum vamos_transport_kind kind; /* never AUTO once connected */
	char *local_socket;
	uint32_t local_vectors;
	char *unix_path;
	uint32_t vsock_cid;
	uint32_t vsock_port;
	uint32_t channels;
	int timeout_ms;
	int stale_ms;          /* heartbeat still this long: -EHOSTDOWN; 0: never */
	enum vamos_guest_irq irq;
	int64_t poll_max_ns;   /* most a wait polls before it sleeps; 0: off */
	const char *chosen_by; /* "VAMOS_TRANSPORT", "the application", "auto" */
};

/* Fill @cfg from @params (NULL: defaults) and the environment, which wins.
 * Returns 0 or -EINVAL with @why (static) naming the bad setting. */
VAMOS_CLIENT_INTERNAL int config_resolve(const struct vamos_client_params *params,
					 struct client_config *cfg, const char **why);
VAMOS_CLIENT_INTERNAL void config_free(struct client_config *cfg);
VAMOS_CLIENT_INTERNAL const char *config_transport_name(enum vamos_transport_kind kind);

/* ----------------------------------------------------------------- backend */

/*
 * One local peer (LOCAL) or guest device (IVSHMEM) with the region every
 * session's channel lives in. Counted: the client holds the current one,
 * each session the one its channel belongs to, so a replaced backend is
 * closed only after its last channel.
 */
struct shm_backend {
	atomic_int refs;
	atomic_bool dead;        /* the host went away: every channel is lost */
	uint64_t generation;     /* 1 for the first, then one more each time */
	struct vamos_ivshmem_peer *peer;
	struct vamos_guest *guest;
	pthread_mutex_t lock;    /* peer/guest calls are one thread at a time */
	uint32_t channel_count;
};

struct vamos_client;

/* One connection attempt for @cfg. Returns 0, or a negative errno with
 * @why (static, or in a thread-local buffer). */
VAMOS_CLIENT_INTERNAL int backend_connect_once(const struct client_config *cfg,
					       struct shm_backend **out, const char **why);
/* A reference to a live backend, reconnecting (with backoff, until
 * @deadline) if the current one is dead. -ECONNREFUSED: host gone. */
VAMOS_CLIENT_INTERNAL int backend_acquire(struct vamos_client *c, int64_t deadline,
					  struct shm_backend **out, const char **why);
VAMOS_CLIENT_INTERNAL struct shm_backend *backend_get(struct shm_backend *be);
VAMOS_CLIENT_INTERNAL void backend_put(struct shm_backend *be);
VAMOS_CLIENT_INTERNAL int backend_channel(struct shm_backend *be, uint32_t index,
					  struct vamos_chan **out);
/* Cheaply look whether the server has news (LOCAL) and take it: a server
 * that went away marks the backend dead and cuts its channels. */
VAMOS_CLIENT_INTERNAL void backend_check(struct shm_backend *be);
/* A stream connection for @cfg, retried with backoff until @deadline. */
VAMOS_CLIENT_INTERNAL int stream_connect(const struct client_config *cfg, int64_t deadline,
					 struct vamos_chan **out, const char **why);

/* ---------------------------------------------------------------- liveness */

/* One wait's view of the host's heartbeat (region header). */
struct host_watch {
	bool started;     /* a nonzero beat was seen */
	uint64_t beat;    /* the last seen */
	int64_t since_ms; /* when it was first seen at that value */
};

/* Feed the heartbeat @beat seen at @now_ms. Returns 0 while it moves (or
 * is 0: the host publishes none, or @stale_ms <= 0), else the ms it has
 * stood still, once that reaches @stale_ms. */
VAMOS_CLIENT_INTERNAL int64_t host_watch_stale(struct host_watch *w, uint64_t beat,
					       int64_t now_ms, int stale_ms);
/* The same with @r's heartbeat now (@r NULL: never stale). */
VAMOS_CLIENT_INTERNAL int64_t host_watch_region(struct host_watch *w,
						const struct vamos_region *r, int stale_ms);

/* -------------------------------------------------------------- reply_spin */

/* How long one session's next wait polls before it sleeps: adapted to how
 * long the replies that needed a sleep took (reply_spin.c). Touched only
 * by the thread that holds the session (lone, or under its lock). */
struct reply_spin {
	int64_t budget_ns;
};

/* The budget's lower bound for a maximum of @max_ns (<= @max_ns). */
VAMOS_CLIENT_INTERNAL int64_t reply_spin_floor(int64_t max_ns);
/* Start at @max_ns (0: never poll). */
VAMOS_CLIENT_INTERNAL void reply_spin_init(struct reply_spin *r, int64_t max_ns);
/* One wait is over: it took @waited_ns and @slept (armed the interrupt)
 * or not. A reply that came soon after a sleep grows the budget, a late
 * one shrinks it; one caught while polling leaves it. */
VAMOS_CLIENT_INTERNAL void reply_spin_learn(struct reply_spin *r, int64_t max_ns,
					    int64_t waited_ns, bool slept);

/* ---------------------------------------------------------------- inflight */

struct inflight_slot {
	uint64_t id;
	uint16_t owner; /* token of the thread that submitted it */
	uint8_t used;
	uint8_t pad[5];
};

/* Ids older than the window allows (inflight.c): open addressing, linear
 * probing, load at most 1/2, backward-shift deletion. */
struct inflight_hash {
	struct inflight_slot *slots;
	uint32_t mask;  /* capacity - 1; capacity 0 before first use */
	uint32_t count;
	uint32_t shift; /* 64 - log2(capacity) */
};

/* A window of slots indexed by id & win_mask (ids are consecutive), and
 * the requests a newer id pushed out of it in @old. */
struct inflight {
	struct inflight_slot *win;
	uint32_t win_mask;         /* capacity - 1 once allocated */
	uint32_t count;            /* in the window and in @old */
	struct inflight_hash old;
};

VAMOS_CLIENT_INTERNAL void inflight_free(struct inflight *t);
/* Out of line: inflight_add when @id's window slot is taken or there is
 * no window yet; inflight_take when @id is not in the window. */
VAMOS_CLIENT_INTERNAL int inflight_add_slow(struct inflight *t, uint64_t id, uint16_t owner);
VAMOS_CLIENT_INTERNAL int inflight_take_old(struct inflight *t, uint64_t id, uint16_t *owner);

/* Add @id for @owner. 0, -EAGAIN (CLIENT_MAX_IN_FLIGHT reached), -ENOMEM.
 * @id must not be in the table. Inline: once per request. */
static inline int inflight_add(struct inflight *t, uint64_t id, uint16_t owner)
{
	struct inflight_slot *slot = t->win ? &t->win[id & t->win_mask] : NULL;
	if (!slot || slot->used || t->count >= CLIENT_MAX_IN_FLIGHT)
		return inflight_add_slow(t, id, owner);
	*slot = (struct inflight_slot){ .id = id, .owner = owner, .used = 1 };
	t->count++;
	return 0;
}

/* Remove @id; 1 and its owner if it was there, else 0. */
static inline int inflight_take(struct inflight *t, uint64_t id, uint16_t *owner)
{
	if (!t->count)
		return 0;
	struct inflight_slot *slot = &t->win[id & t->win_mask];
	if (!slot->used || slot->id != id)
		return inflight_take_old(t, id, owner);
	if (owner)
		*owner = slot->owner;
	slot->used = 0;
	t->count--;
	return 1;
}

/* Remove every entry, calling @fn for each. */
VAMOS_CLIENT_INTERNAL void inflight_drain(struct inflight *t,
					  void (*fn)(void *arg, uint64_t id, uint16_t owner),
					  void *arg);
/* Remove every entry of @owner. */
VAMOS_CLIENT_INTERNAL void inflight_drop_owner(struct inflight *t, uint16_t owner);

/* ------------------------------------------------------------------- stash */

/* A completion kept for its thread, with its own copy of the bytes. */
struct stash_entry {
	uint64_t id;
	int32_t status;
	int32_t death;   /* 0, or the session failure that produced it */
	uint32_t len;
	int32_t next;    /* next in its list, -1 */
	unsigned char *buf;
	uint32_t cap;
};

struct stash {
	struct stash_entry *e;
	uint32_t count, cap;
	int32_t free_head;
};

/* A list of stash entries, oldest first. */
struct stash_list {
	int32_t head, tail;
};

#define STASH_NONE (-1)

VAMOS_CLIENT_INTERNAL void stash_free_all(struct stash *st);
/* A free entry with room for @len bytes; its index or -ENOMEM. */
VAMOS_CLIENT_INTERNAL int32_t stash_alloc(struct stash *st, uint32_t len);
VAMOS_CLIENT_INTERNAL void stash_release(struct stash *st, int32_t i);
VAMOS_CLIENT_INTERNAL void stash_push(struct stash *st, struct stash_list *l, int32_t i);
VAMOS_CLIENT_INTERNAL int32_t stash_pop(struct stash *st, struct stash_list *l);
/* Release every entry of @l. */
VAMOS_CLIENT_INTERNAL void stash_release_list(struct stash *st, struct stash_list *l);

/* ----------------------------------------------------------------- session */

/* One thread's part of a session. */
struct session_user {
	bool active;
	bool calling;            /* in vamos_call, waiting for call_id */
	uint64_t call_id;
	int32_t call_entry;      /* its completion, when another thread took it */
	struct stash_list ready; /* completions for its vamos_session_complete */
	struct stash_list handed;/* handed out; freed at its next complete/call */
	uint32_t pending;        /* submitted and not yet handed out */
	unsigned char *arena;    /* reply bytes handed out by complete */
	size_t arena_cap;
};

struct vamos_session {
	struct vamos_client *client;
	uint32_t index;          /* channel index, or connection number */

	/* Sharing (see session.c): a lone thread never locks; it raises
	 * busy around each call so a newcomer can wait it out. */
	atomic_bool shared;
	atomic_int busy;
	pthread_mutex_t lock;
	/* Shared sessions, leader/follower (io.c): at most one thread, the
	 * receiver, waits on the channel, without the lock, while @receiving
	 * is set; meanwhile the others may send (submit, flush) under the
	 * lock but leave the channel's receive side and the channel itself
	 * alone, and sleep (followers.c). The receiver wakes the followers
	 * it routed replies to, and one follower when it gives the role up. */
	bool receiving;
	uint32_t closers;        /* threads in session_die waiting for the
				    receiver: nobody takes the role meanwhile */
	pthread_cond_t turn;     /* CLOCK_MONOTONIC; closers wait on it */
	struct follower *followers; /* asleep (followers.c) */
	bool dying;              /* session_die is routing the last replies */

	struct vamos_chan *ch;   /* NULL: not open (never, or it died) */
	struct shm_backend *be;  /* LOCAL/IVSHMEM: the backend of ch */
	uint64_t boot_id;        /* of the host that welcomed us last */
	uint32_t host_channel;
	uint32_t max_request;    /* request payload bytes (header excluded) */
	uint64_t next_id;
	uint64_t opens;          /* successful handshakes */
	uint32_t queued;         /* requests committed since the last flush */

	struct reply_spin spin;  /* LOCAL/IVSHMEM: poll before sleeping */
	int64_t flushed_ns;      /* when requests were last sent */
	struct inflight inflight;
	struct stash stash;
	struct session_user *users;
	uint32_t user_cap;
	uint32_t active_users;

	uint64_t dropped;        /* replies to ids not in flight, stale records */
	struct vamos_chan_stats closed_stats; /* of channels closed before */
	bool failed;
	char error[224];
};

struct thread_ctx {
	struct vamos_client *client;
	struct vamos_session *session;
	uint16_t token;
	struct thread_ctx *prev, *next;
	/* The thread's copy of its session's error: vamos_session_error()
	 * hands this out, never the session's own buffer, which another
	 * thread of a shared session may rewrite. */
	char error[224];
};

struct vamos_client {
	struct client_config cfg;
	char describe[384];
	_Atomic(const char *) error;

	uint32_t pool_size;
	struct vamos_session *sessions;
	atomic_uint next_session;
	pthread_key_t key;

	/* Slow path only: reconnecting the backend. */
	pthread_mutex_t lock;
	struct shm_backend *backend; /* current; NULL after a failed reconnect */
	/* The current backend's generation: written under @lock, read
	 * without it by sessions, whose channel of an older one must go. */
	atomic_uint_fast64_t generation;
	atomic_uint_fast64_t attempts; /* reconnect attempts finished */

	pthread_mutex_t threads_lock; /* the list of threads' contexts */
	struct thread_ctx *threads;
};

/* 0 or -ENOMEM; destroy only what was initialised. */
VAMOS_CLIENT_INTERNAL int session_init(struct vamos_session *s, struct vamos_client *c,
				       uint32_t index);
VAMOS_CLIENT_INTERNAL void session_destroy(struct vamos_session *s);
/* pthread key destructor: the thread leaves its session. */
VAMOS_CLIENT_INTERNAL void session_thread_exit(void *ctx);

/* Enter a public call: locks a shared session, marks a lone one busy.
 * Returns whether it locked. */
VAMOS_CLIENT_INTERNAL bool session_enter(struct vamos_session *s);
VAMOS_CLIENT_INTERNAL void session_leave(struct vamos_session *s, bool locked);
/* In a long wait: a lone thread whose session became shared meanwhile
 * takes the lock from now on. Returns the new @locked. */
VAMOS_CLIENT_INTERNAL bool session_upgrade(struct vamos_session *s, bool locked);
/* The calling thread's token in @s (0 if it never joined @s). */
VAMOS_CLIENT_INTERNAL uint16_t session_token(const struct vamos_session *s);
/* Close the channel, keeping its counters. */
VAMOS_CLIENT_INTERNAL void session_close_channel(struct vamos_session *s);

/* handshake.c: make sure @s has an open, welcomed channel, opening one
 * if it has none (io.c first drops a channel the host lost). 0,
 * -ECONNREFUSED (host gone), -EPROTO, -ENOMEM. */
VAMOS_CLIENT_INTERNAL int session_ensure_open(struct vamos_session *s);

/* io.c */
struct pump_target {
	uint16_t token;
	/* vamos_session_complete: */
	struct vamos_completion *out;
	unsigned max, n;
	size_t arena_used;     /* bytes of the thread's arena handed out */
	/* vamos_call: */
	bool calling;
	uint64_t call_id;
	vamos_reply_room_fn room; /* where the reply's bytes go (vamos_call_room) */
	void *room_arg;
	uint32_t reply_cap;
	bool got;
	int got_status;
	uint32_t got_len;
	bool got_nomem;        /* the room function had no room */
	/* filled by session_pump: */
	unsigned polled;       /* records taken off the channel */
	/* session_step: the host's heartbeat during this wait */
	struct host_watch watch;
};

/* The session died (-ECONNRESET or -EPROTO, @why): replies already there
 * are routed first, every request in flight completes with -ECONNRESET,
 * the channel is closed. */
VAMOS_CLIENT_INTERNAL void session_die(struct vamos_session *s, int err, const char *why);
/* One batch off the channel, without blocking: each reply checked and
 * routed. Returns replies delivered to @t. */
VAMOS_CLIENT_INTERNAL unsigned session_pump(struct vamos_session *s, struct pump_target *t);
/* One round of waiting for @t: take what the channel has, else wait one
 * slice. On a shared session the waiting thread is the receiver, without
 * the lock, or if another thread already is, sleeps until that one routed
 * a reply for this thread or gave the role up (followers.c). Returns
 * replies delivered to @t, 0 (look at your lists again: another thread or
 * the session's death may have filled them), -ETIMEDOUT at @deadline, or
 * -EHOSTDOWN when the host's heartbeat has stood still for the client's
 * stale_ms (the session's error says so; the session stays open). */
VAMOS_CLIENT_INTERNAL int session_step(struct vamos_session *s, bool *locked,
				       int64_t deadline, struct pump_target *t);
VAMOS_CLIENT_INTERNAL int session_submit_locked(struct vamos_session *s, uint16_t token,
						uint16_t service, uint16_t op,
						const void *data, uint32_t len, uint64_t *id);
VAMOS_CLIENT_INTERNAL int session_flush_locked(struct vamos_session *s);
/* Forget what @token was handed out last (the data of its completions). */
VAMOS_CLIENT_INTERNAL void session_user_reset(struct vamos_session *s, uint16_t token);
/* Give @e (a stash entry) to its thread: its vamos_call or its list. */
VAMOS_CLIENT_INTERNAL void session_deliver(struct vamos_session *s, uint16_t owner, int32_t e);

/* A thread of a shared session asleep while another receives (followers.c),
 * on its caller's stack while it sleeps. */
struct follower {
	pthread_cond_t wake;
	bool woken;              /* woken since it went to sleep */
	bool any;                /* wake it at any reply (it waits for room) */
	uint16_t token;
	struct follower *prev, *next;
};

/* Under the session's lock. Sleep until woken or @until (CLOCK_MONOTONIC);
 * @any: wake at any reply routed, not only one of @token's. Returns 0 when
 * woken (look at your lists: it may be for nothing), -ETIMEDOUT, or
 * -ENOMEM. */
VAMOS_CLIENT_INTERNAL int followers_sleep(struct vamos_session *s, uint16_t token, bool any,
					  const struct timespec *until);
/* A reply for @owner was routed: wake it if it sleeps. */
VAMOS_CLIENT_INTERNAL void followers_wake_owner(struct vamos_session *s, uint16_t owner);
/* Replies were taken off the channel: wake the followers waiting for room. */
VAMOS_CLIENT_INTERNAL void followers_wake_any(struct vamos_session *s);
/* Nobody receives: wake one follower still waiting, to take the role. */
VAMOS_CLIENT_INTERNAL void followers_pass_role(struct vamos_session *s);
/* The session died or changed under them: wake every follower. */
VAMOS_CLIENT_INTERNAL void followers_wake_all(struct vamos_session *s);

/* ------------------------------------------------------------------- util */

VAMOS_CLIENT_INTERNAL int64_t client_now_ms(void);
VAMOS_CLIENT_INTERNAL int64_t client_now_ns(void);
/* Deadline @ms from now; -1 ms means none (INT64_MAX). */
VAMOS_CLIENT_INTERNAL int64_t client_deadline(int ms);
/* ms left until @deadline, clamped to [0, INT_MAX]. */
VAMOS_CLIENT_INTERNAL int client_left_ms(int64_t deadline);
VAMOS_CLIENT_INTERNAL uint64_t client_random64(void);
/* Sleep the next backoff step (5 ms doubling to 200 ms), never past
 * @deadline. */
VAMOS_CLIENT_INTERNAL void client_backoff(int *step_ms, int64_t deadline);
/* Errors a retry may cure (the host is restarting). */
VAMOS_CLIENT_INTERNAL bool client_transient(enum vamos_transport_kind kind, int err);
/* The client failed as a whole: @why (static) for vamos_client_error. */
VAMOS_CLIENT_INTERNAL void client_set_error(struct vamos_client *c, const char *why);
/* The session failed: its error message, for vamos_session_error. */
VAMOS_CLIENT_INTERNAL void session_set_error(struct vamos_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
