/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shm_guard.h"

#define GUARD_SLOTS 128

/* Read by the signal handler, so lock-free: a slot is claimed by storing
 * its size then its base (release); the handler loads the base (acquire)
 * and then its size. */
struct slot {
	_Atomic(uintptr_t) base;
	atomic_size_t size;
	atomic_bool severed;
};

static struct slot slots[GUARD_SLOTS];
static pthread_mutex_t add_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous;
static bool installed;

static void chain(int sig, siginfo_t *si, void *uc)
{
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, si, uc);
	} else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
	} else {
		/* Default: returning re-runs the access, which kills us. */
		signal(sig, SIG_DFL);
	}
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t at = (uintptr_t)si->si_addr;
	int saved = errno;
	for (unsigned i = 0; i < GUARD_SLOTS; i++) {
		uintptr_t base = atomic_load_explicit(&slots[i].base, memory_order_acquire);
		size_t size = atomic_load_explicit(&slots[i].size, memory_order_relaxed);
		if (!base || at < base || at - base >= size)
			continue;
		/* Zero pages over the whole region: the access that faulted,
		 * and every later one, completes on memory the peer no longer
		 * shares. The system call itself, not a wrapper a sanitizer
		 * may intercept: nothing but the kernel runs in this handler. */
		void *p = (void *)syscall(SYS_mmap, (void *)base, size, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			break;
		atomic_store_explicit(&slots[i].severed, true, memory_order_release);
		errno = saved;
		return;
	}
	errno = saved;
	chain(sig, si, uc);
}

int shm_guard_add(void *base, size_t size)
{
	pthread_mutex_lock(&add_lock);
	int rc = 0;
	if (!installed) {
		struct sigaction sa = { .sa_sigaction = on_sigbus,
					.sa_flags = SA_SIGINFO | SA_NODEFER };
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, &previous) < 0)
			rc = -errno;
		else
			installed = true;
	}
	unsigned i = 0;
	while (rc == 0 && i < GUARD_SLOTS && atomic_load(&slots[i].base))
		i++;
	if (rc == 0 && i == GUARD_SLOTS)
		rc = -ENOSPC;
	if (rc == 0) {
		atomic_store_explicit(&slots[i].severed, false, memory_order_relaxed);
		atomic_store_explicit(&slots[i].size, size, memory_order_relaxed);
		atomic_store_explicit(&slots[i].base, (uintptr_t)base, memory_order_release);
	}
	pthread_mutex_unlock(&add_lock);
	return rc;
}

void shm_guard_remove(void *base)
{
	pthread_mutex_lock(&add_lock);
	for (unsigned i = 0; i < GUARD_SLOTS; i++)
		if (atomic_load(&slots[i].base) == (uintptr_t)base)
			atomic_store(&slots[i].base, 0);
	pthread_mutex_unlock(&add_lock);
}

bool shm_guard_take_severed(void *base)
{
	for (unsigned i = 0; i < GUARD_SLOTS; i++)
		if (atomic_load(&slots[i].base) == (uintptr_t)base)
			/* Acquire: pairs with the handler's mark. */
			return atomic_exchange_explicit(&slots[i].severed, false,
							memory_order_acq_rel);
	return false;
}
