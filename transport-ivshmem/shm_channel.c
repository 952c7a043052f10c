/* SPDX-License-Identifier: MIT */
/*
 * vamos_chan over a libvamos-ring channel. The ring does the data path;
 * this file adds notification (only when the ring says the peer sleeps),
 * waiting (spin, then sleep on an eventfd or back off while polling), the
 * peer's liveness, and the channel's counters.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "eventfd_io.h"
#include "shm_channel.h"
#include "vamos_spin.h"

/* Default spin before sleeping: a shared-memory round trip costs about
 * 0.5 us here, an eventfd wakeup 20 us or more (doc/costs.md). */
#define SPIN_NS 50000ll
/* While busy-waiting, look at the clock once every this many turns: a
 * turn (a look and a pause) costs 15-20 ns here, a clock read 55 ns, so
 * the clock takes a tenth of the spin, not a third as at 8. */
#define SPIN_TURNS_PER_CLOCK 32u
/* Sleep at most this long at a time, so liveness is re-checked even if the
 * peer dies without a word. */
#define SLICE_MS 50
/* Polling backoff: first and longest nap. */
#define POLL_NAP_MIN_NS 20000ll
#define POLL_NAP_MAX_NS 1000000ll

struct shm_chan {
	struct vamos_chan base;
	struct vamos_channel ring;
	const struct vamos_region *region; /* owner's copy; outlives us */
	enum shm_notify_kind notify;
	int notify_fd;
	volatile uint32_t *doorbell;
	int doorbell_fd;
	uint64_t doorbell_offset;
	uint32_t doorbell_value;
	int wait_fd;
	/* wait()'s own epoll on wait_fd, edge-triggered: made on the first
	 * sleep; -1 not yet, -2 could not be made (poll and drain instead). */
	int wait_ep;
	bool guard_fds; /* the peer shares our eventfds' flags: see eventfd_io.h */
	struct vamos_link *link;
	bool watch_region;
	uint64_t unflushed; /* records committed since the last flush */
};

static struct shm_chan *from(struct vamos_chan *ch)
{
	return (struct shm_chan *)ch;
}

/* Has the host laid the region out anew since we attached? */
static bool rings_replaced(const struct shm_chan *c)
{
	return c->watch_region && !vamos_region_same_layout(c->region);
}

/* The peer's liveness: its link, and for a guest the region's epoch and
 * the host's generation. Returns 0 or the sticky failure. @receiving: the
 * caller is the receive side, which alone may look at the reply ring. */
static int check_peer(struct shm_chan *c, bool receiving)
{
	int failed = vamos_chan_failure_(&c->base);
	if (failed)
		return failed;
	const char *gone = vamos_link_gone(c->link);
	int err = gone ? -ECONNRESET : 0;
	if (!gone && c->watch_region) {
		int cur = vamos_region_current(c->region);
		if (cur < 0) {
			gone = "host state word is invalid";
			err = -EPROTO;
		} else if (cur == 0) {
			/* Same layout and still READY: only the generation moved. */
			bool reborn = vamos_region_same_layout(c->region) &&
				      vamos_region_state(c->region, VAMOS_SIDE_HOST) ==
					      VAMOS_STATE_READY;
			gone = reborn ? "vamosd restarted after its predecessor died"
				      : "host closed or reset the region";
			err = -ECONNRESET;
		}
	}
	if (!gone)
		return 0;
	/* The peer may have published its last records after our last look
	 * and just before it left: seeing it gone (an acquire of its state,
	 * or a system call for the link) makes those visible, and they are
	 * handed out before the failure is — unless the region was laid out
	 * anew (another epoch), when our rings hold nothing of ours. The send
	 * side fails at once: poll still hands those records out after an
	 * -ECONNRESET, and wait finds them before the failure. */
	if (err == -ECONNRESET && receiving && !rings_replaced(c) &&
	    vamos_consumer_pending(&c->ring.rx) > 0)
		return 0;
	return vamos_chan_fail_(&c->base, err, gone);
}

static int ring_broken(struct shm_chan *c, const char *why)
{
	/* A host that closed or laid the region out anew explains any
	 * nonsense in our rings: report that it went away, not garbage. */
	if (c->watch_region && vamos_region_current(c->region) == 0)
		return vamos_chan_fail_(&c->base, -ECONNRESET,
					"host closed or reset the region");
	return vamos_chan_fail_(&c->base, -EPROTO, why);
}

static int chan_reserve(struct vamos_chan *ch, uint32_t len, void **payload)
{
	struct shm_chan *c = from(ch);
	int failed = vamos_chan_failure_(ch);
	if (failed)
		return failed;
	int rc = vamos_producer_reserve(&c->ring.tx, len, payload);
	if (rc == -EPROTO)
		return ring_broken(c, vamos_producer_error(&c->ring.tx));
	return rc;
}

static int chan_commit(struct vamos_chan *ch, uint16_t type, uint32_t len)
{
	struct shm_chan *c = from(ch);
	int rc = vamos_producer_commit(&c->ring.tx, type, len);
	if (rc == 0) {
		c->unflushed++;
		vamos_chan_count_(&ch->stats.records_sent, 1);
		vamos_chan_count_(&ch->stats.bytes_sent, len);
	}
	return rc;
}

static void chan_abort(struct vamos_chan *ch)
{
	vamos_producer_abort(&from(ch)->ring.tx);
}

static void notify_peer(struct shm_chan *c)
{
	switch (c->notify) {
	case SHM_NOTIFY_EVENTFD:
		/* A full counter means a wakeup is pending anyway, and a peer
		 * that closed its end cannot be helped: ignore both. */
		efd_ring(c->notify_fd, c->guard_fds);
		break;
	case SHM_NOTIFY_MMIO:
		/* One 32-bit store to BAR0's Doorbell register: QEMU turns it
		 * into a write to the host's eventfd for this vector. */
		*c->doorbell = c->doorbell_value;
		break;
	case SHM_NOTIFY_PWRITE:
		if (pwrite(c->doorbell_fd, &c->doorbell_value, sizeof c->doorbell_value,
			   (off_t)c->doorbell_offset) < 0) {
		}
		break;
	case SHM_NOTIFY_NONE:
		return;
	}
	vamos_chan_count_(&c->base.stats.notifications_sent, 1);
}

static int chan_flush(struct vamos_chan *ch)
{
	struct shm_chan *c = from(ch);
	int rc = check_peer(c, false);
	if (rc)
		return rc;
	rc = vamos_producer_publish(&c->ring.tx);
	if (rc < 0)
		return ring_broken(c, vamos_producer_error(&c->ring.tx));
	if (c->unflushed) {
		vamos_chan_count_(&ch->stats.batches_sent, 1);
		c->unflushed = 0;
	}
	if (rc == 1)
		notify_peer(c);
	return 0;
}

static int chan_poll(struct vamos_chan *ch, struct vamos_record *out, unsigned max)
{
	struct shm_chan *c = from(ch);
	if (vamos_chan_failure_(ch) == -EPROTO)
		return -EPROTO;
	int n = vamos_consumer_peek(&c->ring.rx, out, max);
	if (n < 0)
		return ring_broken(c, vamos_consumer_error(&c->ring.rx));
	if (n == 0) {
		/* Records the peer published before it left are still handed
		 * out above; only an empty ring reports that it is gone. */
		int rc = check_peer(c, true);
		if (rc)
			return rc;
	}
	uint64_t bytes = 0;
	for (int i = 0; i < n; i++)
		bytes += out[i].len;
	vamos_chan_count_(&ch->stats.bytes_received, bytes);
	vamos_chan_count_(&ch->stats.records_received, (uint64_t)n);
	return n;
}

static void chan_release(struct vamos_chan *ch)
{
	vamos_consumer_release(&from(ch)->ring.rx);
}

/* 1 if records wait, 0 if not, or the failure. */
static int pending(struct shm_chan *c)
{
	int rc = vamos_consumer_pending(&c->ring.rx);
	if (rc < 0)
		return ring_broken(c, vamos_consumer_error(&c->ring.rx));
	return rc;
}

/* wait()'s epoll for @c, or -1 if it cannot have one. Edge-triggered, so
 * a doorbell wakes it once and the counter need not be drained: a sleep is
 * one system call, not a poll and a read. Every write to an eventfd
 * signals its waiters, so each doorbell rung after we announce a sleep is
 * a new edge, whatever the counter holds. */
static int wait_epoll(struct shm_chan *c)
{
	if (c->wait_ep >= 0 || c->wait_ep == -2)
		return c->wait_ep >= 0 ? c->wait_ep : -1;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c->wait_fd, &ev) == 0) {
		c->wait_ep = ep;
		return ep;
	}
	if (ep >= 0)
		close(ep);
	c->wait_ep = -2;
	return -1;
}

/* Sleep on the wait eventfd for up to @ms, after announcing it. Returns 1
 * if records are there, 0 to go round again, or the failure. */
static int sleep_on_eventfd(struct shm_chan *c, int ms)
{
	int rc = vamos_consumer_prepare_sleep(&c->ring.rx);
	if (rc < 0)
		return ring_broken(c, vamos_consumer_error(&c->ring.rx));
	if (rc == 0)
		return 1; /* records arrived while we announced */
	vamos_chan_count_(&c->base.stats.sleeps, 1);
	int ep = wait_epoll(c);
	if (ep >= 0) {
		struct epoll_event ev;
		/* A doorbell rung before this call but after the announcement
		 * is still on the epoll's ready list: no wakeup is lost. */
		if (epoll_wait(ep, &ev, 1, ms) > 0)
			vamos_chan_count_(&c->base.stats.notifications_received, 1);
	} else {
		struct pollfd pfd = { .fd = c->wait_fd, .events = POLLIN };
		if (poll(&pfd, 1, ms) > 0)
			/* Drain the counter: one read takes (and counts) every
			 * doorbell rung so far. Never blocking: another holder
			 * of the fd may have taken it first. */
			vamos_chan_count_(&c->base.stats.notifications_received,
					  efd_take(c->wait_fd, c->guard_fds));
	}
	vamos_consumer_awake(&c->ring.rx);
	return pending(c);
}

static int chan_wait(struct vamos_chan *ch, int timeout_ms)
{
	struct shm_chan *c = from(ch);
	int64_t nap = POLL_NAP_MIN_NS, spun = 0;
	int rc;

	if (vamos_chan_failure_(ch) == -EPROTO)
		return -EPROTO;
	/* Look before the clock is read: records already there cost no
	 * clock read (a vDSO call, 55 ns here). */
	rc = pending(c);
	if (rc)
		return rc;
	int64_t start = vamos_now_ns();
	int64_t deadline = timeout_ms < 0 ? INT64_MAX
					  : start + (int64_t)timeout_ms * 1000000ll;
	for (unsigned turn = 0;; turn++) {
		/* While busy-waiting, the clock costs several turns' pause:
		 * read it every few turns only, so a record is seen sooner
		 * after it lands. The first turn always reads it (a zero
		 * timeout or spin just looks once). */
		if (turn % SPIN_TURNS_PER_CLOCK && spun < VAMOS_SPIN_BUSY_NS) {
			vamos_cpu_relax();
			rc = pending(c);
			if (rc)
				return rc;
			continue;
		}
		int64_t now = vamos_now_ns();
		spun = now - start;
		if (spun >= ch->spin_ns || now >= deadline)
			break;
		vamos_spin_turn(spun);
		rc = pending(c);
		if (rc)
			return rc;
	}
	for (;;) {
		rc = check_peer(c, true);
		if (rc)
			return rc;
		int64_t left = deadline - vamos_now_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		if (c->wait_fd >= 0) {
			int ms = left / 1000000ll > SLICE_MS ? SLICE_MS
							     : (int)((left + 999999) / 1000000);
			rc = sleep_on_eventfd(c, ms);
		} else {
			/* Adaptive polling: nap, doubling up to the cap. */
			int64_t ns = nap < left ? nap : left;
			struct timespec ts = { ns / 1000000000ll, ns % 1000000000ll };
			nanosleep(&ts, NULL);
			vamos_chan_count_(&ch->stats.sleeps, 1);
			if (nap < POLL_NAP_MAX_NS)
				nap *= 2;
			rc = pending(c);
		}
		if (rc)
			return rc;
	}
}

static int chan_prepare_sleep(struct vamos_chan *ch)
{
	struct shm_chan *c = from(ch);
	int rc = check_peer(c, true);
	if (rc)
		return rc;
	if (c->wait_fd < 0) /* polling: nobody would ring; just look */
		return pending(c) ? 0 : 1;
	rc = vamos_consumer_prepare_sleep(&c->ring.rx);
	if (rc < 0)
		return ring_broken(c, vamos_consumer_error(&c->ring.rx));
	if (rc == 1)
		vamos_chan_count_(&ch->stats.sleeps, 1);
	return rc;
}

static void chan_awake(struct vamos_chan *ch)
{
	struct shm_chan *c = from(ch);
	if (c->wait_fd < 0)
		return;
	/* Take (and count) the doorbells that woke us, so the fd is quiet
	 * until the next; never blocking, whatever the peer did to its
	 * flags or its counter. */
	vamos_chan_count_(&ch->stats.notifications_received, efd_take(c->wait_fd, c->guard_fds));
	vamos_consumer_awake(&c->ring.rx);
}

static int chan_fd(const struct vamos_chan *ch)
{
	return ((const struct shm_chan *)ch)->wait_fd;
}

static uint32_t chan_max_payload(const struct vamos_chan *ch)
{
	const struct shm_chan *c = (const struct shm_chan *)ch;
	return vamos_ring_max_payload(c->ring.tx.capacity);
}

static uint32_t chan_room(struct vamos_chan *ch)
{
	int64_t room = vamos_producer_room(&from(ch)->ring.tx);
	return room > 0 ? (uint32_t)room : 0;
}

static void chan_close(struct vamos_chan *ch)
{
	struct shm_chan *c = from(ch);
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	if (c->wait_fd >= 0)
		close(c->wait_fd);
	if (c->wait_ep >= 0)
		close(c->wait_ep);
	vamos_link_put(c->link);
	free(c);
}

static const struct vamos_chan_ops shm_chan_ops = {
	.transport = "ivshmem",
	.reserve = chan_reserve,
	.commit = chan_commit,
	.abort = chan_abort,
	.flush = chan_flush,
	.poll = chan_poll,
	.release = chan_release,
	.wait = chan_wait,
	.prepare_sleep = chan_prepare_sleep,
	.awake = chan_awake,
	.fd = chan_fd,
	.max_payload = chan_max_payload,
	.room = chan_room,
	.close = chan_close,
};

int shm_chan_open(const struct shm_chan_params *p, struct vamos_chan **out)
{
	int rc = -ENOMEM;
	struct shm_chan *c = calloc(1, sizeof *c);
	if (!c)
		goto fail;
	rc = vamos_channel_open(p->region, p->index, p->side, &c->ring);
	if (rc)
		goto fail;
	c->base.ops = &shm_chan_ops;
	c->base.mode = p->wait_fd >= 0 ? VAMOS_NOTIFY_INTERRUPT : VAMOS_NOTIFY_POLL;
	c->base.spin_ns = SPIN_NS;
	c->region = p->region;
	c->notify = p->notify;
	c->notify_fd = p->notify == SHM_NOTIFY_EVENTFD ? p->notify_fd : -1;
	c->doorbell = p->doorbell;
	c->doorbell_fd = p->doorbell_fd;
	c->doorbell_offset = p->doorbell_offset;
	c->doorbell_value = p->doorbell_value;
	c->wait_fd = p->wait_fd;
	c->wait_ep = -1;
	c->guard_fds = p->guard_fds;
	c->link = vamos_link_get(p->link);
	c->watch_region = p->watch_region;
	*out = &c->base;
	return 0;
fail:
	free(c);
	if (p->notify == SHM_NOTIFY_EVENTFD && p->notify_fd >= 0)
		close(p->notify_fd);
	if (p->wait_fd >= 0)
		close(p->wait_fd);
	return rc;
}
