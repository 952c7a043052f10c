// SPDX-License-Identifier: MIT
// Transaction calls RocksDB's C API lacks: a lock timeout changed after
// begin, popping a savepoint without rolling back to it, a merge that
// takes no lock, and the keys a transaction wrote.
#include <cerrno>

#include <rocksdb/c.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_batch.h>

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

extern "C" int mh_rocks_merge_untracked(rocksdb_transaction_t *txn, const char *key,
					size_t klen, const char *val, size_t vlen)
{
	return txn->rep->MergeUntracked(rocksdb::Slice(key, klen), rocksdb::Slice(val, vlen)).ok()
		       ? 0
		       : -1;
}

namespace {

// Calls the C callback for the key of every entry of a write batch.
class KeyLister : public rocksdb::WriteBatch::Handler {
public:
	KeyLister(int (*fn)(void *, const char *, size_t), void *arg) : fn_(fn), arg_(arg) {}
	int rc = 0;

	rocksdb::Status PutCF(uint32_t, const rocksdb::Slice &key, const rocksdb::Slice &) override
	{
		return each(key);
	}
	rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice &key) override { return each(key); }
	rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice &key) override
	{
		return each(key);
	}
	rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice &key, const rocksdb::Slice &) override
	{
		return each(key);
	}

	// A transaction's batch starts with a marker 2PC turns into its
	// prepare's; markers name no key.
	rocksdb::Status MarkNoop(bool) override { return rocksdb::Status::OK(); }
	rocksdb::Status MarkBeginPrepare(bool) override { return rocksdb::Status::OK(); }
	rocksdb::Status MarkEndPrepare(const rocksdb::Slice &) override
	{
		return rocksdb::Status::OK();
	}

private:
	rocksdb::Status each(const rocksdb::Slice &key)
	{
		if (!rc)
			rc = fn_(arg_, key.data(), key.size());
		return rc ? rocksdb::Status::Aborted() : rocksdb::Status::OK();
	}
	int (*fn_)(void *, const char *, size_t);
	void *arg_;
};

} // namespace

extern "C" int mh_rocks_each_written_key(rocksdb_transaction_t *txn,
					 int (*fn)(void *arg, const char *key, size_t len),
					 void *arg)
{
	KeyLister lister(fn, arg);
	rocksdb::Status s = txn->rep->GetWriteBatch()->GetWriteBatch()->Iterate(&lister);
	if (lister.rc)
		return lister.rc;
	return s.ok() ? 0 : -EIO;
}
