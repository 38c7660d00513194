// What the Store's source files share: the open RocksDB, its column families, the cached
// counters (meta values, kept in memory while the DB is open), and error helpers.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace fg::store {

struct Store::Impl {
  std::string path;
  bool read_only = false;
  std::string opened_model_id;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* identities = nullptr;
  rocksdb::ColumnFamilyHandle* embeddings = nullptr;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;

  // What every write that touches embeddings updates, in the same batch.
  struct Counters {
    uint64_t generation = 0;
    uint64_t embedding_count = 0;
    uint64_t next_label = 1;
    uint64_t label_sum = 0;  // of the labels present, wrapping
  };

  // Writers hold write_mu across read-modify-write of the cached values and the batch write.
  mutable std::mutex write_mu;
  std::string db_id;
  std::string model_id;
  uint32_t dim = 0;
  Counters counters;
  uint64_t identity_count = 0;
  uint64_t event_seq = 0;

  ~Impl();

  StoreError error(ErrorKind kind, const std::string& what) const;
  // Throws io (or corrupt, for Corruption statuses) when !s.ok().
  void check(const rocksdb::Status& s, const std::string& what) const;
  StoreError corrupt_record(const char* cf, const rocksdb::Slice& key, const std::exception& e) const;
  void require_writable(const char* operation) const;

  std::optional<std::string> get(rocksdb::ColumnFamilyHandle* cf, const std::string& key) const;
  void write(rocksdb::WriteBatch& batch, bool sync, const char* operation);
  std::unique_ptr<rocksdb::Iterator> iterate(rocksdb::ColumnFamilyHandle* cf) const;
  // The embedding record under `it`; a record that does not decode throws corrupt_record.
  EmbeddingRecord embedding_at(const rocksdb::Iterator& it) const;

  void put_counters(rocksdb::WriteBatch& batch, const Counters& c) const;

  // Fills an empty id / created_us and validates; throws invalid_argument.
  Identity prepare_new_identity(Identity identity) const;
  // Throws conflict when the id or the name is taken. Called with write_mu held.
  void check_identity_free(const Identity& identity) const;
  std::optional<Identity> read_identity(const std::string& id) const;
  // The keys of `identity`'s name that point at it: the NFC one, and the one of a name stored
  // before names were kept in NFC.
  std::vector<std::string> own_name_keys(const Identity& identity) const;
  // Rewrites names stored before they were kept in NFC (store/names.h), in one batch.
  void normalize_stored_names();
  uint64_t count_images(const std::string& id) const;
  // Into batch: deletes the identity's events (purge) or strips their face thumbnails,
  // counting either in result.
  void drop_events_of(const std::string& identity_id, bool purge, rocksdb::WriteBatch& batch,
                      ForgetResult& result) const;
};

}  // namespace fg::store
