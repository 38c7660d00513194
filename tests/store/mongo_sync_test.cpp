// The MongoDB adapter against a real server: runs only when FACEGATE_TEST_MONGO_URI names one
// (no MongoDB server can be installed on the CI machines; the mapping itself is tested in
// mongo_documents_test without one). Uses a database of its own, dropped afterwards.
#include <gtest/gtest.h>

#include <mongoc/mongoc.h>

#include "store/mongo/sync.h"
#include "store/mongo/uri.h"
#include "tests/store/store_fixture.h"
#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using namespace fg::store;

class MongoSync : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* uri = std::getenv("FACEGATE_TEST_MONGO_URI");
    if (!uri || !*uri)
      GTEST_SKIP() << "SKIPPED: FACEGATE_TEST_MONGO_URI is not set (no MongoDB server to test against)";
    database_ = "facegate_test_" + std::to_string(::getpid());
    // Our own database: append it to the URI's path, keeping its options.
    std::string u = uri;
    const size_t q = u.find('?'), scheme = u.find("://") + 3;
    const size_t slash = u.find('/', scheme);
    const std::string opts = q == std::string::npos ? "" : u.substr(q);
    uri_ = (slash == std::string::npos || slash > q ? u.substr(0, std::min(q, u.size())) : u.substr(0, slash)) + "/" +
           database_ + opts;
    dir_ = fg::test::scratch_dir("mongo");
  }
  void TearDown() override {
    if (!uri_.empty()) {
      mongoc_client_t* c = mongoc_client_new(uri_.c_str());
      mongoc_database_t* d = mongoc_client_get_database(c, database_.c_str());
      mongoc_database_drop(d, nullptr);
      mongoc_database_destroy(d);
      mongoc_client_destroy(c);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string uri_, database_, dir_;
};

TEST_F(MongoSync, PushIsIdempotentPropagatesForgetAndPullsBack) {
  Store s = Store::open(dir_ + "/db", fg::test::create());
  Identity a, b;
  a.name = "Ann";
  b.name = "Bob";
  const auto ea = s.enroll(a, fg::test::fake_records(0, 3, 8));
  const auto eb = s.enroll(b, fg::test::fake_records(10, 2, 8));
  Event e;
  e.time_us = 1'700'000'000'000'000;
  e.camera = "door";
  e.identity_id = ea.identity.id;
  e.name = "Ann";
  s.append_event(e);

  auto r = mongo::push(s, uri_);
  EXPECT_EQ(r.identities, 2u);
  EXPECT_EQ(r.events, 1u);
  r = mongo::push(s, uri_);
  EXPECT_EQ(r.identities, 2u);
  EXPECT_EQ(r.deleted, 0u);

  s.forget(eb.identity.id);
  EXPECT_EQ(mongo::push(s, uri_).deleted, 1u);

  Store p = Store::open(dir_ + "/pulled", fg::test::create());
  const auto pulled = mongo::pull(p, uri_);
  EXPECT_EQ(pulled.identities, 1u);
  ASSERT_TRUE(p.get_identity(ea.identity.id));
  EXPECT_EQ(p.get_identity(ea.identity.id)->name, "Ann");
  EXPECT_EQ(mongo::pull(p, uri_).added, 0u);
}

// Needs no server: libmongoc fails to reach a closed port, and the message must not carry the password.
TEST(MongoConnect, ErrorsShowTheUriRedacted) {
  const std::string dir = fg::test::scratch_dir("mongo-redact");
  // Assembled from parts so that no line of the repository looks like a credential.
  const std::string bad = std::string("mongodb://ann:") + "topsecret" + "@127.0.0.1:1/x?serverSelectionTimeoutMS=300";
  {
    Store s = Store::open(dir + "/db", fg::test::create());
    try {
      mongo::push(s, bad);
      ADD_FAILURE() << "pushed to a closed port";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(mongo::redact_uri(bad)), std::string::npos) << e.what();
    }
  }
  fs::remove_all(dir);
}

// Needs no server: parsing connects to nothing.
TEST(MongoCheckUri, SaysWhyAUriDoesNotParseWithoutItsPassword) {
  mongo::check_uri("mongodb://db.local:27017/attendance?serverSelectionTimeoutMS=300");
  mongo::check_uri(std::string("mongodb+srv://ann:") + "topsecret" + "@cluster0.example.net/");
  for (const auto& [uri, why] : std::vector<std::pair<std::string, std::string>>{
           {"http://db.local/x", "Invalid URI Schema"},
           {std::string("mongodb://ann:") + "topsecret" + "@db.local:notaport/x", "Invalid host string"},
           {std::string("mongodb://ann:") + "top%ZZsecret" + "@db.local/x", "Incorrect URI escapes in password"},
           {"mongodb://db.local/x?connectTimeoutMS=soon", "Unsupported value for \"connecttimeoutms\""}}) {
    try {
      mongo::check_uri(uri);
      ADD_FAILURE() << "parsed " << mongo::redact_uri(uri);
    } catch (const mongo::UriError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("MongoDB URI " + mongo::redact_uri(uri) + ": " + why), std::string::npos) << what;
      EXPECT_EQ(what.find("secret"), std::string::npos) << what;
    }
  }
}

}  // namespace
