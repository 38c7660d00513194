#include "apps/gallery.h"

#include <cstdio>
#include <filesystem>

#include "index/open.h"

namespace fg::apps {
namespace {

index::Source source_of(const store::Store& s) {
  const store::StoreState st = s.state();
  index::Source src;
  src.stamp = {st.model_id, st.db_id, st.generation};
  src.count = st.embedding_count;
  src.label_sum = st.label_sum;
  src.for_each = [&s](const std::function<void(const index::Entry&)>& emit) {
    s.for_each_embedding([&](const store::EmbeddingRecord& r) { emit({r.label, r.identity_id, r.embedding}); });
  };
  return src;
}

index::Params params_of(const store::Store& s) {
  index::Params p;
  const uint32_t dim = s.state().dim;
  if (dim) p.dim = dim;
  return p;
}

// A process killed while saving the index leaves its temporary file behind. Only a writable
// open saves, and it holds the DB's lock, so every such file is a dead process's.
void remove_dead_temporaries(const std::string& index_path) {
  namespace fs = std::filesystem;
  const fs::path index(index_path);
  const std::string prefix = index.filename().string() + ".tmp-";
  std::vector<fs::path> dead;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(index.parent_path(), ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) dead.push_back(e.path());
  for (const auto& p : dead) fs::remove(p, ec);
}

}  // namespace

Gallery::Gallery(store::Store store, index::Index index, std::string index_path, bool read_only)
    : store_(std::move(store)), index_(std::move(index)), index_path_(std::move(index_path)), read_only_(read_only) {}

Gallery Gallery::open(const std::string& db, const GalleryOptions& o) {
  store::OpenOptions so;
  so.create_if_missing = o.create;
  so.model_id = o.model_id;
  so.allow_model_change = o.allow_model_change;
  so.read_only = o.read_only;
  store::Store s = store::Store::open(db, so);
  const std::string index_path = db + "/facegate.index";
  if (!o.read_only) remove_dead_temporaries(index_path);
  index::Index idx = o.read_only ? index::open_or_build(index_path, source_of(s), params_of(s)).index
                                 : index::open_or_rebuild(index_path, source_of(s), params_of(s)).index;
  return Gallery(std::move(s), std::move(idx), index_path, o.read_only);
}

void Gallery::save() {
  index_.set_stamp(source_of(store_).stamp);
  if (read_only_) return;
  try {
    index_.save(index_path_);
  } catch (const index::IndexError& e) {
    if (e.error_number == 0) throw;  // not the filesystem: a bug, not to be papered over
    if (!save_failed_)
      std::fprintf(stderr,
                   "facegate: warning: could not save the index (%s); the DB has every change and the index is "
                   "rebuilt from it at the next open\n",
                   e.what());
    save_failed_ = true;
  }
}

void Gallery::added(const store::EnrollResult& result) {
  if (result.added.empty()) return;
  if (index_.dim() != store_.state().dim) {
    rebuild();  // the first enroll of an empty DB fixed the dim
    return;
  }
  std::vector<index::Entry> entries;
  for (const auto& r : result.added) entries.push_back({r.label, r.identity_id, r.embedding});
  index_.add(entries);
  save();
}

void Gallery::removed(const store::ForgetResult& result) {
  index_.remove(result.labels);
  save();
}

void Gallery::rebuild() {
  index_ = index::build(source_of(store_), params_of(store_));
  save();
}

}  // namespace fg::apps
