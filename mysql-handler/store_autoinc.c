/* SPDX-License-Identifier: MIT */
/* Persisting the AUTO_INCREMENT floors before a commit (and at close). */
#define _GNU_SOURCE
#include <pthread.h>

#include "store_internal.h"

int mh_autoinc_persist_all(struct mh_store *s)
{
	int rc = 0;
	/* One persister at a time: each writes what the counters say now,
	 * so floors only go up. The write reaches the WAL before the commit
	 * that called it does, so a commit that survives a crash finds a
	 * floor above its values. */
	pthread_mutex_lock(&s->floor_lock);
	pthread_mutex_lock(&s->counters_lock);
	/* Counters are only ever added at the head and freed at close: the
	 * list from this head on stays as it is. */
	struct mh_counters *head = s->counters;
	pthread_mutex_unlock(&s->counters_lock);
	for (struct mh_counters *c = head; c && !rc; c = c->next) {
		pthread_mutex_lock(&s->counters_lock);
		uint64_t next = c->next_autoinc, floor = c->autoinc_floor;
		pthread_mutex_unlock(&s->counters_lock);
		if (floor == 0 || (next != 0 && next <= floor))
			continue; /* exhausted and persisted so, or not passed */
		unsigned char k[MH_KEY_PREFIX + 4];
		mh_floor_key(c->id, k);
		char *err = NULL;
		rocksdb_transactiondb_put(s->db, s->wo_nosync, (const char *)k, sizeof k,
					  (const char *)&next, sizeof next, &err);
		if (err) {
			rc = mh_rocks_error(s, "AUTO_INCREMENT floor", err);
		} else {
			pthread_mutex_lock(&s->counters_lock);
			c->autoinc_floor = next;
			pthread_mutex_unlock(&s->counters_lock);
		}
	}
	pthread_mutex_unlock(&s->floor_lock);
	return rc;
}
