/* SPDX-License-Identifier: MIT */
/* Seed writers of the fuzz targets: each writes its target's seed corpus
 * into @dir (one file per seed) and exits, 0 on success. A target runs its
 * writer when VAMOS_FUZZ_WRITE_SEEDS=DIR is set. */
#ifndef VAMOS_FUZZ_SEEDS_H
#define VAMOS_FUZZ_SEEDS_H

void fuzz_mysql_write_seeds(const char *dir) __attribute__((noreturn));
void fuzz_session_write_seeds(const char *dir) __attribute__((noreturn));

#endif
