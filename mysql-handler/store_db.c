/* SPDX-License-Identifier: MIT */
/* Opening and closing the RocksDB database, and the resources stores
 * share. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

/* How long an open waits for the directory's LOCK, and how often it tries. */
#define OPEN_WAIT_MS 10000u
#define OPEN_RETRY_MS 50u
/* RocksDB's words when another process holds the LOCK (its C API has no
 * status code). */
#define LOCK_HELD "While lock file"

int mh_shared_create(const struct mh_shared_options *o, struct mh_shared **out)
{
	struct mh_shared_options d = { 0 };
	if (!o)
		o = &d;
	struct mh_shared *sh = calloc(1, sizeof *sh);
	if (!sh)
		return -ENOMEM;
	size_t cache = o->block_cache ? o->block_cache : (size_t)64 << 20;
	int threads = o->background_threads ? (int)o->background_threads : 2;
	sh->env = rocksdb_create_default_env();
	sh->cache = rocksdb_cache_create_lru(cache);
	if (!sh->env || !sh->cache) {
		mh_shared_destroy(sh);
		return -ENOMEM;
	}
	/* Compactions (low priority) and flushes (high) of every store. */
	rocksdb_env_set_background_threads(sh->env, threads);
	rocksdb_env_set_high_priority_background_threads(sh->env, 1);
	*out = sh;
	return 0;
}

void mh_shared_destroy(struct mh_shared *sh)
{
	if (!sh)
		return;
	if (sh->cache)
		rocksdb_cache_destroy(sh->cache);
	if (sh->env)
		rocksdb_env_destroy(sh->env);
	free(sh);
}

/* Does @dir hold an LMDB store (written by the LMDB version)? */
static bool holds_lmdb(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	return access(path, F_OK) == 0;
}

static void free_parts(struct mh_store *s)
{
	if (s->txo)
		rocksdb_transaction_options_destroy(s->txo);
	if (s->wo_nosync)
		rocksdb_writeoptions_destroy(s->wo_nosync);
	if (s->topts)
		rocksdb_transactiondb_options_destroy(s->topts);
	if (s->opts)
		rocksdb_options_destroy(s->opts);
	if (s->table_opts)
		rocksdb_block_based_options_destroy(s->table_opts);
	mh_shared_destroy(s->own);
	pthread_rwlock_destroy(&s->commit_lock);
	pthread_mutex_destroy(&s->counters_lock);
	pthread_mutex_destroy(&s->floor_lock);
	pthread_mutex_destroy(&s->sync_lock);
	pthread_cond_destroy(&s->sync_done_cond);
	free(s);
}

int mh_store_open(const char *dir, const struct mh_store_options *opt, struct mh_store **out,
		  const char **why)
{
	struct mh_store_options d = { 0 };
	if (!opt)
		opt = &d;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*why = "cannot create the store directory";
		return -errno;
	}
	if (holds_lmdb(dir)) {
		*why = "the store directory holds data written by the LMDB version of vamosd: dump it "
		       "with that version and reload it into this one (nothing was changed)";
		return -ENOTSUP;
	}
	struct mh_store *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	pthread_rwlock_init(&s->commit_lock, NULL);
	pthread_mutex_init(&s->counters_lock, NULL);
	pthread_mutex_init(&s->floor_lock, NULL);
	pthread_mutex_init(&s->sync_lock, NULL);
	pthread_cond_init(&s->sync_done_cond, NULL);
	struct mh_shared *sh = opt->shared;
	if (!sh) {
		int rc = mh_shared_create(NULL, &s->own);
		if (rc) {
			free_parts(s);
			*why = "out of memory";
			return rc;
		}
		sh = s->own;
	}
	size_t budget = opt->write_buffer ? opt->write_buffer : (size_t)16 << 20;
	s->opts = rocksdb_options_create();
	s->table_opts = rocksdb_block_based_options_create();
	s->topts = rocksdb_transactiondb_options_create();
	s->wo_nosync = rocksdb_writeoptions_create();
	s->txo = rocksdb_transaction_options_create();
	if (!s->opts || !s->table_opts || !s->topts || !s->wo_nosync || !s->txo) {
		free_parts(s);
		*why = "out of memory";
		return -ENOMEM;
	}
	rocksdb_options_set_create_if_missing(s->opts, 1);
	/* AUTO_INCREMENT floors are merges taking the larger value. */
	rocksdb_mergeoperator_t *floor_max = mh_floor_merge_operator();
	if (!floor_max) {
		free_parts(s);
		*why = "out of memory";
		return -ENOMEM;
	}
	rocksdb_options_set_merge_operator(s->opts, floor_max);
	rocksdb_options_set_env(s->opts, sh->env);
	rocksdb_block_based_options_set_block_cache(s->table_opts, sh->cache);
	/* A whole-key bloom filter per table file: a point read (a row by
	 * primary key, a catalog entry, a unique key claimed by an insert)
	 * skips every file that cannot hold its key. The options take it. */
	rocksdb_filterpolicy_t *bloom = rocksdb_filterpolicy_create_bloom_full(10);
	if (!bloom) {
		free_parts(s);
		*why = "out of memory";
		return -ENOMEM;
	}
	rocksdb_block_based_options_set_filter_policy(s->table_opts, bloom);
	rocksdb_options_set_block_based_table_factory(s->opts, s->table_opts);
	/* Memtables: the store's whole budget, in a few small buffers. */
	rocksdb_options_set_db_write_buffer_size(s->opts, budget);
	rocksdb_options_set_write_buffer_size(s->opts, budget / 4 ? budget / 4 : budget);
	rocksdb_options_set_max_write_buffer_number(s->opts, 4);
	rocksdb_options_set_max_background_jobs(s->opts, 2);
	rocksdb_options_set_max_open_files(s->opts, 256);
	rocksdb_options_set_keep_log_file_num(s->opts, 2);
	unsigned wait = opt->lock_wait_ms ? opt->lock_wait_ms : 50000;
	s->lock_wait_ms = wait;
	rocksdb_transactiondb_options_set_transaction_lock_timeout(s->topts, wait);
	rocksdb_transaction_options_set_lock_timeout(s->txo, wait);
	rocksdb_transaction_options_set_deadlock_detect(s->txo, 1);
	s->sync_wal = opt->sync == MH_SYNC_FULL;
	rocksdb_writeoptions_set_sync(s->wo_nosync, 0);
	char *err = NULL;
	/* The directory's LOCK may still be held by a worker that is being
	 * torn down (killed with its keeper, say): wait for it a while, not
	 * forever, since another live vamosd on this data_dir never lets go. */
	for (unsigned waited_ms = 0;; waited_ms += OPEN_RETRY_MS) {
		s->db = rocksdb_transactiondb_open(s->opts, s->topts, dir, &err);
		if (s->db || !err || !strstr(err, LOCK_HELD) || waited_ms >= OPEN_WAIT_MS)
			break;
		free(err);
		err = NULL;
		struct timespec pause = { 0, OPEN_RETRY_MS * 1000000L };
		nanosleep(&pause, NULL);
	}
	if (!s->db && err && strstr(err, LOCK_HELD)) {
		static __thread char held[320];
		snprintf(held, sizeof held,
			 "%s is in use by another process (another vamosd on the same data_dir?): %s",
			 dir, err);
		free(err);
		*why = held;
		free_parts(s);
		return -EBUSY;
	}
	if (!s->db) {
		static __thread char words[240];
		snprintf(words, sizeof words, "%s", err ? err : "cannot open the store");
		free(err);
		*why = words;
		free_parts(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

bool mh_store_syncs(const struct mh_store *s)
{
	return s->sync_wal;
}

int mh_store_sync(struct mh_store *s)
{
	if (!s->sync_wal)
		return 0;
	pthread_mutex_lock(&s->sync_lock);
	/* A sync that starts after this call covers every write that
	 * returned before it; one already running may have missed them. */
	uint64_t need = s->syncs_started + 1;
	while (s->syncs_done < need) {
		if (s->syncing) {
			pthread_cond_wait(&s->sync_done_cond, &s->sync_lock);
			continue;
		}
		uint64_t number = ++s->syncs_started;
		s->syncing = true;
		pthread_mutex_unlock(&s->sync_lock);
		/* Every write is made without a sync (wo_nosync): this fsyncs
		 * the WAL up to its end. */
		char *err = NULL;
		rocksdb_transactiondb_flush_wal(s->db, 1, &err);
		if (err)
			mh_rocks_error(s, "WAL sync", err);
		pthread_mutex_lock(&s->sync_lock);
		s->sync_failed |= err != NULL;
		s->syncing = false;
		s->syncs_done = number;
		pthread_cond_broadcast(&s->sync_done_cond);
	}
	int rc = s->sync_failed ? -EIO : 0;
	pthread_mutex_unlock(&s->sync_lock);
	return rc;
}

void mh_store_close(struct mh_store *s)
{
	if (!s)
		return;
	/* Values handed out since the last commit are not handed out again
	 * after a clean restart either. */
	mh_autoinc_persist_all(s);
	rocksdb_transactiondb_close(s->db);
	while (s->counters) {
		struct mh_counters *n = s->counters->next;
		free(s->counters);
		s->counters = n;
	}
	free_parts(s);
}

uint32_t mh_store_max_key(const struct mh_store *s)
{
	(void)s;
	return MH_MAX_KEY;
}
