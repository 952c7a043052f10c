/* SPDX-License-Identifier: MIT */
/*
 * Reading and ringing eventfds that a peer shares with us.
 *
 * An eventfd reaches the other side over SCM_RIGHTS, so both hold one open
 * file description: its counter and its file status flags. The peer can
 * clear O_NONBLOCK, drain the counter, or fill it to 0xfffffffffffffffe, at
 * any moment. So the flag is never relied on:
 *  - reading uses preadv2(RWF_NOWAIT), which never waits whatever the
 *    flags say (Linux 5.12 on; older kernels fall back to the guarded path
 *    below after a zero-timeout poll);
 *  - writing has no such per-call flag for eventfds. We skip the write when
 *    poll() says the counter is full (a wakeup is pending anyway); the peer
 *    can still fill it between that poll and our write, so a guarded write
 *    arms a per-thread timer first whose signal (handled, no SA_RESTART)
 *    cuts a write that blocks short with EINTR. The peer can then cost the
 *    thread one short guard interval per attempt, never a hang.
 */
#ifndef VAMOS_IVSHMEM_EVENTFD_IO_H
#define VAMOS_IVSHMEM_EVENTFD_IO_H

#include <stdbool.h>
#include <stdint.h>

/* Take the counter (0 if it was zero or the read failed). Never blocks;
 * on a kernel without RWF_NOWAIT, only @guarded reads pay for the guard
 * (a trusted side leaves O_NONBLOCK alone). */
uint64_t efd_take(int fd, bool guarded);

/*
 * Add 1. With @guarded (the peer shares the description and may be
 * hostile), never blocks longer than the guard interval; without, a plain
 * write (the fd is ours alone, or the other side is trusted). Returns true
 * if the counter was incremented.
 */
bool efd_ring(int fd, bool guarded);

#endif
