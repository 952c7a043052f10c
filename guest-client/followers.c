/* SPDX-License-Identifier: MIT */
/*
 * The followers of a shared session: threads asleep while another thread,
 * the receiver, takes replies off the channel. Each sleeps on a condition
 * variable of its own (on its stack for the sleep), so a reply wakes the
 * thread it is for and nobody else, and a receiver that gives its role up
 * wakes one follower to take it. A broadcast would wake every thread of
 * the session for every reply: with four threads on a session, most would
 * find nothing and go back to sleep, a context switch each on a guest's
 * few vCPUs.
 *
 * Everything here runs under the session's lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <time.h>

#include "internal.h"

/* Wake @f, once until it sleeps again (a signal to a thread already
 * woken only costs a futex call). */
static void wake(struct follower *f)
{
	if (!f->woken) {
		f->woken = true;
		pthread_cond_signal(&f->wake);
	}
}

int followers_sleep(struct vamos_session *s, uint16_t token, bool any,
		    const struct timespec *until)
{
	struct follower f = { .token = token, .any = any };
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	/* Slices are on the clock deadlines are counted on. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(&f.wake, &ca);
	pthread_condattr_destroy(&ca);
	if (rc)
		return -ENOMEM;
	f.next = s->followers;
	if (f.next)
		f.next->prev = &f;
	s->followers = &f;
	/* A wake sets woken under the lock before it signals: a wakeup
	 * without it is spurious, and the caller's loop looks again anyway. */
	do
		rc = pthread_cond_timedwait(&f.wake, &s->lock, until);
	while (rc == 0 && !f.woken);
	if (f.prev)
		f.prev->next = f.next;
	else
		s->followers = f.next;
	if (f.next)
		f.next->prev = f.prev;
	pthread_cond_destroy(&f.wake);
	return rc == ETIMEDOUT && !f.woken ? -ETIMEDOUT : 0;
}

void followers_wake_owner(struct vamos_session *s, uint16_t owner)
{
	for (struct follower *f = s->followers; f; f = f->next)
		if (f->token == owner)
			wake(f);
}

void followers_wake_any(struct vamos_session *s)
{
	for (struct follower *f = s->followers; f; f = f->next)
		if (f->any)
			wake(f);
}

void followers_pass_role(struct vamos_session *s)
{
	if (s->receiving || s->closers)
		return;
	/* One that no reply woke yet: it still waits, so it receives. A
	 * woken one looks at the channel itself if it needs more. */
	for (struct follower *f = s->followers; f; f = f->next)
		if (!f->woken) {
			wake(f);
			return;
		}
}

void followers_wake_all(struct vamos_session *s)
{
	for (struct follower *f = s->followers; f; f = f->next)
		wake(f);
}
