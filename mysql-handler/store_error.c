/* SPDX-License-Identifier: MIT */
/* The store's errors: RocksDB's words as an errno, and the words of the
 * latest failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* The words of this thread's latest failure: stores are used by many
 * threads at once, and whoever failed reads them next. */
static __thread char error_words[200];

int mh_store_fail(struct mh_store *s, int rc, const char *fmt, ...)
{
	(void)s;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error_words, sizeof error_words, fmt, ap);
	va_end(ap);
	return rc;
}

int mh_rocks_error(struct mh_store *s, const char *what, char *err)
{
	int rc = -EIO;
	/* RocksDB's C API gives a Status as its words only. */
	if (strstr(err, "Timeout waiting to lock") || strstr(err, "Operation timed out"))
		rc = -ETIMEDOUT;
	else if (strstr(err, "Deadlock"))
		rc = -EDEADLK;
	else if (strstr(err, "No space"))
		rc = -ENOSPC;
	mh_store_fail(s, rc, "%s: %s", what, err);
	free(err);
	return rc;
}

const char *mh_store_error(const struct mh_store *s)
{
	(void)s;
	return error_words;
}
