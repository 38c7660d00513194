// Privacy end to end, with real weights (the npm fixture) and the real ChromaDB server:
// every command that handles faces logs no face images or embeddings, the DB, its index and
// export-person's output are owner-only under a permissive umask, forget strips thumbnails
// and reaches the server, and retention drops old events from attend and from prune.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <regex>

#include "store/store.h"
#include "tests/e2e/npm_weights.h"
#include "tests/support/chroma_env.h"

namespace {

namespace fs = std::filesystem;
using fg::test::sh_quote;
using nlohmann::json;

constexpr int kSide = 200;
constexpr int64_t kDay = 86'400'000'000;

// What face data in a log would look like: a run of 8+ numbers with decimals (an embedding),
// a long base64 run (an image or a float array as bytes), or JPEG bytes or their base64 start.
std::string face_data_in(const std::string& text) {
  static const std::regex floats(R"((-?\d+\.\d+(e[-+]?\d+)?\s*,\s*){7,}-?\d+\.\d+)");
  static const std::regex b64(R"([A-Za-z0-9+/]{64,}={0,2})");
  std::smatch m;
  if (std::regex_search(text, m, floats)) return "a run of floats: " + m.str().substr(0, 80);
  if (std::regex_search(text, m, b64)) return "a base64 run: " + m.str().substr(0, 80);
  if (text.find("\xFF\xD8\xFF") != std::string::npos) return "JPEG bytes";
  if (text.find("/9j/") != std::string::npos) return "base64 JPEG";
  return "";
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 07777;
}

class PrivacyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!fg::test::npm_models(model_, detector_, why)) FG_SKIP_OR_FAIL_IN_CI(why);
    url_ = fg::test::chroma_url();
    if (url_.empty()) FG_SKIP_OR_FAIL_IN_CI("SKIPPED: no ChromaDB server (tests/chroma/start.sh needs node and npm)");
    data_ = fg::test::data_dir();
    if (data_.empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
    dir_ = fg::test::scratch_dir("privacy-cli");
    old_umask_ = ::umask(022);  // the usual default: world-readable unless we take care
  }
  void TearDown() override {
    ::umask(old_umask_);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  cv::Mat framed(const std::string& person, int n) const {
    cv::Mat photo = cv::imread(data_ + "/faces/people/" + person + "/" + person + std::to_string(n) + ".png");
    if (photo.empty()) throw std::runtime_error("cannot read photo " + std::to_string(n) + " of " + person);
    cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(110, 110, 110)), face;
    cv::resize(photo, face, {kSide, kSide}, 0, 0, cv::INTER_CUBIC);
    face.copyTo(frame(cv::Rect(220, 140, kSide, kSide)));
    return frame;
  }

  // Runs facegate; returns its exit code, and stdout + stderr in `log_`, checked for face data
  // unless the command was asked for embeddings.
  int facegate(const std::string& args, bool may_print_embeddings = false) {
    const int code =
        fg::test::run(fg::test::facegate_binary() + " " + args + " > " + dir_ + "/stdout 2> " + dir_ + "/stderr");
    log_ = fg::test::read_text(dir_ + "/stdout") + fg::test::read_text(dir_ + "/stderr");
    if (!may_print_embeddings) {
      const std::string found = face_data_in(log_);
      EXPECT_EQ(found, "") << "facegate " << args << " printed face data; its output:\n" << log_.substr(0, 2000);
    }
    return code;
  }
  std::string faces() const {
    return " --model " + sh_quote(model_) + " --detector " + sh_quote(detector_) + " --threads 2";
  }

  void append_old_event(const std::string& db, int64_t age_us) {
    fg::store::Store s = fg::store::Store::open(db);
    fg::store::Event e;
    e.time_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count() -
        age_us;
    e.camera = "door";
    e.kind = fg::store::EventKind::unknown;
    e.thumbnail_jpeg = {0xFF, 0xD8, 0xFF, 0xD9};
    s.append_event(e);
  }

  std::string model_, detector_, url_, data_, dir_, log_;
  mode_t old_umask_ = 0;
};

TEST_F(PrivacyCli, NoFaceDataInLogsOwnerOnlyFilesForgetEverywhereAndRetention) {
  for (const std::string person : {"howard", "penny"}) {
    fs::create_directories(dir_ + "/gallery/" + person);
    for (int n : {2, 3}) cv::imwrite(dir_ + "/gallery/" + person + "/" + std::to_string(n) + ".png", framed(person, n));
  }
  cv::imwrite(dir_ + "/probe.png", framed("howard", 1));
  const std::string db = dir_ + "/db";
  const std::string chroma =
      " --chroma " + sh_quote(url_) + " --collection " + sh_quote("privacy" + std::to_string(::getpid()));

  // The control: the detector sees embeddings where the user asked for them.
  ASSERT_EQ(facegate("embed --json" + faces() + " " + sh_quote(dir_ + "/probe.png"), true), 0) << log_;
  EXPECT_NE(face_data_in(log_), "") << "embed --json prints an embedding: " << log_.substr(0, 300);

  ASSERT_EQ(facegate("enroll " + sh_quote(dir_ + "/gallery") + " --db " + sh_quote(db) + faces()), 0) << log_;
  ASSERT_EQ(facegate("identify --json --db " + sh_quote(db) + faces() + " " + sh_quote(dir_ + "/probe.png")), 0)
      << log_;
  ASSERT_EQ(facegate("identify --db " + sh_quote(db) + faces() + " " + sh_quote(dir_ + "/probe.png")), 0) << log_;

  const std::string video = dir_ + "/door.avi";
  {
    cv::VideoWriter w(video, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, {640, 480});
    ASSERT_TRUE(w.isOpened());
    for (int f = 0; f < 30; ++f)
      w.write(f < 8    ? framed("howard", 1)
              : f < 16 ? cv::Mat(480, 640, CV_8UC3, cv::Scalar(110, 110, 110))
                       : framed("raj", 1));
  }
  append_old_event(db, 40 * kDay);
  ASSERT_EQ(facegate("attend --source " + sh_quote(video) + " --db " + sh_quote(db) + faces() +
                     " --camera-id door --events - --retention 30"),
            0)
      << log_;
  EXPECT_NE(log_.find("retention: dropped 0 attendance events and 1 unknown-face event (1 thumbnail)"),
            std::string::npos)
      << log_;
  EXPECT_NE(log_.find("\"kind\":\"attendance\""), std::string::npos) << "howard was logged: " << log_;

  ASSERT_EQ(facegate("sync --push --db " + sh_quote(db) + chroma), 0) << log_;
  ASSERT_EQ(facegate("sync --pull --db " + sh_quote(dir_ + "/copy") + chroma), 0) << log_;
  ASSERT_EQ(facegate("list --db " + sh_quote(db)), 0) << log_;
  append_old_event(db, kDay);  // an unknown face (uncalibrated, raj may pass for someone)
  // The folder is made when missing (owner-only), before the report prints a line.
  const std::string thumbs_dir = dir_ + "/thumbs/today";
  ASSERT_EQ(facegate("report --db " + sh_quote(db) + " --thumbnails " + sh_quote(thumbs_dir)), 0) << log_;
  EXPECT_EQ(mode_of(thumbs_dir), 0700u);
  size_t thumbs = 0;
  for (const auto& f : fs::directory_iterator(thumbs_dir)) {
    EXPECT_EQ(mode_of(f.path()), 0600u) << f.path();
    ++thumbs;
  }
  EXPECT_GE(thumbs, 1u) << "an unknown face with a thumbnail: " << log_;
  EXPECT_EQ(facegate("report --db " + sh_quote(db) + " --csv " + sh_quote(dir_ + "/missing/r.csv")), 1);
  EXPECT_EQ(log_.find("events:"), std::string::npos) << "nothing printed before the error: " << log_;
  EXPECT_NE(log_.find("missing is not a directory"), std::string::npos) << log_;

  // Owner-only, with umask 022.
  EXPECT_EQ(mode_of(db), 0700u);
  ASSERT_TRUE(fs::exists(db + "/facegate.index"));
  for (const auto& f : fs::recursive_directory_iterator(db)) {
    if (f.is_regular_file()) {
      EXPECT_EQ(mode_of(f.path()), 0600u) << f.path();
    }
  }
  EXPECT_EQ(mode_of(dir_ + "/copy"), 0700u);

  // Right of access.
  const std::string out = dir_ + "/howard.json";
  ASSERT_EQ(facegate("export-person howard --db " + sh_quote(db) + " -o " + sh_quote(out)), 0) << log_;
  EXPECT_EQ(mode_of(out), 0600u);
  const json exported = json::parse(fg::test::read_text(out));
  const std::string howard = exported["identity"]["id"];
  EXPECT_EQ(exported["images"].size(), 2u);
  EXPECT_EQ(exported["images"][0]["embedding"].size(), 128u);
  ASSERT_GE(exported["events"].size(), 1u);
  EXPECT_TRUE(exported["events"][0]["thumbnail_jpeg_base64"].is_string());
  EXPECT_EQ(facegate("export-person nobody --db " + sh_quote(db) + " -o " + sh_quote(dir_ + "/nobody.json")), 1);
  EXPECT_FALSE(fs::exists(dir_ + "/nobody.json"));

  // Forget: thumbnails gone locally, records gone remotely, and no pull brings them back.
  ASSERT_EQ(facegate("forget howard --db " + sh_quote(db)), 0) << log_;
  EXPECT_NE(log_.find(": 2 images, 1 event thumbnail removed;"), std::string::npos) << log_;
  {
    fg::store::OpenOptions o;
    o.read_only = true;
    const fg::store::Store s = fg::store::Store::open(db, o);
    size_t kept = 0;
    for (const auto& e : s.events(INT64_MIN, INT64_MAX)) {
      if (e.identity_id != howard) continue;
      ++kept;
      EXPECT_TRUE(e.thumbnail_jpeg.empty()) << "event " << e.seq;
    }
    EXPECT_GE(kept, 1u) << "events are kept as history";
  }
  // Changed mind: the kept events can go later, by the id forget printed.
  EXPECT_EQ(facegate("forget howard --db " + sh_quote(db) + " --purge-events"), 1) << "the name is gone";
  ASSERT_EQ(facegate("forget " + howard + " --db " + sh_quote(db) + " --purge-events"), 0) << log_;
  EXPECT_EQ(log_.rfind("purged ", 0), 0u) << log_;
  EXPECT_EQ(facegate("forget " + howard + " --db " + sh_quote(db) + " --purge-events"), 1) << "nothing left";
  EXPECT_NE(log_.find("forgotten already, its events purged"), std::string::npos) << log_;
  {
    fg::store::OpenOptions o;
    o.read_only = true;
    const fg::store::Store s = fg::store::Store::open(db, o);
    for (const auto& e : s.events(INT64_MIN, INT64_MAX)) EXPECT_NE(e.identity_id, howard) << "event " << e.seq;
  }
  ASSERT_EQ(facegate("sync --push --db " + sh_quote(db) + chroma), 0) << log_;
  EXPECT_NE(log_.find(" 2 deleted"), std::string::npos) << log_;
  ASSERT_EQ(facegate("sync --pull --db " + sh_quote(dir_ + "/copy") + chroma), 0) << log_;
  EXPECT_NE(log_.find("1 forgotten here"), std::string::npos) << "the other door forgets howard too: " << log_;
  ASSERT_EQ(facegate("sync --pull --db " + sh_quote(dir_ + "/fresh") + chroma), 0) << log_;
  ASSERT_EQ(facegate("list --db " + sh_quote(dir_ + "/fresh")), 0) << log_;
  EXPECT_EQ(log_.find("howard"), std::string::npos) << log_;
  EXPECT_NE(log_.find("penny"), std::string::npos) << log_;

  // Retention from cron.
  append_old_event(db, 10 * kDay);
  ASSERT_EQ(facegate("prune --db " + sh_quote(db) + " --retention 7"), 0) << log_;
  EXPECT_EQ(log_.rfind("dropped 0 attendance events and 1 unknown-face event (1 thumbnail) older than ", 0), 0u)
      << log_;
  EXPECT_EQ(facegate("prune --db " + sh_quote(db) + " --retention 0"), 2) << "0 days is a usage error";
}

// An older facegate enrolled folder names as they were: a Latin-1 "Renée" from a Windows share
// is stored as "Ren\xE9e", which is not UTF-8. export-person used to die on it with a raw
// nlohmann type_error 316 and no file; it must export, with those bytes escaped as the text
// "\xE9", list where in "invalid_utf8_escaped", and say so on stderr. Needs no model or server.
TEST(PrivacyCliExport, ANameStoredNotInUtf8IsExportedEscapedAndSaidSo) {
  const std::string dir = fg::test::scratch_dir("privacy-cli-latin1");
  const std::string db = dir + "/db", latin1 = "Ren\xe9" "e";
  std::string id;
  {
    fg::store::OpenOptions o;
    o.create_if_missing = true;
    o.model_id = "model-x:1";
    fg::store::Store s = fg::store::Store::open(db, o);
    fg::store::Identity who;
    who.name = latin1;
    fg::store::EmbeddingRecord r;
    r.image_path = "/share/" + latin1 + "/1.jpg";
    r.content_hash = std::string(64, 'a');
    r.embedding = {0.5f, 1.f, -0.5f, 0.25f};
    std::vector<fg::store::EmbeddingRecord> records;
    records.push_back(std::move(r));
    id = s.enroll(who, std::move(records)).identity.id;
    fg::store::Event e;
    e.time_us = 1'750'000'000'000'000;
    e.camera = "door";
    e.kind = fg::store::EventKind::attendance;
    e.identity_id = id;
    e.name = latin1;
    s.append_event(e);
  }
  const std::string out = dir + "/out.json", log = dir + "/log";
  for (const std::string& who : {id, latin1}) {
    std::filesystem::remove(out);
    const int code = fg::test::run(fg::test::facegate_binary() + " export-person " + sh_quote(who) + " --db " +
                                   sh_quote(db) + " -o " + sh_quote(out) + " > " + sh_quote(log) + " 2>&1");
    const std::string said = fg::test::read_text(log);
    ASSERT_EQ(code, 0) << said;
    EXPECT_EQ(said.find("json.exception"), std::string::npos) << said;
    EXPECT_NE(said.find("warning: the DB holds bytes that are not valid UTF-8"), std::string::npos) << said;
    EXPECT_NE(said.find("/identity/name"), std::string::npos) << said;
    EXPECT_NE(said.find("Ren\\xE9e (" + id + "): 1 image, 1 event -> " + out), std::string::npos) << said;
    const json doc = json::parse(fg::test::read_text(out));
    EXPECT_EQ(doc["identity"]["id"], id);
    EXPECT_EQ(doc["identity"]["name"], "Ren\\xE9e");
    EXPECT_EQ(doc["images"][0]["image_path"], "/share/Ren\\xE9e/1.jpg");
    EXPECT_EQ(doc["events"][0]["name"], "Ren\\xE9e");
    EXPECT_EQ(doc["invalid_utf8_escaped"], json({"/events/0/name", "/identity/name", "/images/0/image_path"}));
  }
  fs::remove_all(dir);
}

}  // namespace
