// The index as a cache of a real store: rebuilt whenever it cannot be trusted.
#include "index/open.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store/store.h"
#include "tests/index/synthetic.h"
#include "tests/support/test_env.h"

namespace {

using namespace fg;
using index::Opened;

constexpr size_t kDim = 32;

// The adapter an application writes: the store described in index terms.
index::Source source_of(const store::Store& s) {
  const auto st = s.state();
  index::Source src;
  src.stamp = {st.model_id, st.db_id, st.generation};
  src.count = st.embedding_count;
  src.label_sum = st.label_sum;
  src.for_each = [&s](const std::function<void(const index::Entry&)>& emit) {
    s.for_each_embedding([&](const store::EmbeddingRecord& r) { emit({r.label, r.identity_id, r.embedding}); });
  };
  return src;
}

index::Params params() {
  index::Params p;
  p.dim = kDim;
  return p;
}

std::string sha(unsigned n) { return std::string(56, 'b') + std::to_string(10000000 + n); }

struct Fixture {
  std::string dir, db, path;
  test::Gallery g = test::make_gallery(40, 2, 4, kDim, 0.6f, 31);
  std::vector<std::string> log;
  index::Logger logger = [this](const std::string& line) { log.push_back(line); };

  explicit Fixture(const std::string& name) : dir(test::scratch_dir(name)), db(dir + "/db"), path(dir + "/i.fgi") {}

  // Enrolls identities [first, last) of the gallery under their synthetic names.
  void enroll(store::Store& s, size_t first, size_t last) {
    std::map<std::string, std::vector<store::EmbeddingRecord>> by_name;
    for (size_t j = 0; j < g.entries.size(); ++j) {
      const auto& e = g.entries[j];
      const size_t who = std::stoul(e.identity_id.substr(2));
      if (who < first || who >= last) continue;
      store::EmbeddingRecord r;
      r.image_path = e.identity_id + "/" + std::to_string(j) + ".jpg";
      r.content_hash = sha(static_cast<unsigned>(j));
      r.embedding = g.vectors[j];
      by_name[e.identity_id].push_back(r);
    }
    for (auto& [name, recs] : by_name) {
      auto existing = s.find_identity_by_name(name);
      s.enroll(existing ? *existing : store::Identity{"", name, 0, "", 0}, recs);
    }
  }

  // Opens the index of a store that has none with `open` (open_or_rebuild or open_or_build):
  // a new one, said in one log line naming `why`.
  template <typename Open>
  Opened open_new(const store::Store& s, Open open, const std::string& why) {
    Opened o = open(path, source_of(s), params(), logger);
    EXPECT_TRUE(o.rebuilt);
    EXPECT_EQ(log.size(), 1u);
    EXPECT_NE(log.empty() ? std::string::npos : log[0].find(why), std::string::npos) << (log.empty() ? "" : log[0]);
    EXPECT_EQ(o.index.size(), s.state().embedding_count);
    return o;
  }

  // Top-3 names for a fixed set of queries, through the store's id -> name mapping.
  std::vector<std::vector<std::string>> answers(const store::Store& s, const index::Index& idx) const {
    std::mt19937 rng(5);
    std::vector<std::vector<std::string>> out;
    for (size_t c = 0; c < g.centres.size(); ++c) {
      std::vector<std::string> names;
      for (const auto& m : idx.search(test::near(g.centres[c], 0.5f, rng), 3))
        names.push_back(s.get_identity(m.identity_id)->name);
      out.push_back(names);
    }
    return out;
  }
};

store::OpenOptions with_model(const std::string& model = "resnet50-v1") {
  store::OpenOptions o;
  o.create_if_missing = true;
  o.model_id = model;
  return o;
}

TEST(IndexOpen, RebuildsWhenMissingThenReusesTheSavedFile) {
  Fixture f("index-open-missing");
  store::Store s = store::Store::open(f.db, with_model());
  f.enroll(s, 0, 40);
  Opened first = f.open_new(s, index::open_or_rebuild, "is missing");
  EXPECT_EQ(first.index.identity_count(), 40u);

  Opened second = index::open_or_rebuild(f.path, source_of(s), params(), f.logger);
  EXPECT_FALSE(second.rebuilt);
  EXPECT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.answers(s, second.index), f.answers(s, first.index));
  EXPECT_EQ(f.answers(s, first.index)[7].at(0), "id7");
}

TEST(IndexOpen, ReadersUseAFreshFileAndOtherwiseBuildInMemoryWithoutWriting) {
  Fixture f("index-open-reader");
  store::Store s = store::Store::open(f.db, with_model());
  f.enroll(s, 0, 40);
  Opened built = f.open_new(s, index::open_or_build, "in memory");
  EXPECT_FALSE(std::filesystem::exists(f.path)) << "a reader must not write the index";

  const auto expected = f.answers(s, index::open_or_rebuild(f.path, source_of(s), params(), f.logger).index);
  const auto saved = std::filesystem::last_write_time(f.path);
  f.log.clear();
  Opened loaded = index::open_or_build(f.path, source_of(s), params(), f.logger);
  EXPECT_FALSE(loaded.rebuilt);
  EXPECT_TRUE(f.log.empty());
  EXPECT_EQ(f.answers(s, loaded.index), expected);
  EXPECT_EQ(f.answers(s, built.index), expected);

  // Stale (the DB moved on): built in memory, the file left as it was.
  store::EmbeddingRecord extra;
  extra.image_path = "extra.jpg";
  extra.content_hash = sha(9999);
  extra.embedding = f.g.vectors[0];
  s.enroll(*s.find_identity_by_name("id0"), {extra});
  Opened stale = index::open_or_build(f.path, source_of(s), params(), f.logger);
  EXPECT_TRUE(stale.rebuilt);
  EXPECT_NE(stale.reason.find("out of step"), std::string::npos) << stale.reason;
  EXPECT_EQ(stale.index.size(), s.state().embedding_count);
  EXPECT_EQ(std::filesystem::last_write_time(f.path), saved);
}

TEST(IndexOpen, AnEmptyDbIsBuiltWithoutALogLine) {
  Fixture f("index-open-empty");
  store::Store s = store::Store::open(f.db, with_model());
  EXPECT_TRUE(index::open_or_rebuild(f.path, source_of(s), params(), f.logger).rebuilt);
  EXPECT_TRUE(index::open_or_build(f.path + ".2", source_of(s), params(), f.logger).rebuilt);
  EXPECT_TRUE(f.log.empty()) << f.log[0];
}

TEST(IndexOpen, CorruptTruncatedDeletedOrForeignFilesAreRebuiltWithTheSameAnswers) {
  Fixture f("index-open-corrupt");
  store::Store s = store::Store::open(f.db, with_model());
  f.enroll(s, 0, 40);
  const auto expected = f.answers(s, index::open_or_rebuild(f.path, source_of(s), params(), f.logger).index);
  const std::string good = test::read_text(f.path);

  struct Case {
    std::string name, bytes, reason;
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 1;
  std::vector<Case> cases = {
      {"garbage", std::string(5000, '\x42'), "bad magic"},
      {"truncated", good.substr(0, good.size() - 100), "truncated"},
      {"flipped", flipped, "checksum mismatch"},
      {"empty", "", "truncated"},
  };
  for (const auto& c : cases) {
    std::ofstream(f.path, std::ios::binary | std::ios::trunc) << c.bytes;
    f.log.clear();
    Opened o = index::open_or_rebuild(f.path, source_of(s), params(), f.logger);
    EXPECT_TRUE(o.rebuilt) << c.name;
    ASSERT_EQ(f.log.size(), 1u) << c.name;
    EXPECT_NE(f.log[0].find(c.reason), std::string::npos) << c.name << ": " << f.log[0];
    EXPECT_EQ(f.answers(s, o.index), expected) << c.name;
    EXPECT_FALSE(index::open_or_rebuild(f.path, source_of(s), params(), f.logger).rebuilt) << c.name;
  }

  std::filesystem::remove(f.path);
  f.log.clear();
  Opened deleted = index::open_or_rebuild(f.path, source_of(s), params(), f.logger);
  EXPECT_TRUE(deleted.rebuilt);
  EXPECT_NE(f.log.at(0).find("is missing"), std::string::npos) << f.log[0];
  EXPECT_EQ(f.answers(s, deleted.index), expected);

  // Same stamp and count but other images (an application that restamped without applying a
  // change) is caught by the label sum.
  {
    index::Index wrong = index::open_or_rebuild(f.path, source_of(s), params(), f.logger).index;
    const auto victim = s.embeddings_of(s.find_identity_by_name("id3")->id).at(0);
    wrong.remove(victim.label);
    wrong.add(victim.label + 100000, victim.identity_id, victim.embedding);
    wrong.save(f.path);
  }
  f.log.clear();
  Opened relabelled = index::open_or_rebuild(f.path, source_of(s), params(), f.logger);
  EXPECT_TRUE(relabelled.rebuilt);
  EXPECT_NE(relabelled.reason.find("its images are not the DB's"), std::string::npos) << relabelled.reason;

  // An index built for another model (or DB) is not trusted either.
  {
    index::Index other(params(), index::Stamp{"arcface-r100", s.state().db_id, s.state().generation});
    other.save(f.path);
  }
  f.log.clear();
  Opened o = index::open_or_rebuild(f.path, source_of(s), params(), f.logger);
  EXPECT_TRUE(o.rebuilt);
  EXPECT_NE(o.reason.find("built for model 'arcface-r100', the DB holds model 'resnet50-v1'"), std::string::npos)
      << o.reason;
  EXPECT_EQ(f.answers(s, o.index), expected);
}

TEST(IndexOpen, TheGalleryLifecycleKeepsIndexAndStoreInStep) {
  Fixture f("index-open-lifecycle");
  store::Store s = store::Store::open(f.db, with_model());
  f.enroll(s, 0, 20);
  auto idx = index::open_or_rebuild(f.path, source_of(s), params(), f.logger).index;

  // Re-enrolling the same photos adds nothing and leaves the saved index valid.
  f.enroll(s, 0, 20);
  EXPECT_EQ(s.state().generation, idx.stamp().generation);
  f.log.clear();
  EXPECT_FALSE(index::open_or_rebuild(f.path, source_of(s), params(), f.logger).rebuilt);

  // New identities: the application adds what enroll returned, restamps and saves.
  auto r = s.enroll(store::Identity{"", "late", 0, "", 0},
                    {store::EmbeddingRecord{"", 0, "late.jpg", sha(999), "", std::nullopt, f.g.centres[25], 0}});
  for (const auto& rec : r.added) idx.add(rec.label, rec.identity_id, rec.embedding);
  idx.set_stamp(source_of(s).stamp);
  idx.save(f.path);
  EXPECT_FALSE(index::open_or_rebuild(f.path, source_of(s), params(), f.logger).rebuilt);
  EXPECT_EQ(idx.search(f.g.centres[25], 1).at(0).identity_id, r.identity.id);

  // A write the index did not see (say, a crash before the save) forces a rebuild.
  f.enroll(s, 20, 40);
  f.log.clear();
  Opened o = index::open_or_rebuild(f.path, source_of(s), params(), f.logger);
  EXPECT_TRUE(o.rebuilt);
  EXPECT_NE(f.log.at(0).find("out of step with the DB"), std::string::npos) << f.log[0];
  EXPECT_EQ(o.index.identity_count(), 41u);
  idx = std::move(o.index);

  // Forget: store first, then the index; its entries are gone, attendance history stays.
  auto id7 = *s.find_identity_by_name("id7");
  store::Event ev;
  ev.camera = "door";
  ev.identity_id = id7.id;
  ev.name = "id7";
  ev.time_us = 5;
  s.append_event(ev);
  auto forgotten = s.forget(id7.id);
  EXPECT_EQ(idx.remove(forgotten.labels), forgotten.labels.size());
  idx.set_stamp(source_of(s).stamp);
  idx.save(f.path);
  EXPECT_EQ(s.events(0, 10).size(), 1u);

  Opened reopened = index::open_or_rebuild(f.path, source_of(s), params(), f.logger);
  EXPECT_FALSE(reopened.rebuilt);
  std::mt19937 rng(1);
  for (int i = 0; i < 5; ++i)
    for (const auto& m : reopened.index.search(test::near(f.g.centres[7], 0.3f, rng), 5))
      EXPECT_NE(m.identity_id, id7.id);
  EXPECT_EQ(reopened.index.identity_count(), 40u);
}

TEST(IndexOpen, AnUnwritableIndexPathStillGivesAWorkingIndex) {
  Fixture f("index-open-readonly");
  store::Store s = store::Store::open(f.db, with_model());
  f.enroll(s, 0, 5);
  Opened o = index::open_or_rebuild(f.dir + "/no/such/dir/i.fgi", source_of(s), params(), f.logger);
  EXPECT_TRUE(o.rebuilt);
  ASSERT_EQ(f.log.size(), 2u);
  EXPECT_NE(f.log[1].find("could not save the rebuilt index"), std::string::npos) << f.log[1];
  EXPECT_EQ(o.index.identity_count(), 5u);
}

}  // namespace
