#include <rocksdb/db.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "store/codec.h"
#include "store/keys.h"
#include "store/store.h"
#include "tests/store/store_fixture.h"
#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using namespace fg::store;
using fg::test::create;
using fg::test::fake_records;
using fg::test::scratch_dir;
using fg::test::store_error_of;

std::string make_db(const std::string& name) {
  const std::string db = scratch_dir(name) + "/db";
  Store s = Store::open(db, create());
  s.enroll(Identity{"", "someone", 0, "", 0}, fake_records(0, 2));
  return db;
}

void overwrite(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

bool contains(const StoreError& e, const std::string& s) { return std::string(e.what()).find(s) != std::string::npos; }

TEST(StoreOpen, MissingDbIsNotFoundUnlessCreating) {
  const std::string db = scratch_dir("open-missing") + "/nested/db";
  auto e = store_error_of([&] { Store::open(db); });
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_TRUE(contains(e, db)) << e.what();
  Store::open(db, create());
  EXPECT_TRUE(fs::exists(db + "/CURRENT"));
}

TEST(StoreOpen, SecondOpenInTheSameProcessIsRefused) {
  const std::string db = make_db("open-twice");
  Store first = Store::open(db);
  auto e = store_error_of([&] { Store::open(db); });
  EXPECT_EQ(e.kind(), ErrorKind::locked);
  EXPECT_TRUE(contains(e, "DB " + db + " is already open in this process")) << e.what();
  // A read-only open takes no lock.
  OpenOptions ro;
  ro.read_only = true;
  Store reader = Store::open(db, ro);
  EXPECT_EQ(reader.list_identities().size(), 1u);
  EXPECT_EQ(store_error_of([&] { reader.add_identity(Identity{"", "x", 0, "", 0}); }).kind(),
            ErrorKind::invalid_argument);
}

TEST(StoreOpen, ModelMismatchNamesBothModels) {
  const std::string db = make_db("open-model");
  OpenOptions o;
  o.model_id = "resnet50-sha256:beef";
  auto e = store_error_of([&] { Store::open(db, o); });
  EXPECT_EQ(e.kind(), ErrorKind::model_mismatch);
  EXPECT_TRUE(contains(e, "was enrolled with model 'model-a', but model 'resnet50-sha256:beef' was given"))
      << e.what();
  o.model_id = "";
  Store::open(db, o);  // no model given: no check (list, forget)
}

TEST(StoreOpen, SchemaMismatchSaysGotAndExpected) {
  const std::string db = make_db("open-schema");
  {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{"default", {}}, {"identities", {}}, {"embeddings", {}},
                                                        {"events", {}},  {"meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), db, cfs, &handles, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[4], "schema_version", std::string("\x02\0\0\0", 4)).ok());
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  auto e = store_error_of([&] { Store::open(db); });
  EXPECT_EQ(e.kind(), ErrorKind::schema_mismatch);
  EXPECT_TRUE(contains(e, "has schema v2, this build reads v1")) << e.what();
}

TEST(StoreOpen, GarbageCurrentFileIsACorruptDb) {
  const std::string db = make_db("open-current");
  overwrite(fs::path(db) / "CURRENT", "\x01\x02garbage");
  auto e = store_error_of([&] { Store::open(db); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(contains(e, "DB " + db + " is corrupt or unreadable")) << e.what();
}

TEST(StoreOpen, GarbageManifestIsACorruptDb) {
  const std::string db = make_db("open-manifest");
  int manifests = 0;
  for (const auto& f : fs::directory_iterator(db))
    if (f.path().filename().string().rfind("MANIFEST-", 0) == 0) {
      overwrite(f.path(), std::string(300, '\x7f'));
      ++manifests;
    }
  ASSERT_GT(manifests, 0);
  auto e = store_error_of([&] { Store::open(db); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(contains(e, "is corrupt or unreadable")) << e.what();
}

TEST(StoreOpen, DirectoryWithoutCurrentIsNeverOverwritten) {
  const std::string db = make_db("open-nocurrent");
  fs::remove(fs::path(db) / "CURRENT");
  auto e = store_error_of([&] { Store::open(db, create()); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(contains(e, "no RocksDB CURRENT file")) << e.what();
}

TEST(StoreOpen, AnotherRocksDbIsNotAFacegateDb) {
  const std::string db = scratch_dir("open-foreign") + "/db";
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, db, &raw).ok());
    delete raw;
  }
  auto e = store_error_of([&] { Store::open(db, create()); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(contains(e, "is not a facegate DB: it has no 'identities' column family")) << e.what();
}

// What kill -9 leaves while RocksDB creates a DB: a plain RocksDB DB with some of our column
// families (`families` of them) and, if `key`, something stored.
void half_made_db(const std::string& db, size_t families, bool key) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, db, &raw).ok());
  const std::vector<std::string> ours = {"identities", "embeddings", "events", "meta"};
  for (size_t i = 0; i < families; ++i) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    ASSERT_TRUE(raw->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), ours[i], &h).ok());
    raw->DestroyColumnFamilyHandle(h);
  }
  if (key) {
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), "k", "v").ok());
  }
  delete raw;
}

TEST(StoreOpen, AnInterruptedCreationIsCreatedAgainButNothingStoredIsEverCleared) {
  // Before CURRENT: RocksDB's first files only.
  const std::string early = scratch_dir("open-halfmade-early") + "/db";
  fs::create_directories(early);
  for (const char* f : {"LOCK", "LOG", "IDENTITY", "MANIFEST-000001", "000001.dbtmp"})
    overwrite(fs::path(early) / f, "x");
  EXPECT_EQ(Store::open(early, create()).enroll(Identity{"", "a", 0, "", 0}, fake_records(0, 1)).added.size(), 1u);

  // After CURRENT, with none or some of our column families.
  for (const size_t families : {0, 2}) {
    const std::string db = scratch_dir("open-halfmade-" + std::to_string(families)) + "/db";
    half_made_db(db, families, false);
    if (families == 0) {
      // Indistinguishable from someone else's empty RocksDB DB: refused as one.
      EXPECT_EQ(store_error_of([&] { Store::open(db, create()); }).kind(), ErrorKind::corrupt);
      continue;
    }
    Store s = Store::open(db, create());
    EXPECT_EQ(s.enroll(Identity{"", "a", 0, "", 0}, fake_records(0, 1)).added.size(), 1u);
  }

  // Something stored: never cleared, whatever the column families; a non-creating open
  // never clears anything.
  const std::string stored = scratch_dir("open-halfmade-stored") + "/db";
  half_made_db(stored, 2, true);
  auto e = store_error_of([&] { Store::open(stored, create()); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(contains(e, "is not a facegate DB: it has no 'events' column family")) << e.what();
  const std::string reading = scratch_dir("open-halfmade-read") + "/db";
  half_made_db(reading, 2, false);
  EXPECT_EQ(store_error_of([&] { Store::open(reading); }).kind(), ErrorKind::corrupt);
}

TEST(StoreOpen, AFileInsteadOfADirectory) {
  const std::string path = scratch_dir("open-file") + "/db";
  overwrite(path, "hello");
  auto e = store_error_of([&] { Store::open(path, create()); });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_TRUE(contains(e, "is not a directory")) << e.what();
}

}  // namespace

namespace {

// Rewrites identity `id` as a DB written before names were kept in NFC would hold it: its
// record and its "n/" key in the name's bytes as given.
void store_name_as_before_nfc(const std::string& db, const std::string& id, const std::string& raw_name) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{"default", {}}, {"identities", {}}, {"embeddings", {}},
                                                      {"events", {}},  {"meta", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), db, cfs, &handles, &raw).ok());
  std::string bytes;
  ASSERT_TRUE(raw->Get(rocksdb::ReadOptions(), handles[1], fg::store::detail::identity_key(id), &bytes).ok());
  Identity who = fg::store::detail::decode_identity(id, bytes);
  ASSERT_TRUE(raw->Delete(rocksdb::WriteOptions(), handles[1], fg::store::detail::name_key(who.name)).ok());
  who.name = raw_name;
  ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[1], fg::store::detail::identity_key(id),
                       fg::store::detail::encode_identity(who))
                  .ok());
  ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[1], fg::store::detail::stored_name_key(raw_name), id).ok());
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  delete raw;
}

}  // namespace

// A DB from before names were kept in NFC holds a decomposed "Zoë" as it was given: a
// writable open rewrites it in NFC, so the Mac's and the typed spelling find her and a
// re-enroll adds to her. A decomposed "José" whose NFC form another identity already has is
// left alone (not merged), still found by id, and forgetting it leaves the other one's name.
TEST(StoreOpen, NamesStoredBeforeNfcAreRewrittenAtAWritableOpen) {
  const std::string nfd_zoe = "Zoe\xCC\x88", nfc_zoe = "Zo\xC3\xAB", nfd_jose = "Jose\xCC\x81",
                    nfc_jose = "Jos\xC3\xA9";
  const std::string db = scratch_dir("open-nfc") + "/db";
  {
    Store s = Store::open(db, create());
    s.enroll(Identity{"zoe", nfc_zoe, 0, "", 0}, fake_records(0, 1));
    s.enroll(Identity{"jose1", nfc_jose, 0, "", 0}, fake_records(1, 1));
    s.enroll(Identity{"jose2", "placeholder", 0, "", 0}, fake_records(2, 1));
  }
  store_name_as_before_nfc(db, "zoe", nfd_zoe);
  store_name_as_before_nfc(db, "jose2", nfd_jose);
  {
    OpenOptions ro;
    ro.read_only = true;
    const Store s = Store::open(db, ro);  // a reader rewrites nothing, and finds the stored bytes
    EXPECT_EQ(s.get_identity("zoe")->name, nfd_zoe);
    EXPECT_EQ(s.find_identity(nfd_zoe)->id, "zoe");
  }
  Store s = Store::open(db);
  EXPECT_EQ(s.get_identity("zoe")->name, nfc_zoe);
  EXPECT_EQ(s.find_identity(nfc_zoe)->id, "zoe");
  EXPECT_EQ(s.find_identity(nfd_zoe)->id, "zoe");
  EXPECT_EQ(s.enroll(Identity{"zoe", "", 0, "", 0}, fake_records(3, 1)).identity.name, nfc_zoe);
  EXPECT_EQ(s.get_identity("zoe")->image_count, 2u);

  EXPECT_EQ(s.get_identity("jose2")->name, nfd_jose) << "not merged into jose1";
  EXPECT_EQ(s.find_identity(nfc_jose)->id, "jose1");
  s.forget("jose2");
  EXPECT_EQ(s.find_identity(nfc_jose)->id, "jose1") << "forgetting jose2 removed jose1's name";
  s.forget("zoe");
  EXPECT_FALSE(s.find_identity(nfd_zoe));
  EXPECT_FALSE(s.find_identity(nfc_zoe));
  EXPECT_EQ(s.list_identities().size(), 1u);
}
