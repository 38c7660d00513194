// The ChromaDB adapter against the real server of the CTest fixture (tests/chroma/start.sh):
// push, remote search vs the local index, idempotence, deletions, resume, pull, bad input.
// Each test uses its own collection, so tests can run in parallel on one server.
#include <gtest/gtest.h>
#include <httplib.h>

#include <random>
#include <thread>

#include "index/index.h"
#include "store/chroma/client.h"
#include "store/chroma/error.h"
#include "store/chroma/layout.h"
#include "store/chroma/search.h"
#include "store/chroma/sync.h"
#include "tests/index/synthetic.h"
#include "tests/support/chroma_env.h"

namespace {

namespace fs = std::filesystem;
using namespace fg::store;
using chroma::ChromaError;

constexpr uint32_t kDim = 64;
constexpr const char* kModel = "test-model:1";

class ChromaSync : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_CHROMA(url);
    endpoint_ = chroma::parse_endpoint(url);
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fg::test::scratch_dir("chroma-" + test);
    collection_ = "t" + std::to_string(::getpid()) + "-" + test;
    db_ = dir_ + "/db";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  chroma::Client client() { return chroma::Client(endpoint_); }

  // `people` identities with `per` images each, clustered so the ranking is meaningful.
  Store make_store(const std::string& path, int people, int per) {
    OpenOptions o;
    o.create_if_missing = true;
    o.model_id = kModel;
    Store s = Store::open(path, o);
    std::mt19937 rng(7);
    for (int p = 0; p < people; ++p) {
      const auto centre = fg::test::random_unit(kDim, rng);
      centres_.push_back(centre);
      std::vector<EmbeddingRecord> recs;
      for (int i = 0; i < per; ++i) {
        EmbeddingRecord r;
        r.content_hash =
            std::string(60, 'a') + char('a' + p % 6) + char('a' + p / 6 % 6) + char('a' + i % 6) + char('a' + i / 6);
        r.image_path = "p" + std::to_string(p) + "/" + std::to_string(i) + ".jpg";
        r.embedding = fg::test::near(centre, 0.6f, rng);
        recs.push_back(std::move(r));
      }
      Identity who;
      who.name = "person " + std::to_string(p);
      s.enroll(who, std::move(recs));
    }
    return s;
  }

  fg::index::Index local_index(const Store& s) {
    fg::index::Params params;
    params.dim = kDim;
    fg::index::Index idx(params, {});
    s.for_each_embedding([&](const EmbeddingRecord& r) { idx.add(r.label, r.identity_id, r.embedding); });
    return idx;
  }

  uint64_t remote_count() {
    auto c = client();
    const auto coll = c.find_collection(collection_);
    return coll ? c.count(*coll) : 0;
  }

  chroma::Endpoint endpoint_;
  std::string dir_, collection_, db_;
  std::vector<std::vector<float>> centres_;
};

TEST_F(ChromaSync, RemoteSearchGivesTheLocalIndexTopKForManyProbes) {
  Store s = make_store(db_, 25, 4);
  auto c = client();
  const auto r = chroma::push(s, c, collection_, 32, nullptr);
  EXPECT_EQ(r.records, 100u);
  EXPECT_EQ(r.upserted, 100u);
  ASSERT_EQ(remote_count(), 100u);

  const auto idx = local_index(s);
  chroma::RemoteGallery remote(client(), collection_, kDim, kModel);
  std::mt19937 rng(99);
  for (int probe = 0; probe < 60; ++probe) {
    const auto q = fg::test::near(centres_[probe % centres_.size()], 0.8f, rng);
    const auto want = idx.search(q, 5);
    const auto got = remote.search(q, 5);
    ASSERT_EQ(got.size(), want.size()) << "probe " << probe;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].identity_id, want[i].identity_id) << "probe " << probe << " rank " << i;
      EXPECT_NEAR(got[i].score, want[i].score, 1e-4) << "probe " << probe << " rank " << i;
    }
    EXPECT_EQ(got[0].name, s.get_identity(got[0].identity_id)->name);
  }
}

TEST_F(ChromaSync, SecondPushChangesNothingAndForgetIsPropagated) {
  Store s = make_store(db_, 6, 3);
  auto c = client();
  chroma::push(s, c, collection_, 100, nullptr);
  auto again = chroma::push(s, c, collection_, 100, nullptr);
  EXPECT_EQ(again.upserted, 0u);
  EXPECT_EQ(again.deleted, 0u);
  EXPECT_EQ(remote_count(), 18u);

  const Identity gone = s.list_identities().front();
  s.forget(gone.id);
  const auto after = chroma::push(s, c, collection_, 100, nullptr);
  EXPECT_EQ(after.deleted, 3u);
  EXPECT_EQ(after.upserted, 0u);
  EXPECT_EQ(remote_count(), 15u);
  for (const auto& rec : c.get(*c.find_collection(collection_), 0, 100, false)) {
    EXPECT_NE(rec.metadata.at("mongo_id"), gone.id);
  }
}

TEST_F(ChromaSync, AnInterruptedPushCompletesWithoutDuplicates) {
  Store s = make_store(db_, 6, 3);
  auto c = client();
  chroma::push(s, c, collection_, 100, nullptr);
  // What a crash leaves: part of the records missing, one stale name.
  const auto coll = *c.find_collection(collection_);
  auto recs = c.get(coll, 0, 100, true);
  std::vector<std::string> lost;
  for (size_t i = 0; i < recs.size(); i += 2) lost.push_back(recs[i].id);
  c.remove(coll, lost);
  recs[1].metadata["identity_name"] = "stale";
  c.upsert(coll, {recs[1]});
  ASSERT_EQ(remote_count(), 18u - lost.size());

  const auto r = chroma::push(s, c, collection_, 4, nullptr);
  EXPECT_EQ(r.upserted, lost.size() + 1);
  EXPECT_EQ(remote_count(), 18u);
  EXPECT_EQ(chroma::push(s, c, collection_, 4, nullptr).upserted, 0u);
}

TEST_F(ChromaSync, RecordsOfIdentitiesNeverPushedFromHereAreLeftAlone) {
  Store s = make_store(db_, 3, 2);
  auto c = client();
  chroma::push(s, c, collection_, 100, nullptr);
  const auto coll = *c.find_collection(collection_);
  c.upsert(coll, {{"65f0c0ffee0000000000abcd_0", std::vector<float>(kDim, 0.1f),
                   chroma::record_metadata("65f0c0ffee0000000000abcd", "other door")}});
  EXPECT_EQ(chroma::push(s, c, collection_, 100, nullptr).deleted, 0u);
  EXPECT_EQ(remote_count(), 7u);
}

TEST_F(ChromaSync, PullIntoANewDbGivesTheSameGallery) {
  Store s = make_store(db_, 5, 3);
  auto c = client();
  chroma::push(s, c, collection_, 100, nullptr);
  const std::string copy = dir_ + "/copy";
  const auto r = chroma::pull(c, collection_, copy, "", 0, nullptr);
  EXPECT_EQ(r.model_id, kModel);
  EXPECT_EQ(r.identities, 5u);
  EXPECT_EQ(r.added, 15u);
  {
    OpenOptions o;
    o.read_only = true;
    const Store p = Store::open(copy, o);
    ASSERT_EQ(p.list_identities().size(), 5u);
    for (const Identity& who : s.list_identities()) {
      const auto mine = p.get_identity(who.id);
      ASSERT_TRUE(mine) << who.id;
      EXPECT_EQ(mine->name, who.name);
      const auto a = s.embeddings_of(who.id), b = p.embeddings_of(who.id);
      ASSERT_EQ(a.size(), b.size());
      // JSON carries float32 values through ChromaDB: equal to the last bit or two.
      for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].embedding.size(), b[i].embedding.size());
        for (size_t k = 0; k < a[i].embedding.size(); ++k) {
          EXPECT_NEAR(a[i].embedding[k], b[i].embedding[k], 1e-6) << who.name << " image " << i << " value " << k;
        }
      }
    }
  }
  EXPECT_EQ(chroma::pull(c, collection_, copy, "", 0, nullptr).added, 0u) << "a second pull adds nothing";
}

// A door pulls the central gallery it pushed to itself: its own images come back through JSON
// a bit or two off, and must still be recognised as the images it holds.
TEST_F(ChromaSync, PullIntoTheDbThatPushedAddsNothing) {
  std::vector<size_t> before;
  {
    Store s = make_store(db_, 4, 3);
    auto c = client();
    chroma::push(s, c, collection_, 100, nullptr);
    for (const Identity& who : s.list_identities()) before.push_back(who.image_count);
  }
  auto c = client();
  const auto r = chroma::pull(c, collection_, db_, kModel, kDim, nullptr);
  EXPECT_EQ(r.identities, 4u);
  EXPECT_EQ(r.added, 0u);
  OpenOptions o;
  o.read_only = true;
  std::vector<size_t> after;
  for (const Identity& who : Store::open(db_, o).list_identities()) after.push_back(who.image_count);
  EXPECT_EQ(after, before);
}

TEST_F(ChromaSync, PrototypeCollectionNeedsTheModelToPull) {
  auto c = client();
  const auto coll = c.create_collection(collection_, {{"hnsw:space", "cosine"}});
  c.upsert(coll, {{"65f0c0ffee0000000000abcd_0", std::vector<float>(kDim, 0.1f),
                   chroma::record_metadata("65f0c0ffee0000000000abcd", "Ann")},
                  {"65f0c0ffee0000000000abcd_1", std::vector<float>(kDim, 0.2f),
                   chroma::record_metadata("65f0c0ffee0000000000abcd", "Ann")}});
  try {
    chroma::pull(c, collection_, db_, "", 0, nullptr);
    ADD_FAILURE() << "pulled without a model";
  } catch (const ChromaError& e) {
    EXPECT_NE(std::string(e.what()).find("--model"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(db_)) << "no DB is created when the pull is refused";
  EXPECT_THROW(chroma::pull(c, collection_, db_, kModel, 128, nullptr), ChromaError) << "wrong dimension";
  EXPECT_FALSE(fs::exists(db_));
  EXPECT_EQ(chroma::pull(c, collection_, db_, kModel, kDim, nullptr).added, 2u);

  // Pushing back into the unstamped collection is refused: its model is not known.
  Store s = Store::open(db_, {});
  try {
    chroma::push(s, c, collection_, 100, nullptr);
    ADD_FAILURE();
  } catch (const ChromaError& e) {
    EXPECT_EQ(e.kind(), chroma::ErrorKind::mismatch) << e.what();
  }
}

// The prototype may have written a name in decomposed Unicode (a Mac's folder name): the DB
// keeps it composed, and a second pull finds the same person instead of a clash.
TEST_F(ChromaSync, NamesInDecomposedUnicodeArePulledAsOnePerson) {
  const std::string nfd = "Zoe\xCC\x88", nfc = "Zo\xC3\xAB";
  auto c = client();
  const auto coll = c.create_collection(collection_, {{"hnsw:space", "cosine"}});
  c.upsert(coll, {{"65f0c0ffee0000000000abcd_0", std::vector<float>(kDim, 0.1f),
                   chroma::record_metadata("65f0c0ffee0000000000abcd", nfd)}});
  EXPECT_EQ(chroma::pull(c, collection_, db_, kModel, kDim, nullptr).added, 1u);
  EXPECT_EQ(chroma::pull(c, collection_, db_, kModel, kDim, nullptr).added, 0u);
  OpenOptions o;
  o.read_only = true;
  const Store s = Store::open(db_, o);
  ASSERT_EQ(s.list_identities().size(), 1u);
  EXPECT_EQ(s.list_identities()[0].name, nfc);
  EXPECT_EQ(s.find_identity(nfd)->id, "65f0c0ffee0000000000abcd");

  // The same name in both forms under two ids is one name given to two people.
  c.upsert(coll, {{"65f0c0ffee0000000000abce_0", std::vector<float>(kDim, 0.3f),
                   chroma::record_metadata("65f0c0ffee0000000000abce", nfc)}});
  try {
    chroma::pull(c, collection_, dir_ + "/db2", kModel, kDim, nullptr);
    ADD_FAILURE() << "two ids for one name were pulled";
  } catch (const ChromaError& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to two identities"), std::string::npos) << e.what();
  }
}

TEST_F(ChromaSync, CollectionOfAnotherMetricDimensionOrModelIsRefusedAndLocalDataUntouched) {
  Store s = make_store(db_, 2, 2);
  auto c = client();
  const auto expect_mismatch = [&](const std::string& name, const std::string& words) {
    try {
      chroma::push(s, c, name, 100, nullptr);
      ADD_FAILURE() << name;
    } catch (const ChromaError& e) {
      EXPECT_EQ(e.kind(), chroma::ErrorKind::mismatch) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  c.create_collection(collection_ + "-l2", {{"hnsw:space", "l2"}});
  expect_mismatch(collection_ + "-l2", "'l2' metric");
  const auto small = c.create_collection(collection_ + "-dim", chroma::collection_metadata(kModel));
  c.upsert(small, {{"x_0", {1.f, 0.f, 0.f}, chroma::record_metadata("x", "x")}});
  expect_mismatch(collection_ + "-dim", "3-D");
  c.create_collection(collection_ + "-model", chroma::collection_metadata("other-model:2"));
  expect_mismatch(collection_ + "-model", "other-model:2");
  for (const char* suffix : {"-l2", "-dim", "-model"}) {
    const auto coll = c.find_collection(collection_ + suffix);
    EXPECT_FALSE(s.get_meta(chroma::pushed_key(coll->id))) << suffix;
  }
  EXPECT_EQ(s.list_identities().size(), 2u);
}

TEST_F(ChromaSync, ServerDownOrNotChromaGivesAClearError) {
  const chroma::RetryPolicy fast{3, 10, 500, 2000};
  httplib::Server other;
  other.Get(".*",
            [](const httplib::Request&, httplib::Response& res) { res.set_content("<html>hi</html>", "text/html"); });
  const int port = other.bind_to_any_port("127.0.0.1");
  std::thread serve([&] { other.listen_after_bind(); });
  try {
    chroma::Client c(chroma::parse_endpoint("http://127.0.0.1:" + std::to_string(port)), fast);
    c.check_server();
    ADD_FAILURE() << "a web server taken for ChromaDB";
  } catch (const ChromaError& e) {
    EXPECT_EQ(e.kind(), chroma::ErrorKind::not_chroma) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a ChromaDB v2 server"), std::string::npos) << e.what();
  }
  other.stop();
  serve.join();

  // The same port, now closed: nothing listens.
  Store s = make_store(db_, 2, 2);
  chroma::Client down(chroma::parse_endpoint("http://127.0.0.1:" + std::to_string(port)), fast);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    chroma::push(s, down, collection_, 100, nullptr);
    ADD_FAILURE();
  } catch (const ChromaError& e) {
    EXPECT_EQ(e.kind(), chroma::ErrorKind::unreachable) << e.what();
    EXPECT_NE(std::string(e.what()).find("after 3 attempts"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

}  // namespace
