/* SPDX-License-Identifier: MIT */
/* Owed snapshot ends, and the thread that sends them (idle_snapshots.h). */
#include "idle_snapshots.h"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <vamos/mysql_protocol.h>

#include "bytes.h"
#include "connection.h"
#include "vamos_clock.h"

namespace vamos {

namespace {

std::mutex lock;                 /* the owed list and every Trx's idle state */
std::condition_variable changed; /* an end was sent, or stop */
Trx *owed_head;                  /* Trx in IDLE_OWED, oldest first */
Trx *owed_tail;
std::thread reaper;
bool stopping;


/* Under the lock. */
void unlink(Trx *t)
{
	(t->idle_prev ? t->idle_prev->idle_next : owed_head) = t->idle_next;
	(t->idle_next ? t->idle_next->idle_prev : owed_tail) = t->idle_prev;
	t->idle_prev = t->idle_next = nullptr;
}

void send_end(uint64_t ctx, uint64_t epoch)
{
	if (!ctx || !conn_handles_live(epoch))
		return; /* the context went with a vamosd restart or a lost connection */
	std::string req, reply;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	h.ctx = ctx;
	put(&req, h);
	/* A failure leaves nothing behind that matters: the connection's next
	 * statement takes a fresh snapshot anyway. */
	(void)conn_call(epoch, VAMOS_MYSQL_COMMIT, req, &reply);
	__atomic_add_fetch(&conn_stats.idle_ends, 1, __ATOMIC_RELAXED);
}

void reap()
{
	std::unique_lock<std::mutex> g(lock);
	while (!stopping) {
		changed.wait_for(g, std::chrono::milliseconds(IDLE_SNAPSHOT_MS / 2));
		int64_t due = vamos_now_ms() - IDLE_SNAPSHOT_MS;
		while (!stopping && owed_head && owed_head->idle_since_ms <= due) {
			Trx *t = owed_head;
			unlink(t);
			/* ENDING: the connection waits in idle_claim, and
			 * idle_forget keeps @t alive, until it is sent. */
			t->idle_state = Trx::IDLE_ENDING;
			uint64_t ctx = t->ctx, epoch = t->epoch;
			g.unlock();
			send_end(ctx, epoch);
			g.lock();
			t->idle_state = Trx::IDLE_NONE;
			changed.notify_all();
		}
	}
}

} // namespace

void idle_owe(Trx *t)
{
	std::lock_guard<std::mutex> g(lock);
	if (t->idle_state != Trx::IDLE_NONE)
		return;
	t->idle_state = Trx::IDLE_OWED;
	t->idle_since_ms = vamos_now_ms();
	t->idle_prev = owed_tail;
	t->idle_next = nullptr;
	(owed_tail ? owed_tail->idle_next : owed_head) = t;
	owed_tail = t;
}

void idle_claim(Trx *t)
{
	/* Only this connection's thread moves NONE to OWED, so NONE seen here
	 * stays NONE: no lock on the common path. */
	if (t->idle_state.load(std::memory_order_acquire) == Trx::IDLE_NONE)
		return;
	std::unique_lock<std::mutex> g(lock);
	changed.wait(g, [t] { return t->idle_state != Trx::IDLE_ENDING; });
	if (t->idle_state == Trx::IDLE_OWED) {
		unlink(t);
		t->idle_state = Trx::IDLE_NONE;
	}
}

void idle_forget(Trx *t)
{
	idle_claim(t);
}

int idle_start()
{
	std::lock_guard<std::mutex> g(lock);
	stopping = false;
	try {
		reaper = std::thread(reap);
	} catch (...) {
		return -EAGAIN;
	}
	return 0;
}

void idle_stop()
{
	{
		std::lock_guard<std::mutex> g(lock);
		stopping = true;
		changed.notify_all();
	}
	if (reaper.joinable())
		reaper.join();
}

} // namespace vamos
