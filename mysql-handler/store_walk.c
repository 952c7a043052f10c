/* SPDX-License-Identifier: MIT */
/*
 * Walking every entry under a key prefix: the one loop behind counting a
 * table's rows, checking it and deleting it.
 */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int mh_walk_prefix(struct mh_store *s, rocksdb_iterator_t *it, const void *prefix,
		   size_t plen, const void *from, size_t from_len, const char *what,
		   mh_visit_fn visit, void *arg)
{
	int rc = 0;
	if (!from) {
		from = prefix;
		from_len = plen;
	}
	for (rocksdb_iter_seek(it, from, from_len); rocksdb_iter_valid(it);
	     rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		/* Our own keys, still bounded: only entries longer than the
		 * prefix and starting with it are visited. */
		if (kl <= plen || memcmp(k, prefix, plen))
			break;
		const char *v = rocksdb_iter_value(it, &vl);
		rc = visit(arg, k, kl, v, vl);
		if (rc) {
			if (rc == MH_WALK_STOP)
				rc = 0;
			break;
		}
	}
	char *err = NULL;
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	if (rc) {
		free(err);
		return rc;
	}
	return err ? mh_rocks_error(s, what, err) : 0;
}
