// SPDX-License-Identifier: MIT
// Two transaction calls RocksDB's C API lacks: a lock timeout changed
// after begin, and popping a savepoint without rolling back to it.
#include <rocksdb/c.h>
#include <rocksdb/utilities/transaction.h>

#include "store_rocks_ext.h"

// The C API's handle holds the C++ transaction as its only member (c.cc
// defines it so, and has since transactions came to the C API).
struct rocksdb_transaction_t {
	rocksdb::Transaction *rep;
};

extern "C" void mh_rocks_set_lock_timeout(rocksdb_transaction_t *txn, int64_t ms)
{
	txn->rep->SetLockTimeout(ms);
}

extern "C" int mh_rocks_pop_savepoint(rocksdb_transaction_t *txn)
{
	return txn->rep->PopSavePoint().ok() ? 0 : -1;
}
