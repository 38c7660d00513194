#include "store/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "tests/store/store_fixture.h"
#include "tests/support/test_env.h"

namespace {

using namespace fg::store;
using fg::test::create;
using fg::test::fake_record;
using fg::test::fake_records;
using fg::test::scratch_dir;
using fg::test::store_error_of;

std::map<std::string, uint64_t> counts(const Store& s) {
  std::map<std::string, uint64_t> out;
  for (const auto& i : s.list_identities()) out[i.name] = i.image_count;
  return out;
}

TEST(Store, EnrollCreatesIdentityAndAssignsLabels) {
  Store s = Store::open(scratch_dir("store-enroll") + "/db", create());
  auto r = s.enroll(Identity{"", "Ana María", 0, "", 0}, fake_records(0, 3));
  EXPECT_TRUE(r.identity_created);
  EXPECT_EQ(r.identity.id.size(), 24u);
  EXPECT_TRUE(is_valid_identity_id(r.identity.id));
  EXPECT_GT(r.identity.created_us, 0);
  EXPECT_EQ(r.identity.image_count, 3u);
  ASSERT_EQ(r.added.size(), 3u);
  EXPECT_TRUE(r.duplicates.empty());
  EXPECT_EQ(r.added[0].label, 1u);
  EXPECT_EQ(r.added[2].label, 3u);
  for (const auto& rec : r.added) {
    EXPECT_EQ(rec.identity_id, r.identity.id);
    EXPECT_EQ(rec.model_id, "model-a");  // filled from the DB
    EXPECT_GT(rec.enrolled_us, 0);
  }
  const auto st = s.state();
  EXPECT_EQ(st.model_id, "model-a");
  EXPECT_EQ(st.dim, 8u);
  EXPECT_EQ(st.embedding_count, 3u);
  EXPECT_EQ(st.identity_count, 1u);
  EXPECT_EQ(st.generation, 1u);
  EXPECT_EQ(st.label_sum, 1u + 2 + 3);
  EXPECT_EQ(st.db_id.size(), 32u);
  EXPECT_TRUE(s.has_image(fg::test::fake_hash(1)));
  EXPECT_FALSE(s.has_image(fg::test::fake_hash(99)));
}

TEST(Store, ReEnrollingTheSameFilesAddsNothing) {
  const std::string db = scratch_dir("store-reenroll") + "/db";
  {
    Store s = Store::open(db, create());
    s.enroll(Identity{"", "bob", 0, "", 0}, fake_records(0, 4));
  }
  Store s = Store::open(db, create());
  const auto before = s.state();
  auto bob = s.find_identity_by_name("bob");
  ASSERT_TRUE(bob);
  auto r = s.enroll(*bob, fake_records(0, 4));
  EXPECT_FALSE(r.identity_created);
  EXPECT_TRUE(r.added.empty());
  ASSERT_EQ(r.duplicates.size(), 4u);
  EXPECT_EQ(r.duplicates[0].owner_id, bob->id);
  EXPECT_EQ(s.state().generation, before.generation);  // nothing changed: the index stays valid
  EXPECT_EQ(s.state().embedding_count, 4u);

  // Upper-case hex is the same file.
  auto upper = fake_record(2);
  std::transform(upper.content_hash.begin(), upper.content_hash.end(), upper.content_hash.begin(), ::toupper);
  EXPECT_TRUE(s.enroll(*bob, {upper}).added.empty());

  // New photos add only themselves; one repeated inside the call counts once.
  auto more = fake_records(3, 3);  // 3 is old, 4 and 5 are new
  more.push_back(fake_record(5));
  r = s.enroll(*bob, more);
  ASSERT_EQ(r.added.size(), 2u);
  EXPECT_EQ(r.added[0].label, 5u);
  EXPECT_EQ(r.duplicates.size(), 2u);
  EXPECT_EQ(r.identity.image_count, 6u);
  EXPECT_EQ(counts(s), (std::map<std::string, uint64_t>{{"bob", 6}}));
}

TEST(Store, AFileEnrolledForOnePersonIsReportedWhenGivenForAnother) {
  Store s = Store::open(scratch_dir("store-cross") + "/db", create());
  auto a = s.enroll(Identity{"", "a", 0, "", 0}, fake_records(0, 2)).identity;
  auto r = s.enroll(Identity{"", "b", 0, "", 0}, {fake_record(1), fake_record(7)});
  ASSERT_EQ(r.duplicates.size(), 1u);
  EXPECT_EQ(r.duplicates[0].owner_id, a.id);
  auto d = s.find_image(fg::test::fake_hash(1));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->owner_id, a.id);
  EXPECT_EQ(d->image_path, "gallery/img1.jpg");
}

TEST(Store, CallerSuppliedIdsAndUtf8NamesAreKept) {
  const std::string db = scratch_dir("store-ids") + "/db";
  {
    Store s = Store::open(db, create());
    s.add_identity(Identity{"5f1d7b2c9e4a3b0012345678", "Jürgen 🙂", 42, R"({"badge": 17})", 0});
    s.enroll(Identity{"chroma:9b2e-11", "李小龍", 0, "", 0}, fake_records(0, 1));
  }
  Store s = Store::open(db);
  auto j = s.get_identity("5f1d7b2c9e4a3b0012345678");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->name, "Jürgen 🙂");
  EXPECT_EQ(j->created_us, 42);
  EXPECT_EQ(j->extra_json, R"({"badge": 17})");
  EXPECT_EQ(s.find_identity("李小龍")->id, "chroma:9b2e-11");
  EXPECT_EQ(s.find_identity("chroma:9b2e-11")->image_count, 1u);
  EXPECT_FALSE(s.find_identity("nobody"));
  EXPECT_EQ(s.state().identity_count, 2u);
}

// "José" from a folder copied off a Mac (NFD: e + U+0301) and typed on Linux (NFC: U+00E9)
// is one person: names are stored and looked up in NFC. Bytes that are not UTF-8 are kept.
TEST(Store, NamesAreOnePersonInComposedAndDecomposedUnicode) {
  const std::string nfd = "Jose\xCC\x81", nfc = "Jos\xC3\xA9", latin1 = "Jos\xE9";
  Store s = Store::open(scratch_dir("store-nfc") + "/db", create());
  const Identity jose = s.enroll(Identity{"", nfd, 0, "", 0}, fake_records(0, 1)).identity;
  EXPECT_EQ(jose.name, nfc);
  EXPECT_EQ(s.get_identity(jose.id)->name, nfc);
  ASSERT_TRUE(s.find_identity(nfc));
  EXPECT_EQ(s.find_identity(nfc)->id, jose.id);
  EXPECT_EQ(s.find_identity(nfd)->id, jose.id);
  const auto e = store_error_of([&] { s.add_identity(Identity{"", nfc, 0, "", 0}); });
  EXPECT_EQ(e.kind(), ErrorKind::conflict);
  EXPECT_NE(std::string(e.what()).find("is already identity '" + jose.id + "'"), std::string::npos) << e.what();
  // Latin-1 is another spelling altogether: a person of its own, its bytes untouched.
  const Identity other = s.add_identity(Identity{"", latin1, 0, "", 0});
  EXPECT_EQ(other.name, latin1);
  EXPECT_EQ(s.find_identity(latin1)->id, other.id);
  EXPECT_EQ(normalize_name("Ange\xCC\x80le \xE2\x84\xAB"), "Ang\xC3\xA8le \xC3\x85");  // NFC also maps U+212B
  EXPECT_EQ(normalize_name("plain"), "plain");

  s.forget(jose.id);
  EXPECT_FALSE(s.find_identity(nfd));
  EXPECT_NO_THROW(s.add_identity(Identity{"", nfd, 0, "", 0})) << "the forgotten person's name is free again";
}

TEST(Store, IdentityConflictsAndBadInputAreClearErrors) {
  Store s = Store::open(scratch_dir("store-bad") + "/db", create());
  s.add_identity(Identity{"x1", "same", 0, "", 0});
  auto e = store_error_of([&] { s.add_identity(Identity{"x2", "same", 0, "", 0}); });
  EXPECT_EQ(e.kind(), ErrorKind::conflict);
  EXPECT_NE(std::string(e.what()).find("name 'same' is already identity 'x1'"), std::string::npos) << e.what();
  EXPECT_EQ(store_error_of([&] { s.add_identity(Identity{"x1", "other", 0, "", 0}); }).kind(), ErrorKind::conflict);
  EXPECT_EQ(store_error_of([&] { s.add_identity(Identity{"a/b", "n", 0, "", 0}); }).kind(),
            ErrorKind::invalid_argument);
  EXPECT_EQ(store_error_of([&] { s.add_identity(Identity{"", "n", 0, "{not json", 0}); }).kind(),
            ErrorKind::invalid_argument);

  auto bad_hash = fake_record(0);
  bad_hash.content_hash = "xyz";
  EXPECT_EQ(store_error_of([&] { s.enroll(Identity{"x1", "", 0, "", 0}, {bad_hash}); }).kind(),
            ErrorKind::invalid_argument);
  auto nan = fake_record(1);
  nan.embedding[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(store_error_of([&] { s.enroll(Identity{"x1", "", 0, "", 0}, {nan}); }).kind(),
            ErrorKind::invalid_argument);

  s.enroll(Identity{"x1", "", 0, "", 0}, {fake_record(2)});
  e = store_error_of([&] { s.enroll(Identity{"x1", "", 0, "", 0}, {fake_record(3, 16)}); });
  EXPECT_NE(std::string(e.what()).find("embedding has 16 values, the DB holds dim 8"), std::string::npos)
      << e.what();
  e = store_error_of([&] { s.enroll(Identity{"x1", "", 0, "", 0}, {fake_record(3, 8, "model-b")}); });
  EXPECT_EQ(e.kind(), ErrorKind::model_mismatch);
  // A failed enroll writes nothing, not even the valid records before the bad one.
  EXPECT_EQ(store_error_of([&] { s.enroll(Identity{"x1", "", 0, "", 0}, {fake_record(4), nan}); }).kind(),
            ErrorKind::invalid_argument);
  EXPECT_FALSE(s.has_image(fg::test::fake_hash(4)));
  EXPECT_EQ(s.state().embedding_count, 1u);
}

TEST(Store, ForgetRemovesEverythingOfOneIdentityAtOnce) {
  const std::string db = scratch_dir("store-forget") + "/db";
  Store s = Store::open(db, create());
  auto a = s.enroll(Identity{"", "a", 0, "", 0}, fake_records(0, 3)).identity;
  auto b = s.enroll(Identity{"", "b", 0, "", 0}, fake_records(10, 2)).identity;
  Event ev;
  ev.camera = "door";
  ev.time_us = 1000;
  ev.identity_id = a.id;
  ev.name = "a";
  s.append_event(ev);
  const auto gen = s.state().generation;

  auto f = s.forget(a.id);
  EXPECT_EQ(f.identity.name, "a");
  EXPECT_EQ(f.labels, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(f.events_purged, 0u);
  EXPECT_FALSE(s.get_identity(a.id));
  EXPECT_FALSE(s.find_identity_by_name("a"));
  EXPECT_FALSE(s.has_image(fg::test::fake_hash(0)));
  EXPECT_TRUE(s.embeddings_of(a.id).empty());
  EXPECT_EQ(s.state().embedding_count, 2u);
  EXPECT_EQ(s.state().identity_count, 1u);
  EXPECT_EQ(s.state().generation, gen + 1);
  EXPECT_EQ(s.state().label_sum, 4u + 5);
  EXPECT_EQ(s.events(0, 2000).size(), 1u);  // attendance history is kept
  EXPECT_EQ(store_error_of([&] { s.forget(a.id); }).kind(), ErrorKind::not_found);

  // The name and the photos are free again; labels are never reused.
  auto again = s.enroll(Identity{"", "a", 0, "", 0}, fake_records(0, 1));
  EXPECT_EQ(again.added.at(0).label, 6u);
  s.append_event(ev);  // an event of the old id
  ev.identity_id = b.id;
  s.append_event(ev);
  f = s.forget(b.id, /*purge_events=*/true);
  EXPECT_EQ(f.events_purged, 1u);
  EXPECT_EQ(s.events(0, 2000).size(), 2u);

  size_t visited = 0;
  s.for_each_embedding([&](const EmbeddingRecord& r) {
    EXPECT_EQ(r.identity_id, again.identity.id);
    ++visited;
  });
  EXPECT_EQ(visited, 1u);
}

TEST(Store, ListCountsImagesPerIdentityEvenWhenIdsPrefixEachOther) {
  Store s = Store::open(scratch_dir("store-list") + "/db", create());
  s.enroll(Identity{"ab", "n1", 0, "", 0}, fake_records(0, 2));
  s.enroll(Identity{"ab-c", "n2", 0, "", 0}, fake_records(2, 3));
  s.enroll(Identity{"ab.c", "n3", 0, "", 0}, fake_records(5, 1));
  s.add_identity(Identity{"zz", "n4", 0, "", 0});
  EXPECT_EQ(counts(s), (std::map<std::string, uint64_t>{{"n1", 2}, {"n2", 3}, {"n3", 1}, {"n4", 0}}));
  EXPECT_EQ(s.get_identity("ab")->image_count, 2u);
  EXPECT_EQ(s.embeddings_of("ab").size(), 2u);
}

TEST(Store, ChangeModelRewritesKeptEmbeddingsAndDropsTheRest) {
  const std::string db = scratch_dir("store-reindex") + "/db";
  {
    Store s = Store::open(db, create("model-a"));
    s.enroll(Identity{"p", "p", 0, "", 0}, fake_records(0, 3));
  }
  OpenOptions o;
  o.model_id = "model-b";
  EXPECT_EQ(store_error_of([&] { Store::open(db, o); }).kind(), ErrorKind::model_mismatch);
  o.allow_model_change = true;
  Store s = Store::open(db, o);
  EXPECT_EQ(s.state().model_id, "model-a");
  auto recs = s.embeddings_of("p");
  recs.pop_back();
  for (auto& r : recs) r.embedding.assign(4, 0.25f);
  const auto gen = s.state().generation;
  s.set_threshold(0.4);
  s.change_model("model-a", recs);
  EXPECT_EQ(s.threshold(), 0.4) << "the same model's calibration still holds";
  s.change_model("model-b", recs);
  EXPECT_FALSE(s.threshold()) << "calibrated for model-a's scores";
  const auto st = s.state();
  EXPECT_EQ(st.model_id, "model-b");
  EXPECT_EQ(st.dim, 4u);
  EXPECT_EQ(st.embedding_count, 2u);
  EXPECT_EQ(st.generation, gen + 2);
  EXPECT_EQ(st.label_sum, 1u + 2);
  EXPECT_FALSE(s.has_image(fg::test::fake_hash(2)));
  for (const auto& r : s.embeddings_of("p")) {
    EXPECT_EQ(r.model_id, "model-b");
    EXPECT_EQ(r.embedding.size(), 4u);
  }
  auto ghost = recs[0];
  ghost.label = 999;
  EXPECT_EQ(store_error_of([&] { s.change_model("model-c", {ghost}); }).kind(), ErrorKind::invalid_argument);
}

TEST(Store, MetaAndThreshold) {
  const std::string db = scratch_dir("store-meta") + "/db";
  {
    Store s = Store::open(db, create());
    EXPECT_FALSE(s.threshold());
    s.set_threshold(0.42);
    s.set_meta("generation", "caller's own");  // cannot clobber the store's counter
    EXPECT_EQ(store_error_of([&] { s.set_threshold(2.0); }).kind(), ErrorKind::invalid_argument);
  }
  Store s = Store::open(db);
  EXPECT_EQ(s.threshold(), 0.42);
  EXPECT_EQ(s.get_meta("generation"), "caller's own");
  EXPECT_FALSE(s.get_meta("missing"));
  EXPECT_EQ(s.state().generation, 0u);
}

}  // namespace
