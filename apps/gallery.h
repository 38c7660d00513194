// A gallery on disk: the RocksDB store (source of truth) and the HNSW index file beside it
// (DB/facegate.index), opened together so the index is always in step: a missing, damaged,
// foreign or stale index is rebuilt from the store on open.
#pragma once

#include <optional>
#include <string>

#include "index/index.h"
#include "store/store.h"

namespace fg::apps {

struct GalleryOptions {
  bool create = false;           // create the DB if missing (enroll)
  std::string model_id;          // "" = no model check
  bool allow_model_change = false;
  bool read_only = false;
};

class Gallery {
 public:
  // Throws store::StoreError (missing, locked, corrupt, schema or model mismatch) or
  // index::IndexError.
  static Gallery open(const std::string& db, const GalleryOptions& options);

  store::Store& store() { return store_; }
  const index::Index& index() const { return index_; }

  // Mirrors a store write into the index and saves it (unless read-only). A crash between the
  // store write and the save only costs a rebuild at the next open; so does a save that the
  // filesystem fails (a full disk): a warning on stderr, once, not an error, as the store
  // has the write.
  void added(const store::EnrollResult& result);
  void removed(const store::ForgetResult& result);
  // After Store::change_model: the index is rebuilt from the store.
  void rebuild();

 private:
  Gallery(store::Store store, index::Index index, std::string index_path, bool read_only);
  void save();

  store::Store store_;
  index::Index index_;
  std::string index_path_;
  bool read_only_;
  bool save_failed_ = false;
};

}  // namespace fg::apps
