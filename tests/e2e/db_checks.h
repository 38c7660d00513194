// What a facegate DB must be after any crash: it opens for writing, and the index agrees with
// the store (RocksDB is the source of truth). GoogleTest checks, for the kill-point tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "index/open.h"
#include "store/store.h"

namespace fg::test {

// The store as the index's source of truth (for open_or_rebuild); `s` must outlive it.
inline fg::index::Source source_of(const fg::store::Store& s) {
  const fg::store::StoreState st = s.state();
  fg::index::Source src;
  src.stamp = {st.model_id, st.db_id, st.generation};
  src.count = st.embedding_count;
  src.label_sum = st.label_sum;
  src.for_each = [&s](const std::function<void(const fg::index::Entry&)>& emit) {
    s.for_each_embedding([&](const fg::store::EmbeddingRecord& r) { emit({r.label, r.identity_id, r.embedding}); });
  };
  return src;
}

// The index holds exactly the stored images: the same count and label sum, and each stored
// vector found under its own identity.
inline void expect_index_holds(const fg::index::Index& index, const std::vector<fg::store::EmbeddingRecord>& stored,
                               const std::string& what) {
  SCOPED_TRACE(what);
  uint64_t label_sum = 0;
  std::set<std::string> identities;
  for (const auto& r : stored) {
    label_sum += r.label;
    identities.insert(r.identity_id);
  }
  EXPECT_EQ(index.size(), stored.size());
  EXPECT_EQ(index.label_sum(), label_sum);
  EXPECT_EQ(index.identity_count(), identities.size());
  for (const auto& r : stored) {
    const auto best = index.search(r.embedding, 1);
    ASSERT_FALSE(best.empty()) << r.image_path;
    EXPECT_EQ(best[0].identity_id, r.identity_id) << r.image_path;
    EXPECT_GT(best[0].score, 0.9999f) << r.image_path;
  }
}

// What every command relies on after a crash: the DB opens for writing (the dead process's
// lock is gone, its WAL replays, a half-made DB is made again), an index file that claims to
// be in step with the store holds exactly its images, and reopening gives (and saves) such an
// index.
inline void expect_db_sound(const std::string& db) {
  std::optional<fg::store::Store> s;
  try {
    // As enroll opens it: a kill during the DB's creation must not leave it unopenable.
    fg::store::OpenOptions create;
    create.create_if_missing = true;
    s.emplace(fg::store::Store::open(db, create));
  } catch (const std::exception& e) {
    FAIL() << "the DB does not open after the kill: " << e.what();
  }
  const fg::store::StoreState st = s->state();
  std::vector<fg::store::EmbeddingRecord> stored;
  s->for_each_embedding([&](const fg::store::EmbeddingRecord& r) { stored.push_back(r); });
  ASSERT_EQ(stored.size(), st.embedding_count);

  const std::string path = db + "/facegate.index";
  fg::index::Params params;
  if (st.dim) params.dim = st.dim;
  if (std::filesystem::exists(path)) {
    try {
      const fg::index::Index on_disk = fg::index::Index::load(path, params);
      const fg::index::Stamp stamp = on_disk.stamp();
      if (stamp.db_id == st.db_id && stamp.model_id == st.model_id && stamp.generation == st.generation)
        expect_index_holds(on_disk, stored, "the index file as the kill left it (its stamp says in step)");
    } catch (const fg::index::IndexError&) {
      // Unreadable (e.g. from another dim): open_or_rebuild below must rebuild it.
    }
  }
  std::string log;
  const auto quiet = [&](const std::string& line) { log += line + "\n"; };
  const fg::index::Opened reopened = fg::index::open_or_rebuild(path, source_of(*s), params, quiet);
  expect_index_holds(reopened.index, stored, "the index after reopening");
  const fg::index::Opened again = fg::index::open_or_rebuild(path, source_of(*s), params, quiet);
  EXPECT_FALSE(again.rebuilt) << "the index saved at reopening is not used as is: " << again.reason;
}

// After a command re-ran: no temporary index file of the killed process is left behind.
inline void expect_no_leftovers(const std::string& db) {
  for (const auto& entry : std::filesystem::directory_iterator(db)) {
    EXPECT_EQ(entry.path().filename().string().find("facegate.index.tmp"), std::string::npos)
        << "a dead process's temporary index file is left in the DB: " << entry.path();
  }
}

}  // namespace fg::test
