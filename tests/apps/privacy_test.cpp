// Privacy in the apps layer: export-person (right of access), retention, owner-only outputs
// and index file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "apps/atomic_file.h"
#include "apps/gallery.h"
#include "apps/person_export.h"
#include "apps/retention.h"
#include "store/store.h"
#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using namespace fg;
using nlohmann::json;

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kNow = 1'750'000'000'000'000;

store::EmbeddingRecord image(unsigned n) {
  store::EmbeddingRecord r;
  r.image_path = "gallery/" + std::to_string(n) + ".jpg";
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016x", n);
  r.content_hash = std::string(hash) + std::string(48, 'b');
  r.embedding = {0.25f * n, 1.f, -0.5f, 0.125f};
  r.box = std::array<float, 4>{1.f, 2.f, 30.f + n, 40.f};
  return r;
}

store::Event event(int64_t t, const std::optional<std::string>& who, std::vector<uint8_t> thumb) {
  store::Event e;
  e.time_us = t;
  e.camera = "door";
  e.kind = who ? store::EventKind::attendance : store::EventKind::unknown;
  e.identity_id = who;
  e.name = who ? "Ann" : "";
  e.score = 0.75f;
  e.frames = 3;
  e.thumbnail_jpeg = std::move(thumb);
  return e;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 07777;
  return st.st_mode & 07777;
}

class AppsPrivacy : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fg::test::scratch_dir("apps-privacy"); }
  void TearDown() override { fs::remove_all(dir_); }

  store::Store make_db() {
    store::OpenOptions o;
    o.create_if_missing = true;
    o.model_id = "model-x:1";
    return store::Store::open(dir_ + "/db", o);
  }
  std::string dir_;
};

TEST(Base64, KnownVectors) {
  const auto b = [](const std::string& s) { return apps::base64(std::vector<uint8_t>(s.begin(), s.end())); };
  EXPECT_EQ(b(""), "");
  EXPECT_EQ(b("f"), "Zg==");
  EXPECT_EQ(b("fo"), "Zm8=");
  EXPECT_EQ(b("foo"), "Zm9v");
  EXPECT_EQ(b("foobar"), "Zm9vYmFy");
  EXPECT_EQ(apps::base64({0xFF, 0xD8, 0xFF, 0xE0}), "/9j/4A==");
}

TEST_F(AppsPrivacy, ExportPersonHoldsEverythingAboutThePersonAndNothingAboutOthers) {
  store::Store s = make_db();
  store::Identity ann, bob;
  ann.name = "Ann";
  ann.extra_json = R"({"badge": 17})";
  bob.name = "Bob";
  const std::string ann_id = s.enroll(ann, {image(1), image(2)}).identity.id;
  const std::string bob_id = s.enroll(bob, {image(3)}).identity.id;
  for (auto e : {event(kNow, ann_id, {0xFF, 0xD8, 0xFF, 0xE0}), event(kNow + 1, bob_id, {1, 2, 3}),
                 event(kNow + 2, std::nullopt, {4, 5, 6}), event(kNow + 3, ann_id, {})})
    s.append_event(e);

  const json doc = apps::export_person(s, "Ann", kNow + kDay);
  EXPECT_EQ(doc["format"], "facegate-person-export");
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["identity"]["id"], ann_id);
  EXPECT_EQ(doc["identity"]["name"], "Ann");
  EXPECT_EQ(doc["identity"]["extra"]["badge"], 17);
  ASSERT_EQ(doc["images"].size(), 2u);
  EXPECT_EQ(doc["images"][0]["image_path"], "gallery/1.jpg");
  EXPECT_EQ(doc["images"][0]["model_id"], "model-x:1");
  EXPECT_EQ(doc["images"][0]["embedding"].get<std::vector<float>>(), image(1).embedding);
  EXPECT_EQ(doc["images"][1]["box"][2], 32.f);
  ASSERT_EQ(doc["events"].size(), 2u) << "Ann's attendance events only";
  EXPECT_EQ(doc["events"][0]["thumbnail_jpeg_base64"], "/9j/4A==");
  EXPECT_TRUE(doc["events"][1]["thumbnail_jpeg_base64"].is_null());
  EXPECT_EQ(doc["events"][0]["kind"], "attendance");
  const std::string text = doc.dump();
  EXPECT_EQ(text.find(bob_id), std::string::npos);
  EXPECT_EQ(text.find("Bob"), std::string::npos);
  EXPECT_EQ(text.find("BAUG"), std::string::npos) << "the unknown face's thumbnail";

  EXPECT_EQ(apps::export_person(s, ann_id, kNow)["identity"]["name"], "Ann") << "by id too";
  EXPECT_THROW(apps::export_person(s, "Nobody", kNow), std::runtime_error);

  // Forgotten, events kept as history: they are still Ann's data, found by id or by name.
  s.forget(ann_id, /*purge_events=*/false);
  for (const std::string& key : {std::string("Ann"), ann_id}) {
    const json gone = apps::export_person(s, key, kNow + kDay);
    EXPECT_EQ(gone["identity"]["id"], ann_id) << key;
    EXPECT_EQ(gone["identity"]["name"], "Ann") << key;
    EXPECT_TRUE(gone["identity"].contains("forgotten")) << key;
    EXPECT_TRUE(gone["images"].empty()) << key;
    ASSERT_EQ(gone["events"].size(), 2u) << key;
    EXPECT_TRUE(gone["events"][0]["thumbnail_jpeg_base64"].is_null()) << "forget stripped it";
    EXPECT_EQ(gone.dump().find(bob_id), std::string::npos);
  }
  s.forget(ann_id, /*purge_events=*/true);
  EXPECT_THROW(apps::export_person(s, "Ann", kNow), std::runtime_error) << "nothing left under the name";
  const json bare = apps::export_person(s, ann_id, kNow);
  EXPECT_TRUE(bare["identity"]["name"].is_null());
  EXPECT_TRUE(bare["events"].empty());
}

TEST_F(AppsPrivacy, RetentionDropsWhatIsOlderAndSaysSo) {
  store::Store s = make_db();
  store::Identity ann;
  ann.name = "Ann";
  const std::string id = s.enroll(ann, {image(1)}).identity.id;
  for (auto e : {event(kNow - 10 * kDay, id, {1}), event(kNow - 8 * kDay, std::nullopt, {2}),
                 event(kNow - 8 * kDay, std::nullopt, {}), event(kNow - 2 * kDay, id, {3})})
    s.append_event(e);
  EXPECT_EQ(apps::retention_cutoff_us(7, kNow), kNow - 7 * kDay);
  EXPECT_EQ(apps::retention_cutoff_us(0.5, kNow), kNow - kDay / 2);
  const std::string said = apps::apply_retention(s, 7, kNow);
  EXPECT_EQ(said.rfind("dropped 1 attendance event and 2 unknown-face events (2 thumbnails) older than ", 0), 0u)
      << said;
  EXPECT_NE(said.find("(7 days)"), std::string::npos) << said;
  const auto left = s.events(INT64_MIN, INT64_MAX);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].time_us, kNow - 2 * kDay);
  EXPECT_EQ(apps::apply_retention(s, 7, kNow).rfind("dropped 0 attendance events and 0 unknown-face events", 0), 0u);
  const std::string one_day = apps::apply_retention(s, 1, kNow);
  EXPECT_EQ(one_day.rfind("dropped 1 attendance event and 0 unknown-face events (1 thumbnail) older than ", 0), 0u)
      << one_day;
  EXPECT_NE(one_day.find("(1 day)"), std::string::npos) << one_day;
}

TEST_F(AppsPrivacy, RetentionOptionIsCheckedAsAUsageError) {
  const auto parse = [](std::vector<std::string> argv) {
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    cli::Args args(static_cast<int>(raw.size()), raw.data(), {"--retention"}, {});
    return apps::parse_retention(args);
  };
  EXPECT_EQ(parse({}), std::nullopt);
  EXPECT_EQ(parse({"--retention", "30"}), 30.0);
  EXPECT_EQ(parse({"--retention", "0.5"}), 0.5);
  for (const char* bad : {"0", "-1", "abc", "7d", "nan", "1e9"})
    EXPECT_THROW(parse({"--retention", bad}), cli::UsageError) << bad;
}

TEST_F(AppsPrivacy, OwnerOnlyOutputsAndTheIndexFileAre0600WhateverTheUmask) {
  const mode_t old = ::umask(0);
  apps::write_file_atomic(dir_ + "/export.json", "{}", /*owner_only=*/true);
  apps::write_file_atomic(dir_ + "/report.csv", "a,b\n");
  {
    apps::GalleryOptions go;
    go.create = true;
    go.model_id = "model-x:1";
    apps::Gallery g = apps::Gallery::open(dir_ + "/db", go);
    store::Identity ann;
    ann.name = "Ann";
    g.added(g.store().enroll(ann, {image(1), image(2)}));
  }
  ::umask(old);
  EXPECT_EQ(mode_of(dir_ + "/export.json"), 0600u);
  EXPECT_EQ(mode_of(dir_ + "/report.csv"), 0666u) << "other outputs keep following the umask";
  EXPECT_EQ(mode_of(dir_ + "/db"), 0700u);
  ASSERT_TRUE(fs::exists(dir_ + "/db/facegate.index"));
  EXPECT_EQ(mode_of(dir_ + "/db/facegate.index"), 0600u);
}

}  // namespace
