/* SPDX-License-Identifier: MIT */
/*
 * The followers of a shared session (guest-client/followers.c), on a bare
 * session: a reply wakes the thread it is for and no other, a freed
 * receiver role wakes exactly one thread still waiting, a death wakes all.
 * Each check looks at who is still asleep, under the session's lock: a
 * woken thread leaves the list only once it has the lock again, and a
 * spurious wakeup puts a thread back to sleep, so nothing here depends on
 * timing. The threads' sleeps are a minute long: only a broken wake
 * lets one run out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../guest-client/internal.h"
#include "scenarios.h"
#include "vamos_clock.h"

struct sleeper {
	pthread_t thread;
	struct vamos_session *s;
	uint16_t token;
	bool any;
	int rc;
	bool running;            /* started and not joined yet */
};

static void *sleep_once(void *arg)
{
	struct sleeper *z = arg;
	struct timespec until = vamos_monotonic_in(60000);
	pthread_mutex_lock(&z->s->lock);
	z->rc = followers_sleep(z->s, z->token, z->any, &until);
	pthread_mutex_unlock(&z->s->lock);
	return NULL;
}

/* Followers asleep now, and how many of them are marked woken (lock held). */
static unsigned count_asleep(struct vamos_session *s, unsigned *woken)
{
	unsigned n = 0, w = 0;
	for (struct follower *f = s->followers; f; f = f->next, n++)
		w += f->woken;
	if (woken)
		*woken = w;
	return n;
}

/* Whether @token's follower is asleep (lock held). */
static bool asleep(struct vamos_session *s, uint16_t token)
{
	for (struct follower *f = s->followers; f; f = f->next)
		if (f->token == token)
			return true;
	return false;
}

/* Wait (up to a minute) until @n followers sleep. */
static bool all_asleep(struct vamos_session *s, unsigned n)
{
	for (int i = 0; i < 60000; i++) {
		pthread_mutex_lock(&s->lock);
		unsigned have = count_asleep(s, NULL);
		pthread_mutex_unlock(&s->lock);
		if (have == n)
			return true;
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	return false;
}

static bool start(struct sleeper *z, struct vamos_session *s, uint16_t token, bool any)
{
	*z = (struct sleeper){ .s = s, .token = token, .any = any, .rc = 1 };
	return z->running = pthread_create(&z->thread, NULL, sleep_once, z) == 0;
}

/* Join @z, which must have been woken (not timed out). */
static const char *joined_woken(struct sleeper *z)
{
	pthread_join(z->thread, NULL);
	z->running = false;
	return z->rc == 0 ? NULL : scenario_failf("follower %u: sleep returned %d, not woken",
						  z->token, z->rc);
}

const char *scenario_followers_wake_whom_they_should(void)
{
	const char *err = NULL;
	struct vamos_session s;
	memset(&s, 0, sizeof s);
	pthread_mutex_init(&s.lock, NULL);
	struct sleeper z[5] = { 0 };
	unsigned woken = 0;

	/* 1 and 2 wait for their replies, 3 for room to submit. */
	TRY(start(&z[0], &s, 1, false) && start(&z[1], &s, 2, false) && start(&z[2], &s, 3, true),
	    "cannot start threads");
	TRY(all_asleep(&s, 3), "the three followers never all slept");

	/* A reply for 2 wakes 2 alone. */
	pthread_mutex_lock(&s.lock);
	followers_wake_owner(&s, 2);
	followers_wake_owner(&s, 9); /* nobody's: nothing happens */
	count_asleep(&s, &woken);
	pthread_mutex_unlock(&s.lock);
	TRY(woken == 1, "a reply for 2 marked %u followers woken", woken);
	if ((err = joined_woken(&z[1])))
		goto out;
	pthread_mutex_lock(&s.lock);
	bool only_2_left = asleep(&s, 1) && !asleep(&s, 2) && asleep(&s, 3);
	pthread_mutex_unlock(&s.lock);
	TRY(only_2_left, "after a reply for 2, the sleepers are not exactly 1 and 3");

	/* Replies taken off the channel wake the one waiting for room. */
	pthread_mutex_lock(&s.lock);
	followers_wake_any(&s);
	count_asleep(&s, &woken);
	pthread_mutex_unlock(&s.lock);
	TRY(woken == 1, "replies routed marked %u followers woken, not the one waiting for room",
	    woken);
	if ((err = joined_woken(&z[2])))
		goto out;

	/* While a receiver has the role, nobody is handed it; once it is
	 * free, the one still waiting is. */
	pthread_mutex_lock(&s.lock);
	s.receiving = true;
	followers_pass_role(&s);
	unsigned n = count_asleep(&s, &woken);
	s.receiving = false;
	pthread_mutex_unlock(&s.lock);
	TRY(n == 1 && woken == 0, "the role, still taken, was handed to %u of %u", woken, n);
	pthread_mutex_lock(&s.lock);
	followers_pass_role(&s);
	count_asleep(&s, &woken);
	pthread_mutex_unlock(&s.lock);
	TRY(woken == 1, "a free role woke %u followers, not the one waiting", woken);
	if ((err = joined_woken(&z[0])))
		goto out;

	/* Two waiting: a free role wakes one of them, a death both. */
	TRY(start(&z[3], &s, 4, false) && start(&z[4], &s, 5, false), "cannot start threads");
	TRY(all_asleep(&s, 2), "the two followers never both slept");
	pthread_mutex_lock(&s.lock);
	followers_pass_role(&s);
	n = count_asleep(&s, &woken);
	followers_wake_all(&s);
	unsigned after_death;
	count_asleep(&s, &after_death);
	pthread_mutex_unlock(&s.lock);
	TRY(n == 2 && woken == 1, "a free role woke %u of %u followers, not one", woken, n);
	TRY(after_death == 2, "a death woke %u of 2 followers", after_death);
	if ((err = joined_woken(&z[3])) || (err = joined_woken(&z[4])))
		goto out;

	/* Nobody wakes it: the sleep ends at its time. */
	struct timespec soon = vamos_monotonic_in(1);
	pthread_mutex_lock(&s.lock);
	int rc = followers_sleep(&s, 6, false, &soon);
	n = count_asleep(&s, NULL);
	pthread_mutex_unlock(&s.lock);
	TRY(rc == -ETIMEDOUT && n == 0, "an unwoken sleep returned %d and left %u listed", rc, n);
out:
	/* On a failure, wake and join what still runs. */
	pthread_mutex_lock(&s.lock);
	followers_wake_all(&s);
	pthread_mutex_unlock(&s.lock);
	for (unsigned i = 0; i < 5; i++)
		if (z[i].running)
			pthread_join(z[i].thread, NULL);
	pthread_mutex_destroy(&s.lock);
	return err;
}
