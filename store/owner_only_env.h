// The RocksDB Env every facegate DB is opened with: the default one, except that each file
// RocksDB creates (tables, WAL, MANIFEST, LOG, LOCK, ...) is made 0600 right after creation,
// whatever the umask. RocksDB has no working option for this on Debian's 7.8.
#pragma once

#include <rocksdb/env.h>

namespace fg::store::detail {

// Lives for the whole process (DBs hold a raw pointer to it).
rocksdb::Env* owner_only_env();

}  // namespace fg::store::detail
