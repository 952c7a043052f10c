/* SPDX-License-Identifier: MIT */
/* Remove a test's store directory and everything in it. */
#ifndef VAMOS_TEST_RMTREE_H
#define VAMOS_TEST_RMTREE_H

#include <ftw.h>
#include <stdio.h>

static int rmtree_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Depth first, never following symbolic links. */
static inline void rmtree(const char *dir)
{
	nftw(dir, rmtree_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
