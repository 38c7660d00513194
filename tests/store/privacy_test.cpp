// Privacy in the store: forget strips thumbnails and leaves a tombstone that keeps the id
// dead; retention drops old events; the DB is owner-only whatever the umask.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "store/store.h"
#include "tests/store/store_fixture.h"
#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using namespace fg::store;

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kNow = 1'750'000'000'000'000;

Event event_at(int64_t time_us, const std::optional<std::string>& who,
               std::vector<uint8_t> thumb = {0xFF, 0xD8, 0xFF, 0xD9}) {
  Event e;
  e.time_us = time_us;
  e.camera = "door";
  e.kind = who ? EventKind::attendance : EventKind::unknown;
  e.identity_id = who;
  e.name = who ? "someone" : "";
  e.thumbnail_jpeg = std::move(thumb);
  return e;
}

class StorePrivacy : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fg::test::scratch_dir("store-privacy"); }
  void TearDown() override { fs::remove_all(dir_); }
  // Enrolls `name` with n fake images (labels from `first`); returns the new id.
  static std::string enroll(Store& s, const std::string& name, int first, int n) {
    Identity who;
    who.name = name;
    return s.enroll(who, fg::test::fake_records(first, n)).identity.id;
  }
  std::string dir_;
};

TEST_F(StorePrivacy, ForgetStripsTheThumbnailsOfKeptEventsOnlyAndLeavesATombstone) {
  Store s = Store::open(dir_ + "/db", fg::test::create());
  const std::string ann = enroll(s, "Ann", 0, 2), bob = enroll(s, "Bob", 10, 2);
  for (auto e :
       {event_at(kNow, ann), event_at(kNow + 1, ann), event_at(kNow + 2, bob), event_at(kNow + 3, std::nullopt)})
    s.append_event(e);

  const ForgetResult r = s.forget(ann);
  EXPECT_EQ(r.thumbnails_removed, 2u);
  EXPECT_EQ(r.events_purged, 0u);
  const auto events = s.events(INT64_MIN, INT64_MAX);
  ASSERT_EQ(events.size(), 4u) << "kept as history";
  for (const Event& e : events) {
    if (e.identity_id == ann) {
      EXPECT_TRUE(e.thumbnail_jpeg.empty()) << "seq " << e.seq;
    } else {
      EXPECT_EQ(e.thumbnail_jpeg.size(), 4u) << "seq " << e.seq << " is not Ann's";
    }
  }
  const auto tombs = s.tombstones();
  ASSERT_EQ(tombs.size(), 1u);
  EXPECT_EQ(tombs[0].identity_id, ann);
  EXPECT_FALSE(tombs[0].events_purged);
  EXPECT_GT(tombs[0].forgotten_us, 0);
  EXPECT_TRUE(s.is_forgotten(ann));
  EXPECT_FALSE(s.is_forgotten(bob));
}

TEST_F(StorePrivacy, PurgeIsRecordedInTheTombstone) {
  Store s = Store::open(dir_ + "/db", fg::test::create());
  const std::string ann = enroll(s, "Ann", 0, 1);
  auto e = event_at(kNow, ann);
  s.append_event(e);
  const ForgetResult r = s.forget(ann, true);
  EXPECT_EQ(r.events_purged, 1u);
  EXPECT_TRUE(s.events(INT64_MIN, INT64_MAX).empty());
  ASSERT_EQ(s.tombstones().size(), 1u);
  EXPECT_TRUE(s.tombstones()[0].events_purged);
}

TEST_F(StorePrivacy, EventsKeptByAForgetCanBePurgedLaterOnce) {
  Store s = Store::open(dir_ + "/db", fg::test::create());
  const std::string ann = enroll(s, "Ann", 0, 1), bob = enroll(s, "Bob", 10, 1);
  for (auto e : {event_at(kNow, ann), event_at(kNow + 1, bob), event_at(kNow + 2, ann)}) s.append_event(e);
  s.forget(ann);
  const int64_t forgotten = s.tombstones()[0].forgotten_us;
  EXPECT_THROW(s.forget(ann), StoreError) << "forgotten already";

  const ForgetResult r = s.forget(ann, true);
  EXPECT_EQ(r.identity.id, ann);
  EXPECT_EQ(r.events_purged, 2u);
  const auto left = s.events(INT64_MIN, INT64_MAX);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].identity_id, bob);
  ASSERT_EQ(s.tombstones().size(), 1u);
  EXPECT_TRUE(s.tombstones()[0].events_purged) << "the next push purges remotely too";
  EXPECT_EQ(s.tombstones()[0].forgotten_us, forgotten);
  EXPECT_THROW(s.forget(ann, true), StoreError) << "nothing left to purge";
  EXPECT_THROW(s.forget(std::string(32, 'f'), true), StoreError) << "never existed";
}

TEST_F(StorePrivacy, AForgottenIdStaysDeadAcrossReopen) {
  std::string ann;
  {
    Store s = Store::open(dir_ + "/db", fg::test::create());
    Identity a;
    a.id = "ann-1";
    a.name = "Ann";
    ann = s.enroll(a, fg::test::fake_records(0, 1)).identity.id;
    s.forget(ann);
  }
  Store s = Store::open(dir_ + "/db");
  EXPECT_TRUE(s.is_forgotten(ann));
  Identity again;
  again.id = ann;
  again.name = "Ann";
  EXPECT_EQ(fg::test::store_error_of([&] { s.add_identity(again); }).kind(), ErrorKind::conflict);
  EXPECT_EQ(fg::test::store_error_of([&] { s.enroll(again, fg::test::fake_records(5, 1)); }).kind(),
            ErrorKind::conflict);
  // The person, enrolled anew, gets a new id.
  Identity fresh;
  fresh.name = "Ann";
  EXPECT_NE(s.enroll(fresh, fg::test::fake_records(6, 1)).identity.id, ann);
}

TEST_F(StorePrivacy, RememberForgottenRecordsATombstoneOnceAndRefusesALiveIdentity) {
  Store s = Store::open(dir_ + "/db", fg::test::create());
  Tombstone t;
  t.identity_id = "elsewhere-1";
  t.forgotten_us = kNow;
  EXPECT_TRUE(s.remember_forgotten(t));
  EXPECT_FALSE(s.remember_forgotten(t));
  EXPECT_TRUE(s.is_forgotten("elsewhere-1"));
  Identity b;
  b.name = "Bob";
  t.identity_id = s.enroll(b, fg::test::fake_records(0, 1)).identity.id;
  EXPECT_EQ(fg::test::store_error_of([&] { s.remember_forgotten(t); }).kind(), ErrorKind::conflict);
}

TEST_F(StorePrivacy, PruneDropsEventsOlderThanTheCutoffAndTheCutoffOnlyMovesForward) {
  Store s = Store::open(dir_ + "/db", fg::test::create());
  const std::string ann = enroll(s, "Ann", 0, 1);
  for (auto e :
       {event_at(kNow - 10 * kDay, ann), event_at(kNow - 6 * kDay, std::nullopt), event_at(kNow - 6 * kDay, ann, {}),
        event_at(kNow - 5 * kDay, ann), event_at(kNow - kDay, std::nullopt)})
    s.append_event(e);

  const PruneResult r = s.prune_events(kNow - 5 * kDay);
  EXPECT_EQ(r.attendance, 2u);
  EXPECT_EQ(r.unknown, 1u);
  EXPECT_EQ(r.thumbnails, 2u);
  const auto left = s.events(INT64_MIN, INT64_MAX);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].time_us, kNow - 5 * kDay) << "the cutoff itself is kept";
  EXPECT_EQ(s.pruned_before(), kNow - 5 * kDay);

  const PruneResult again = s.prune_events(kNow - 20 * kDay);
  EXPECT_EQ(again.attendance + again.unknown, 0u);
  EXPECT_EQ(s.pruned_before(), kNow - 5 * kDay);
}

TEST_F(StorePrivacy, TheDbDirectoryAndEveryFileInItAreOwnerOnlyWhateverTheUmask) {
  const mode_t old = ::umask(0);  // the loosest: without our care, files would be 0666
  {
    Store s = Store::open(dir_ + "/db", fg::test::create());
    enroll(s, "Ann", 0, 3);
    auto e = event_at(kNow, std::nullopt);
    s.append_event(e);
  }
  { Store s = Store::open(dir_ + "/db"); }  // reopening writes a new MANIFEST, OPTIONS and LOG
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  size_t files = 0;
  for (const auto& f : fs::recursive_directory_iterator(dir_ + "/db")) {
    ASSERT_EQ(::stat(f.path().c_str(), &st), 0);
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 077, 0u) << f.path();
    } else {
      EXPECT_EQ(st.st_mode & 07777, 0600u) << f.path();
      ++files;
    }
  }
  EXPECT_GT(files, 3u);
}

}  // namespace
