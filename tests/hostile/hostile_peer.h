/* SPDX-License-Identifier: MIT */
/*
 * A hostile local peer for tests: it joins an ivshmem server the way QEMU
 * does, speaking the socket protocol itself, and keeps every descriptor it
 * is given (the region's memory, the host's eventfds, its own) so a test
 * can abuse them by hand: write anywhere in the region, clear O_NONBLOCK on
 * shared eventfds, fill their counters, shrink the memory file, send bad
 * requests, leave at the worst moment. Plain C (no Criterion), so any test
 * runner, the soak included, can use it.
 */
#ifndef VAMOS_TEST_HOSTILE_PEER_H
#define VAMOS_TEST_HOSTILE_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vamos/channel.h>
#include <vamos/ivshmem.h>
#include <vamos/ring.h>

struct hostile_peer {
	int sock;
	int id;
	unsigned vectors;
	int shm_fd;
	unsigned char *base; /* the region, mapped shared */
	size_t size;
	int host_fds[VAMOS_IVSHMEM_MAX_VECTORS]; /* we ring the host on these */
	int own_fds[VAMOS_IVSHMEM_MAX_VECTORS];  /* the host rings us on these */
	unsigned host_count, own_count;
	struct vamos_region region;              /* attached, guest side */
};

/* Join the server at @socket with @vectors eventfds per peer. NULL, or
 * what went wrong (nothing is left open then). */
const char *hostile_join(struct hostile_peer *hp, const char *socket, unsigned vectors);

/*
 * The guest side of channel @index, ringing the host on its eventfd. With
 * @private_wait the channel sleeps on an eventfd of its own (nobody rings
 * it: it polls in slices) and so never takes what is in the shared ones;
 * else on our shared eventfd of that vector. 0 or a negative errno.
 */
int hostile_channel(struct hostile_peer *hp, uint32_t index, bool private_wait,
		    struct vamos_chan **out);

/* Close everything, unmap, mark nothing: just gone (a crash). */
void hostile_leave(struct hostile_peer *hp);

/* Clear O_NONBLOCK on @fd's open file description (shared with the host). */
int hostile_clear_nonblock(int fd);
/* Fill eventfd @fd's counter to its maximum, 0xfffffffffffffffe. */
int hostile_fill_eventfd(int fd);

/* A small deterministic generator (xorshift64*), seeded by the caller. */
uint64_t hostile_rand(uint64_t *state);

/* One random attack on the region's memory: a random word written into the
 * header, a ring's control block or its records (weighted toward the
 * first), or a few random bytes anywhere. */
void hostile_scribble(struct hostile_peer *hp, uint64_t *rng);

#endif
