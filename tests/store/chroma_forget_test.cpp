// forget reaching every door through a real ChromaDB server (the "chroma" CTest fixture):
// push deletes a forgotten identity's records and publishes its id; no pull, into any DB,
// brings it back; another door neither re-pushes it nor keeps it after its next pull.
#include <gtest/gtest.h>

#include <filesystem>

#include "store/chroma/client.h"
#include "store/chroma/layout.h"
#include "store/chroma/sync.h"
#include "tests/support/chroma_env.h"

namespace {

namespace fs = std::filesystem;
using namespace fg::store;

constexpr uint32_t kDim = 16;
constexpr const char* kModel = "test-model:1";

class ChromaForget : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_CHROMA(url);
    endpoint_ = chroma::parse_endpoint(url);
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fg::test::scratch_dir("chroma-forget-" + test);
    collection_ = "f" + std::to_string(::getpid()) + "-" + test;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  static OpenOptions create() {
    OpenOptions o;
    o.create_if_missing = true;
    o.model_id = kModel;
    return o;
  }

  // Three people ("p0".."p2", ids "id-0".."id-2") with two images each.
  void make_door(const std::string& path) {
    Store s = Store::open(path, create());
    for (int p = 0; p < 3; ++p) {
      std::vector<EmbeddingRecord> recs;
      for (int i = 0; i < 2; ++i) {
        EmbeddingRecord r;
        r.content_hash = std::string(62, 'a') + char('a' + p) + char('a' + i);
        r.image_path = "p" + std::to_string(p) + "/" + std::to_string(i) + ".jpg";
        r.embedding.assign(kDim, 0.1f);
        r.embedding[p] = 1.f;
        r.embedding[8 + i] = 0.5f;
        recs.push_back(std::move(r));
      }
      Identity who;
      who.id = "id-" + std::to_string(p);
      who.name = "p" + std::to_string(p);
      s.enroll(who, std::move(recs));
    }
  }

  chroma::PushResult push(const std::string& db) {
    Store s = Store::open(db);
    chroma::Client c(endpoint_);
    return chroma::push(s, c, collection_, 100, nullptr);
  }
  chroma::PullResult pull(const std::string& db) {
    chroma::Client c(endpoint_);
    return chroma::pull(c, collection_, db, "", 0, nullptr);
  }
  // The identity ids that own records in the collection.
  std::set<std::string> remote_owners() {
    chroma::Client c(endpoint_);
    std::set<std::string> out;
    for (const auto& r : c.get(*c.find_collection(collection_), 0, 1000, false))
      out.insert(r.metadata.at(chroma::kMongoIdKey));
    return out;
  }
  std::set<std::string> local_ids(const std::string& db) {
    OpenOptions o;
    o.read_only = true;
    std::set<std::string> out;
    for (const auto& who : Store::open(db, o).list_identities()) out.insert(who.id);
    return out;
  }

  chroma::Endpoint endpoint_;
  std::string dir_, collection_;
};

TEST_F(ChromaForget, ForgetReachesEveryDoorAndNoPullBringsItBack) {
  const std::string a = dir_ + "/a", b = dir_ + "/b", fresh = dir_ + "/fresh";
  make_door(a);
  push(a);
  EXPECT_EQ(pull(b).added, 6u) << "door B starts as a copy of the central gallery";

  { Store s = Store::open(a); s.forget("id-1"); }
  const auto pushed = push(a);
  EXPECT_EQ(pushed.deleted, 2u);
  EXPECT_EQ(remote_owners(), (std::set<std::string>{"id-0", "id-2"}));
  {
    chroma::Client c(endpoint_);
    EXPECT_EQ(chroma::collection_forgotten(*c.find_collection(collection_)), std::set<std::string>{"id-1"});
  }
  EXPECT_EQ(push(a).deleted, 0u) << "a second push changes nothing";

  // A new DB pulled from the collection never sees the person.
  pull(fresh);
  EXPECT_EQ(local_ids(fresh), (std::set<std::string>{"id-0", "id-2"}));

  // Door B still has id-1: its push must not put it back...
  const auto from_b = push(b);
  EXPECT_EQ(from_b.forgotten_elsewhere, 1u);
  EXPECT_EQ(remote_owners(), (std::set<std::string>{"id-0", "id-2"}));
  // ...and its next pull forgets it there too, for good.
  const auto into_b = pull(b);
  EXPECT_EQ(into_b.forgotten, 1u);
  EXPECT_EQ(local_ids(b), (std::set<std::string>{"id-0", "id-2"}));
  {
    Store s = Store::open(b);
    EXPECT_TRUE(s.is_forgotten("id-1"));
  }
  EXPECT_EQ(pull(b).forgotten, 0u);
}

TEST_F(ChromaForget, APullBeforeThePushDoesNotResurrectAForgottenIdentity) {
  const std::string a = dir_ + "/a";
  make_door(a);
  push(a);
  { Store s = Store::open(a); s.forget("id-0"); }
  // Remote records of id-0 are still there: the push has not run yet.
  const auto r = pull(a);
  EXPECT_EQ(r.skipped_forgotten, 1u);
  EXPECT_EQ(local_ids(a), (std::set<std::string>{"id-1", "id-2"}));
  EXPECT_EQ(push(a).deleted, 2u);
  EXPECT_EQ(remote_owners(), (std::set<std::string>{"id-1", "id-2"}));
}

TEST_F(ChromaForget, RecordsOfAnIdForgottenElsewhereAreNotPulledEvenIfStillPresent) {
  const std::string a = dir_ + "/a", fresh = dir_ + "/fresh";
  make_door(a);
  push(a);
  // As after another door's push that published the tombstone and then crashed.
  chroma::Client c(endpoint_);
  chroma::Collection coll = *c.find_collection(collection_);
  chroma::Metadata m = coll.metadata;
  m[chroma::kForgottenKey] = chroma::forgotten_value({"id-2"});
  c.set_metadata(coll, m);
  const auto r = pull(fresh);
  EXPECT_EQ(r.skipped_forgotten, 1u);
  EXPECT_EQ(local_ids(fresh), (std::set<std::string>{"id-0", "id-1"}));
  Store s = Store::open(fresh);
  EXPECT_TRUE(s.is_forgotten("id-2"));
}

}  // namespace
