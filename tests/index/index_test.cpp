#include "index/index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/index/synthetic.h"
#include "tests/support/test_env.h"

namespace {

using namespace fg::index;
using fg::test::brute_force;
using fg::test::ids_of;
using fg::test::make_gallery;

Params params_for(size_t dim, uint64_t capacity = 1024) {
  Params p;
  p.dim = static_cast<uint32_t>(dim);
  p.initial_capacity = capacity;
  p.threads = 2;
  return p;
}

Index build(const fg::test::Gallery& g, uint64_t capacity = 1024) {
  Index index(params_for(g.dim, capacity), Stamp{"m", "db", 1});
  index.add(g.entries);
  return index;
}

void expect_same(const std::vector<Match>& got, const std::vector<Match>& want) {
  ASSERT_EQ(ids_of(got), ids_of(want));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i].score, want[i].score, 1e-4) << got[i].identity_id;
}

TEST(Index, AgreesWithBruteForceOnClusteredData) {
  const auto g = make_gallery(300, 1, 6, 64, 0.6f, 1);
  Index index = build(g);
  EXPECT_EQ(index.size(), g.entries.size());
  EXPECT_EQ(index.identity_count(), 300u);
  std::mt19937 rng(2);
  int top1 = 0, top5 = 0, queries = 0;
  for (int q = 0; q < 250; ++q, ++queries) {
    const auto query = q < 200 ? fg::test::near(g.centres[q], 0.8f, rng) : fg::test::random_unit(64, rng);
    const auto got = index.search(query, 5);
    const auto want = brute_force(g, query, 5);
    ASSERT_EQ(got.size(), 5u);
    top1 += got[0].identity_id == want[0].identity_id;
    top5 += ids_of(got) == ids_of(want);
    for (size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i - 1].score, got[i].score);
  }
  EXPECT_GE(top1, queries * 99 / 100);
  EXPECT_GE(top5, queries * 95 / 100);
}

TEST(Index, ManyImagesOfOneIdentityDoNotCrowdOutTheOthers) {
  std::mt19937 rng(3);
  fg::test::Gallery g;
  g.dim = 32;
  const auto query = fg::test::random_unit(32, rng);
  for (int i = 0; i < 300; ++i) g.vectors.push_back(fg::test::near(query, 0.1f, rng));  // the crowd
  for (int i = 0; i < 60; ++i) g.vectors.push_back(fg::test::near(query, 1.5f, rng));   // 60 others
  for (size_t j = 0; j < g.vectors.size(); ++j)
    g.entries.push_back({j + 1, j < 300 ? "crowd" : fg::test::identity_name(j), g.vectors[j]});
  Index index = build(g);
  const auto got = index.search(query, 5);
  expect_same(got, brute_force(g, query, 5));
  EXPECT_EQ(got[0].identity_id, "crowd");
}

TEST(Index, BelowTheThresholdIsUnknown) {
  const auto g = make_gallery(50, 2, 4, 32, 0.5f, 4);
  Index index = build(g);
  std::mt19937 rng(5);
  const auto known = index.identify(fg::test::near(g.centres[7], 0.5f, rng), 3, 0.5f);
  EXPECT_FALSE(known.unknown);
  EXPECT_EQ(known.matches.at(0).identity_id, "id7");
  const auto stranger = index.identify(fg::test::random_unit(32, rng), 3, 0.5f);
  EXPECT_TRUE(stranger.unknown);
  EXPECT_EQ(stranger.matches.size(), 3u);  // still shown, for the report
  EXPECT_LT(stranger.matches[0].score, 0.5f);

  Index empty(params_for(32), Stamp{});
  EXPECT_TRUE(empty.search(g.centres[0], 5).empty());
  EXPECT_TRUE(empty.identify(g.centres[0], 5, -1.f).unknown);
}

TEST(Index, RemovedImagesAndIdentitiesAreNeverReturned) {
  const auto g = make_gallery(80, 2, 5, 32, 0.6f, 6);
  Index index = build(g);
  std::set<uint64_t> removed;
  const size_t before = index.size();
  for (const auto& e : g.entries)
    if (e.identity_id == "id3" || e.label % 7 == 0) removed.insert(e.label);
  size_t images_of_id3 = 0;
  for (const auto& e : g.entries) images_of_id3 += e.identity_id == "id3";
  EXPECT_EQ(index.remove_identity("id3"), images_of_id3);
  EXPECT_EQ(index.remove_identity("id3"), 0u);
  std::vector<uint64_t> sevens;
  for (uint64_t l : removed)
    if (l % 7 == 0) sevens.push_back(l);
  index.remove(sevens);
  EXPECT_FALSE(index.remove(sevens.at(0)));
  EXPECT_EQ(index.size(), before - removed.size());
  EXPECT_EQ(index.deleted_count(), removed.size());

  std::mt19937 rng(7);
  for (int c : {3, 4, 10, 20}) {
    const auto query = fg::test::near(g.centres[c], 0.3f, rng);
    const auto got = index.search(query, 4);
    expect_same(got, brute_force(g, query, 4, removed));
    for (const auto& m : got) EXPECT_EQ(removed.count(m.label), 0u);
  }
  // A removed label may come back (the graph revives its slot).
  index.add(sevens[0], "id0", g.entries[sevens[0] - 1].vector);
  EXPECT_EQ(index.size(), before - removed.size() + 1);
}

TEST(Index, GrowsPastItsInitialCapacity) {
  const auto g = make_gallery(200, 2, 3, 16, 0.5f, 8);
  Index index(params_for(16, 8), Stamp{});
  for (const auto& e : g.entries) index.add(e.label, e.identity_id, e.vector);
  EXPECT_EQ(index.size(), g.entries.size());
  EXPECT_GE(index.capacity(), g.entries.size());
  std::mt19937 rng(9);
  for (int c = 0; c < 20; ++c) {
    const auto query = fg::test::near(g.centres[c], 0.3f, rng);
    EXPECT_EQ(index.search(query, 1).at(0).identity_id, brute_force(g, query, 1).at(0).identity_id);
  }
}

TEST(Index, BadInputIsRefusedAndAddsNothing) {
  Index index(params_for(4), Stamp{});
  index.add(1, "a", std::vector<float>{1, 0, 0, 0});
  auto message = [&](std::vector<Entry> entries) -> std::string {
    try {
      index.add(entries);
    } catch (const IndexError& e) {
      return e.what();
    }
    return "(no error)";
  };
  const std::vector<float> ok{0, 1, 0, 0}, short_vec{1, 2}, zero(4, 0.f), nan{1, NAN, 0, 0};
  EXPECT_EQ(message({{2, "b", short_vec}}), "image 2 of 'b' has 2 values, the index holds dim 4");
  EXPECT_EQ(message({{2, "b", ok}, {3, "b", zero}}), "image 3 of 'b' is zero or not finite");
  EXPECT_EQ(message({{2, "b", nan}}), "image 2 of 'b' is zero or not finite");
  EXPECT_EQ(message({{2, "b", ok}, {2, "b", ok}}), "image 2 of 'b': label given twice");
  EXPECT_EQ(message({{2, "b", ok}, {1, "b", ok}}), "label 1 is already in the index");
  EXPECT_EQ(message({{2, "", ok}}), "image 2 of '' has no identity id");
  EXPECT_EQ(index.size(), 1u);
  EXPECT_THROW(index.search(short_vec, 1), IndexError);
}

TEST(Index, SaveThenLoadGivesTheSameAnswers) {
  const auto g = make_gallery(120, 1, 5, 32, 0.6f, 10);
  Index index = build(g);
  index.remove_identity("id5");
  index.set_stamp(Stamp{"model-x", "db-y", 17});
  const std::string path = fg::test::scratch_dir("index-save") + "/gallery.fgi";
  index.save(path);

  Index loaded = Index::load(path, params_for(32));
  EXPECT_EQ(loaded.stamp().model_id, "model-x");
  EXPECT_EQ(loaded.stamp().db_id, "db-y");
  EXPECT_EQ(loaded.stamp().generation, 17u);
  EXPECT_EQ(loaded.size(), index.size());
  EXPECT_EQ(loaded.identity_count(), 119u);
  EXPECT_EQ(loaded.deleted_count(), index.deleted_count());
  std::mt19937 rng(11);
  for (int q = 0; q < 40; ++q) {
    const auto query = fg::test::near(g.centres[q], 0.7f, rng);
    const auto a = index.search(query, 5), b = loaded.search(query, 5);
    ASSERT_EQ(ids_of(a), ids_of(b));
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].score, b[i].score);
  }
  // Still writable: adds, growth and removal after a load.
  std::vector<std::vector<float>> fresh;
  std::vector<Entry> more;
  for (int i = 0; i < 300; ++i) fresh.push_back(fg::test::random_unit(32, rng));
  for (int i = 0; i < 300; ++i) more.push_back({uint64_t(10000 + i), "new", fresh[i]});
  loaded.add(more);
  EXPECT_EQ(loaded.search(fresh[42], 1).at(0).identity_id, "new");
  EXPECT_EQ(loaded.remove_identity("new"), 300u);
  for (const auto& e : g.entries)
    if (e.identity_id == "id5") {
      EXPECT_FALSE(loaded.remove(e.label));
    }
}

TEST(Index, ConcurrentReadersAndOneWriter) {
  const auto g = make_gallery(150, 2, 4, 32, 0.5f, 12);
  Index index(params_for(32, 16), Stamp{});
  index.add(std::vector<Entry>(g.entries.begin(), g.entries.begin() + 100));
  std::atomic<bool> done{false};
  std::atomic<long> searches{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      while (!done) {
        const auto got = index.search(fg::test::near(g.centres[rng() % 150], 0.5f, rng), 5);
        const auto names = ids_of(got);
        const std::set<std::string> distinct(names.begin(), names.end());
        for (size_t i = 1; i < got.size(); ++i) bad += got[i - 1].score < got[i].score;
        bad += distinct.size() != got.size() || got.empty();
        ++searches;
      }
    });
  std::set<uint64_t> removed;
  for (size_t j = 100; j < g.entries.size(); ++j) {
    index.add(g.entries[j].label, g.entries[j].identity_id, g.entries[j].vector);
    if (j % 3 == 0) {
      index.remove(g.entries[j - 50].label);
      removed.insert(g.entries[j - 50].label);
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GT(searches, 0);
  EXPECT_EQ(index.size(), g.entries.size() - removed.size());
  std::mt19937 rng(13);
  for (int c = 0; c < 30; ++c) {
    const auto query = fg::test::near(g.centres[c], 0.3f, rng);
    expect_same(index.search(query, 3), brute_force(g, query, 3, removed));
  }
}

}  // namespace
