// facegate attend / report end to end: videos composed from the shared face photos with a
// known script of who appears when, the random-weight ResNet-50 of the parity fixture and
// facenet-pytorch's MTCNN. With random weights only near-identical crops score near 1, so
// people are enrolled from frames of the very video (decoded back), and the threshold is set
// between that and what a different face scores.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <csignal>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "apps/attend/annotate.h"
#include "store/store.h"
#include "tests/e2e/e2e_suite.h"
#include "tests/e2e/facegate_process.h"
#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using fg::test::Result;
using fg::test::run_facegate;
using fg::test::sh_quote;
using nlohmann::json;

constexpr double kFps = 10;
constexpr int kFaceSide = 200;  // the 150 px crops, scaled up: MTCNN needs the face's margin
const cv::Point kLeft(60, 140), kRight(380, 140);

// Who is where, in frames [from, to).
struct Appearance {
  std::string person;  // people/<person>/<person>1.png
  cv::Point at;
  int from, to;
};

struct Suite {
  std::string data, dir, model, mtcnn, base_db;
};
Suite* g_suite = nullptr;

cv::Mat face(const std::string& data, const std::string& person) {
  cv::Mat img = cv::imread(data + "/faces/people/" + person + "/" + person + "1.png");
  if (img.empty()) throw std::runtime_error("cannot read the photo of " + person);
  cv::resize(img, img, {kFaceSide, kFaceSide}, 0, 0, cv::INTER_CUBIC);
  return img;
}

// An MJPG AVI of `frames` 640x480 frames at kFps: grey, with the script's faces pasted in.
void write_video(const std::string& path, int frames, const std::vector<Appearance>& script) {
  std::map<std::string, cv::Mat> photos;
  for (const auto& a : script) {
    if (!photos.count(a.person)) photos[a.person] = face(g_suite->data, a.person);
  }
  cv::VideoWriter w(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), kFps, {640, 480});
  if (!w.isOpened()) throw std::runtime_error("cannot write " + path);
  for (int f = 0; f < frames; ++f) {
    cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(110, 110, 110));
    for (const auto& a : script) {
      if (f >= a.from && f < a.to) photos[a.person].copyTo(frame(cv::Rect(a.at, cv::Size(kFaceSide, kFaceSide))));
    }
    w.write(frame);
  }
}

// Frame `n` of the video, decoded as attend will see it.
cv::Mat decoded_frame(const std::string& path, int n) {
  cv::VideoCapture cap(path);
  cv::Mat frame;
  for (int i = 0; i <= n; ++i) {
    if (!cap.read(frame)) throw std::runtime_error(path + " has no frame " + std::to_string(n));
  }
  return frame;
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out.push_back(json::parse(line));
  return out;
}

// The script every test but the bench uses. Amy comes three times: at 0.5 s, again 4.5 s
// later (inside the 5 s cooldown) and 7.5 s later (after it); howard and penny together;
// raj, who is not enrolled, alone. The video opens with empty frames because OpenCV's MJPG
// writer encodes the first frame a little differently, and with random weights a few grey
// levels already cost more cosine than the threshold allows.
const std::vector<Appearance> kScript = {
    {"amy", kLeft, 5, 11},      {"howard", kRight, 20, 26}, {"penny", kLeft, 20, 26},
    {"raj", kRight, 35, 41},    {"amy", kLeft, 50, 56},     {"amy", kLeft, 80, 86},
};
constexpr int kScriptFrames = 90;
// The frame each enrolled person is enrolled from, and the half of it they are in (the other
// half is blanked: enroll takes the largest face of an image).
const std::map<std::string, std::pair<int, cv::Point>> kEnrollFrames = {
    {"amy", {7, kLeft}}, {"howard", {22, kRight}}, {"penny", {22, kLeft}}};

class Attend : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_suite = fg::test::new_suite<Suite>("attend-suite");
    if (!g_suite) return;
    const std::string d = g_suite->dir;
    fg::test::convert_models(g_suite->data, d, g_suite->model, g_suite->mtcnn);
    write_video(d + "/script.avi", kScriptFrames, kScript);
    for (const auto& [person, where] : kEnrollFrames) {
      fs::create_directories(d + "/gallery/" + person);
      cv::Mat img = decoded_frame(d + "/script.avi", where.first);
      const cv::Rect other = where.second == kLeft ? cv::Rect(320, 0, 320, 480) : cv::Rect(0, 0, 320, 480);
      img(other).setTo(cv::Scalar(110, 110, 110));
      cv::imwrite(d + "/gallery/" + person + "/frame.png", img);
    }
    g_suite->base_db = d + "/base.db";
    const Result r =
        run_facegate("enroll " + sh_quote(d + "/gallery") + " --db " + sh_quote(g_suite->base_db) + " --model " +
                         sh_quote(g_suite->model) + " --detector " + sh_quote(g_suite->mtcnn) + " --threads 2",
                     d);
    if (r.code != 0) throw std::runtime_error("enroll failed: " + r.err);
  }
  static void TearDownTestSuite() { fg::test::drop_suite(g_suite); }

  void SetUp() override {
    if (!g_suite) {
      fg::test::skip_or_fail_without_suite();
      return;
    }
    dir_ = fg::test::test_scratch_dir("attend-");
    db_ = dir_ + "/db";
    fs::copy(g_suite->base_db, db_, fs::copy_options::recursive);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string attend_args(const std::string& source, const std::string& extra = "") const {
    return "attend --source " + sh_quote(source) + " --db " + sh_quote(db_) + " --model " + sh_quote(g_suite->model) +
           " --detector " + sh_quote(g_suite->mtcnn) + " --threads 2 --camera-id door --cooldown 5 " +
           "--threshold " + kThreshold + " " + extra;
  }
  Result attend(const std::string& source, const std::string& extra = "") {
    return run_facegate(attend_args(source, extra), dir_);
  }

  std::vector<fg::store::Event> stored_events() const {
    fg::store::OpenOptions o;
    o.read_only = true;
    return fg::store::Store::open(db_, o).events(INT64_MIN, INT64_MAX);
  }

  // The script's events, exactly: amy, howard + penny, raj as unknown, amy again after the
  // cooldown; each decided on the third frame of its appearance.
  void expect_script_events(const std::vector<json>& events) {
    struct Want {
      std::string kind, name;
      double video_time;
    };
    const std::vector<Want> want = {{"attendance", "amy", 0.7},
                                    {"attendance", "howard", 2.2},
                                    {"attendance", "penny", 2.2},
                                    {"unknown", "", 3.7},
                                    {"attendance", "amy", 8.2}};
    std::vector<json> got = events;
    std::stable_sort(got.begin(), got.end(), [](const json& a, const json& b) {
      return std::make_pair(a["video_time"].get<double>(), a["name"].is_null() ? "" : a["name"].get<std::string>()) <
             std::make_pair(b["video_time"].get<double>(), b["name"].is_null() ? "" : b["name"].get<std::string>());
    });
    ASSERT_EQ(got.size(), want.size()) << json(events).dump(1);
    for (size_t i = 0; i < want.size(); ++i) {
      SCOPED_TRACE("event " + std::to_string(i) + ": " + got[i].dump());
      EXPECT_EQ(got[i]["kind"], want[i].kind);
      EXPECT_EQ(got[i]["camera"], "door");
      EXPECT_NEAR(got[i]["video_time"].get<double>(), want[i].video_time, 1e-6);
      EXPECT_EQ(got[i]["video_time"].dump(), json(want[i].video_time).dump()) << "printed without float noise";
      EXPECT_EQ(got[i]["frames"], 3);
      const std::string time = got[i]["time"];
      EXPECT_TRUE(time.size() == 29 && time[10] == 'T' && (time[23] == '+' || time[23] == '-')) << time;
      if (want[i].kind == "attendance") {
        EXPECT_EQ(got[i]["name"], want[i].name);
        EXPECT_TRUE(got[i]["id"].is_string());
        EXPECT_GT(got[i]["score"].get<double>(), 0.999);
      } else {
        EXPECT_TRUE(got[i]["name"].is_null());
        EXPECT_TRUE(got[i]["id"].is_null());
        EXPECT_LT(got[i]["score"].get<double>(), std::stod(kThreshold));
      }
    }
  }

  // Every reported event is in the DB, with the same content.
  void expect_reported_are_stored(const std::vector<json>& reported) {
    std::map<uint64_t, fg::store::Event> by_seq;
    for (auto& e : stored_events()) by_seq[e.seq] = e;
    for (const json& r : reported) {
      auto it = by_seq.find(r["seq"].get<uint64_t>());
      ASSERT_NE(it, by_seq.end()) << "reported but not stored: " << r.dump();
      EXPECT_EQ(it->second.name, r["name"].is_null() ? "" : r["name"].get<std::string>());
      EXPECT_NEAR(*it->second.video_time_s, r["video_time"].get<double>(), 1e-9);
      EXPECT_EQ(it->second.camera, r["camera"]);
    }
  }

  static constexpr const char* kThreshold = "0.9";
  std::string dir_, db_;
};

TEST_F(Attend, ScriptedVideoGivesExactlyTheExpectedEventsEvenWithACorruptFrame) {
  const std::string video = g_suite->dir + "/script.avi";
  Result r =
      attend(video, "--events " + sh_quote(dir_ + "/events.jsonl") + " --output " + sh_quote(dir_ + "/annotated.avi"));
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<json> events = json_lines(fg::test::read_text(dir_ + "/events.jsonl"));
  expect_script_events(events);
  EXPECT_NE(r.err.find("stopped (end of file): 90 frames (0 dropped, 0 unreadable)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("5 events (4 attendance, 1 unknown; 1 repeat within cooldown)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mean "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("its header declares"), std::string::npos) << "a whole file is not cut short: " << r.err;
  // Progress on the file: a line per tenth of its frames, the last one whole.
  std::vector<int> progress;
  const std::regex progress_line(R"(facegate attend: frames: (\d+)/90 \((\d+)%\))");
  for (std::sregex_iterator it(r.err.begin(), r.err.end(), progress_line), end; it != end; ++it)
    progress.push_back(std::stoi((*it)[1]));
  EXPECT_EQ(progress, (std::vector<int>{9, 18, 27, 36, 45, 54, 63, 72, 81, 90})) << r.err;

  const auto stored = stored_events();
  ASSERT_EQ(stored.size(), 5u);
  expect_reported_are_stored(events);
  for (const auto& e : stored) EXPECT_FALSE(e.thumbnail_jpeg.empty()) << e.name;

  cv::VideoCapture annotated(dir_ + "/annotated.avi");
  ASSERT_TRUE(annotated.isOpened());
  EXPECT_EQ(annotated.get(cv::CAP_PROP_FRAME_COUNT), kScriptFrames);
  // The processing FPS is shown in a --display window only: a file's annotated video does not
  // depend on the machine, and the first frames (no faces) are the video's grey.
  cv::Mat first;
  ASSERT_TRUE(annotated.read(first));
  double darkest = 0, brightest = 0;
  cv::minMaxLoc(first(cv::Rect(0, 0, 200, 40)).reshape(1), &darkest, &brightest);
  EXPECT_LT(brightest, 140) << "something drawn in the top-left corner of a frame without faces";

  // Again, with a corrupt frame, --display where there is no display, and events on stdout:
  // the frame is skipped, the run is headless, and the decisions are the same (the video's
  // clock, not the machine's); the events are appended to the DB.
  const std::string corrupt = dir_ + "/corrupt.avi";
  std::string bytes = fg::test::read_text(video);
  std::vector<size_t> jpegs;  // where each frame's JPEG starts
  for (size_t i = 0; i + 2 < bytes.size(); ++i) {
    if (bytes[i] == '\xFF' && bytes[i + 1] == '\xD8' && bytes[i + 2] == '\xFF') jpegs.push_back(i);
  }
  ASSERT_EQ(jpegs.size(), static_cast<size_t>(kScriptFrames));
  // Frame 15, between two appearances: its JPEG (not the chunk headers around it) garbled.
  for (size_t i = jpegs[15]; i < jpegs[16] - 16; ++i) bytes[i] = 0x55;
  std::ofstream(corrupt, std::ios::binary) << bytes;
  r = run_facegate(attend_args(corrupt, "--display --events -"), dir_, "env -u DISPLAY -u WAYLAND_DISPLAY ");
  ASSERT_EQ(r.code, 0) << r.err;
  expect_script_events(json_lines(r.out));
  EXPECT_NE(r.err.find("--display: no display here"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("89 frames (0 dropped, 1 unreadable)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: 1 frame of '" + corrupt + "' could not be decoded: the file may be damaged"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("[mjpeg"), std::string::npos) << "FFmpeg's own log stays quiet: " << r.err;
  EXPECT_EQ(stored_events().size(), 10u);

  r = run_facegate("report --db " + sh_quote(db_) + " --camera door --csv " + sh_quote(dir_ + "/report.csv") +
                       " --thumbnails " + sh_quote(dir_),
                   dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("10 events: attendance of 3 people, 2 unknown"), std::string::npos) << r.out;
  const std::string csv = fg::test::read_text(dir_ + "/report.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6) << csv;  // header, 3 people, 2 unknown
  EXPECT_NE(csv.find("attendance,amy,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",4,"), std::string::npos) << "amy: 2 events a run, 2 runs: " << csv;
  EXPECT_NE(csv.find("unknown,,,1,"), std::string::npos) << csv;
  EXPECT_FALSE(cv::imread(dir_ + "/unknown-4.jpg").empty()) << "the unknown face's thumbnail, for review";

  // --per-day: one row per (local day, person). One of amy's events copied two days back is
  // a day of its own; per person the day rows add up to the attendance row.
  {
    fg::store::Event back;
    for (const auto& e : stored_events())
      if (e.kind == fg::store::EventKind::attendance && e.name == "amy") back = e;
    back.time_us -= int64_t{2} * 86'400'000'000;
    fg::store::Store::open(db_).append_event(back, /*sync=*/true);
  }
  r = run_facegate("report --db " + sh_quote(db_) + " --camera door --per-day --csv " + sh_quote(dir_ + "/days.csv"),
                   dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("attendance per day:"), std::string::npos) << r.out;
  std::map<std::string, int> person_total, day_total;
  std::set<std::string> amy_days, day_keys;
  std::istringstream rows(fg::test::read_text(dir_ + "/days.csv"));
  for (std::string line; std::getline(rows, line);) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f.size() < 6 || (f[0] != "attendance" && f[0] != "day")) continue;
    (f[0] == "day" ? day_total : person_total)[f[1]] += std::stoi(f[3]);
    if (f[0] != "day") continue;
    EXPECT_EQ(f[4].substr(0, 10), f[5].substr(0, 10)) << "first and last seen on the row's day: " << line;
    EXPECT_TRUE(day_keys.insert(f[4].substr(0, 10) + " " + f[1]).second) << "one row per day and person: " << line;
    if (f[1] == "amy") amy_days.insert(f[4].substr(0, 10));
  }
  EXPECT_EQ(day_total, person_total);
  EXPECT_EQ(person_total["amy"], 5);
  EXPECT_GE(amy_days.size(), 2u);

  r = run_facegate("report --db " + sh_quote(db_) + " --camera elsewhere", dir_);
  EXPECT_NE(r.out.find("0 events"), std::string::npos) << r.out;
  r = run_facegate("report --db " + sh_quote(db_) + " --since 2000-01-01 --until 2000-01-02T00:00+02:00", dir_);
  EXPECT_NE(r.out.find("0 events"), std::string::npos) << r.out;
  r = run_facegate("report --db " + sh_quote(db_) + " --since yesterday", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--since: got 'yesterday'"), std::string::npos) << r.err;
}

// A name an older facegate stored as it was (a Latin-1 "Renée" folder), and a video whose file
// name is Latin-1 too: the start line shows the name escaped, and the threshold as --threshold
// gave it (as calibrate prints one); the --events lines carry the byte as the text "\xE9", not
// U+FFFD.
TEST_F(Attend, NamesNotInUtf8AreEscapedInTheEventsAndOnStderr) {
  {
    fg::store::Store s = fg::store::Store::open(db_);
    const auto amy = s.find_identity("amy");
    ASSERT_TRUE(amy);
    std::vector<fg::store::EmbeddingRecord> images = s.embeddings_of(amy->id);
    s.forget(amy->id);
    fg::store::Identity renamed;
    renamed.name = "Ren\xe9" "e";
    s.enroll(renamed, std::move(images));
  }
  const std::string video = dir_ + "/Caf\xe9.avi";
  fs::create_symlink(g_suite->dir + "/script.avi", video);
  const Result r = attend(video, "--events -");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("facegate attend: camera 'door', file source " + dir_ + "/Caf\\xE9.avi ("), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("; threshold 0.9 (--threshold), cooldown 5s"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\xe9'), std::string::npos) << "a raw byte: " << r.err;
  std::multiset<std::string> names;
  for (const json& e : json_lines(r.out))
    if (e["kind"] == "attendance") names.insert(e["name"].get<std::string>());
  EXPECT_EQ(names, (std::multiset<std::string>{"Ren\\xE9e", "Ren\\xE9e", "howard", "penny"})) << r.out;
}

// A file cut short (a copy interrupted, a disk full) reads like one that ended: what it holds
// is processed, and the warning compares the frames read with its header's count.
TEST_F(Attend, VideoCutShortIsProcessedAndNamed) {
  std::string bytes = fg::test::read_text(g_suite->dir + "/script.avi");
  size_t frame45 = 0;  // the 46th JPEG's start: the file is cut inside it
  for (size_t i = 0, seen = 0; i + 2 < bytes.size() && !frame45; ++i)
    if (bytes[i] == '\xFF' && bytes[i + 1] == '\xD8' && bytes[i + 2] == '\xFF' && seen++ == 45) frame45 = i;
  ASSERT_GT(frame45, 0u);
  const std::string cut = dir_ + "/cut.avi";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, frame45 + 200);
  const Result r = attend(cut, "--events -");
  ASSERT_EQ(r.code, 0) << r.err;
  // The first four of the script's events lie before frame 45 (amy, howard, penny, raj).
  EXPECT_EQ(json_lines(r.out).size(), 4u) << r.out;
  EXPECT_NE(r.err.find("stopped (end of file): 45 frames"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: '" + cut + "' ended after 45 of the 90 frames its header declares: the file may be "
                       "cut short or damaged"),
            std::string::npos)
      << r.err;
}

// --output on a disk that fills: a 66 MiB tmpfs of the test's own (a mount namespace), so
// that 64 KiB of video (a few dozen of the script's 90 frames) reach the 64 MiB left free.
// The video is closed there, valid and short; every event is still recorded (the DB is
// elsewhere); the exit status says so. Run again on the disk left under 64 MiB free, attend
// refuses to start.
TEST_F(Attend, OutputVideoStopsBeforeItsDiskIsFull) {
  const std::string mnt = dir_ + "/small-disk", copy = dir_ + "/copy.avi";
  fs::create_directory(mnt);
  const std::string ns = ::geteuid() == 0 ? "unshare -m " : "unshare -rm ";
  const std::string probe = ns + "sh -c " + sh_quote("mount -t tmpfs -o size=1m tmpfs " + sh_quote(mnt));
  if (fg::test::run(probe + " > " + sh_quote(dir_ + "/probe.log") + " 2>&1") != 0) {
    const std::string why = probe + ": " + fg::test::read_text(dir_ + "/probe.log");
    if (fg::test::in_ci()) FAIL() << "cannot mount a tmpfs in a mount namespace: " << why;
    GTEST_SKIP() << "SKIPPED: cannot mount a tmpfs in a mount namespace here (needs root or user namespaces): " << why;
  }
  const uint64_t filler_kib = (66 << 10) - (fg::apps::attend::Annotator::kOutputReserve >> 10) - 64;
  // Run twice in the namespace: with 64 KiB above the reserve, then with the disk already
  // under it (the old video still there): refused at start, nothing run.
  const std::string out = mnt + "/annotated.avi";
  const auto run = [&](int n) {
    const std::string k = std::to_string(n);
    return fg::test::facegate_binary() + " " +
           attend_args(g_suite->dir + "/script.avi", "--events - --output " + sh_quote(out)) + " > " +
           sh_quote(dir_ + "/stdout" + k) + " 2> " + sh_quote(dir_ + "/stderr" + k) + "; echo $? > " +
           sh_quote(dir_ + "/rc" + k);
  };
  const std::string script = "mount -t tmpfs -o size=66m tmpfs " + sh_quote(mnt) + " && dd if=/dev/zero of=" +
                             sh_quote(mnt + "/filler") + " bs=1K count=" + std::to_string(filler_kib) +
                             " status=none && " + run(1) + " && cp " + sh_quote(out) + " " + sh_quote(copy) + " && " +
                             run(2);
  ASSERT_EQ(fg::test::run(ns + "sh -c " + sh_quote(script)), 0) << script;
  const std::string err = fg::test::read_text(dir_ + "/stderr1"), err2 = fg::test::read_text(dir_ + "/stderr2");
  EXPECT_EQ(fg::test::read_text(dir_ + "/rc1"), "1\n") << err;
  EXPECT_EQ(fg::test::read_text(dir_ + "/rc2"), "1\n") << err2;
  EXPECT_NE(err2.find("--output " + out + ": only 63 MiB free on its disk; attend keeps 64 MiB free there for "
                      "the events"),
            std::string::npos)
      << err2;
  EXPECT_EQ(fg::test::read_text(dir_ + "/stdout2"), "") << "refused before any frame";
  expect_script_events(json_lines(fg::test::read_text(dir_ + "/stdout1")));
  std::smatch m;
  const std::regex cut("warning: --output " + out +
                       ": less than 64 MiB left on its disk; the annotated video stops after (\\d+) frames? "
                       "\\(events are still recorded\\)");
  ASSERT_TRUE(std::regex_search(err, m, cut)) << err;
  const int written = std::stoi(m[1]);
  EXPECT_GT(written, 0) << err;
  EXPECT_LT(written, kScriptFrames) << err;
  EXPECT_NE(err.find("--output " + out + " holds only the first " + std::to_string(written) +
                     (written == 1 ? " frame" : " frames") + ": its disk was nearly full"),
            std::string::npos)
      << err;
  cv::VideoCapture video(copy);
  ASSERT_TRUE(video.isOpened()) << "the cut video is not a valid file";
  EXPECT_EQ(video.get(cv::CAP_PROP_FRAME_COUNT), written);
  int decoded = 0;
  for (cv::Mat f; video.read(f);) ++decoded;
  EXPECT_EQ(decoded, written);
}

// attend in the background on a long video where someone is decided every second of video,
// signalled once two more events are reported.
TEST_F(Attend, KillDashNineLosesNoReportedEventAndSigtermStopsCleanly) {
  std::vector<Appearance> script;
  const std::vector<std::string> people = {"amy", "howard", "penny"};
  for (int i = 0; i < 40; ++i) script.push_back({people[i % 3], i % 3 == 1 ? kRight : kLeft, 10 * i, 10 * i + 6});
  const std::string video = dir_ + "/long.avi";
  write_video(video, 400, script);
  const std::string events = dir_ + "/events.jsonl";

  for (const int sig : {SIGKILL, SIGTERM}) {
    SCOPED_TRACE(sig == SIGKILL ? "kill -9" : "SIGTERM");
    const size_t before = json_lines(fg::test::read_text(events)).size();
    fg::test::Child child(attend_args(video, "--events " + sh_quote(events)), dir_ + "/stdout", dir_ + "/stderr");
    // No time limit of our own but a generous one (a sanitizer build takes ~30 s per event
    // here); the wait ends as soon as the process does, whatever the reason.
    child.wait_for([&] { return json_lines(fg::test::read_text(events)).size() >= before + 2; },
                   std::chrono::milliseconds(20), std::chrono::seconds(500));
    const int status = child.signal_and_wait(sig);
    if (sig == SIGKILL) {
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
          << "it finished before the kill: make the video longer";
    } else {
      ASSERT_TRUE(WIFEXITED(status)) << status;
      EXPECT_EQ(WEXITSTATUS(status), 0) << fg::test::read_text(dir_ + "/stderr");
      EXPECT_NE(fg::test::read_text(dir_ + "/stderr").find("stopped (SIGTERM)"), std::string::npos);
    }
    const std::vector<json> reported = json_lines(fg::test::read_text(events));
    EXPECT_GE(reported.size(), before + 2);
    expect_reported_are_stored(reported);
    // The DB opens cleanly, for writing too (the dead process's lock is gone).
    EXPECT_NO_THROW(fg::store::Store::open(db_));
  }
}

TEST_F(Attend, BadSourcesAndALockedDbAreClearErrors) {
  Result r = attend(dir_ + "/missing.avi");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot open source '" + dir_ + "/missing.avi': no such file"), std::string::npos) << r.err;

  std::ofstream(dir_ + "/text.avi") << "not a video";
  r = attend(dir_ + "/text.avi");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot open source"), std::string::npos) << r.err;
  // Named like an image: OpenCV's image-sequence reader opens it, and gives no frame.
  std::ofstream(dir_ + "/text.jpg") << "not an image";
  r = attend(dir_ + "/text.jpg");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "facegate attend: cannot open source '" + dir_ +
                       "/text.jpg': not a video OpenCV can read (unreadable, damaged, or another format)\n");

  {
    cv::VideoWriter empty(dir_ + "/empty.avi", cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), kFps, {640, 480});
  }
  r = attend(dir_ + "/empty.avi");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("gave no frames"), std::string::npos) << r.err;

  r = attend("99");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot open source '99'"), std::string::npos) << r.err;

  r = attend(g_suite->dir + "/script.avi", "--events " + sh_quote(dir_ + "/no/such/dir/e.jsonl"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no/such/dir/e.jsonl"), std::string::npos) << r.err;

  {
    fg::store::Store held = fg::store::Store::open(db_);  // another process's lock, in effect
    r = attend(g_suite->dir + "/script.avi");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("in use by another process"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(stored_events().empty()) << "no run got as far as an event";
  for (const std::string& out : {r.out, r.err}) EXPECT_EQ(out.find("Segmentation"), std::string::npos);

  for (const auto& [source, why] : std::vector<std::pair<std::string, std::string>>{
           {dir_, "a directory, expected a video file"},
           {"rtsp://127.0.0.1:9/none", "the stream cannot be reached"}}) {
    r = attend(source);
    EXPECT_EQ(r.code, 1) << source;
    EXPECT_NE(r.err.find("cannot open source '" + source + "': " + why), std::string::npos) << r.err;
    // One line of ours, not OpenCV's or GStreamer's logs around it.
    EXPECT_EQ(r.err.find("[ WARN"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("[ERROR"), std::string::npos) << r.err;
  }

  r = attend(g_suite->dir + "/script.avi", "--output " + sh_quote(dir_ + "/out.xyz"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("out.xyz: expected a .avi (MJPG) or .mp4 (MPEG-4) file name"), std::string::npos) << r.err;
  r = attend(g_suite->dir + "/script.avi", "--output " + sh_quote(dir_ + "/missing/out.avi"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing is not a directory"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("stopped"), std::string::npos) << "refused before the source was opened: " << r.err;

  r = run_facegate(attend_args(g_suite->dir + "/script.avi", "--no-detect"), dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option --no-detect"), std::string::npos) << r.err;
  r = run_facegate("attend --db " + sh_quote(db_), dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("missing --source"), std::string::npos) << r.err;
  r = run_facegate("attend --source " + sh_quote(g_suite->dir + "/script.avi") + " --db " + sh_quote(db_) +
                       " --model " + sh_quote(g_suite->model) + " --detector " + sh_quote(g_suite->mtcnn) +
                       " --camera-id ''",
                   dir_);
  EXPECT_EQ(r.code, 2) << "an event needs a camera name: " << r.err;
  EXPECT_NE(r.err.find("--camera-id: got an empty name"), std::string::npos) << r.err;
  const std::string file = g_suite->dir + "/script.avi";
  r = run_facegate(attend_args(file, "--reconnect"), dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--reconnect: '" + file + "' is a video file; it applies to cameras and stream URLs"),
            std::string::npos)
      << r.err;
  r = run_facegate(attend_args("0", "--stream-timeout 5"), dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--stream-timeout: '0' is not a stream URL"), std::string::npos) << r.err;
  r = run_facegate("attend --help", dir_);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("cosine similarity"), std::string::npos);
  EXPECT_NE(r.out.find("  --detector FILE     MTCNN weights"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("--no-detect"), std::string::npos) << "attend always detects: " << r.out;
}

TEST_F(Attend, LiveSourceDropsFramesRatherThanQueueing) {
  // A URL is a live source; FFmpeg reads file:// as fast as it can decode, far faster than
  // recognition, so most frames must be dropped, and each counted.
  const Result r = attend("file://" + g_suite->dir + "/script.avi", "--events -");
  EXPECT_EQ(r.code, 1) << "a live source that ends is an error: " << r.err;
  EXPECT_NE(r.err.find("stopped delivering frames"), std::string::npos) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"((\d+) frames \((\d+) dropped, (\d+) unreadable\))"))) << r.err;
  const int frames = std::stoi(m[1]), dropped = std::stoi(m[2]);
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(frames + dropped, kScriptFrames);
  for (const json& e : json_lines(r.out)) EXPECT_TRUE(e["video_time"].is_null()) << e.dump();
  EXPECT_EQ(r.err.find("attend: frames: "), std::string::npos)
      << "a live source has no length to show progress in: " << r.err;
}

// An IP camera's HTTP stream, served from the script video by a server in the test.
// /whole.avi gets the whole video; /stalls.avi sends half of it and then nothing until the
// test ends; /flaky.avi does what the test last set: either of those, or 404 (gone).
class VideoServer {
 public:
  enum class Flaky { kStalls, kWhole, kGone };

  explicit VideoServer(std::string video) : video_(std::move(video)) {
    server_.Get("/whole.avi", [&](const httplib::Request&, httplib::Response& res) { whole(res); });
    server_.Get("/stalls.avi", [&](const httplib::Request&, httplib::Response& res) { stall(res); });
    server_.Get("/flaky.avi", [&](const httplib::Request&, httplib::Response& res) {
      switch (flaky_.load()) {
        case Flaky::kStalls: return stall(res);
        case Flaky::kWhole: return whole(res);
        case Flaky::kGone: res.status = 404;
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~VideoServer() {
    release_ = true;
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  void set_flaky(Flaky what) { flaky_ = what; }
  // A stalling response has sent its first half and holds the connection open.
  bool stalling() const { return stalling_ > 0; }

 private:
  void whole(httplib::Response& res) { res.set_content(video_, "video/x-msvideo"); }
  void stall(httplib::Response& res) {
    res.set_content_provider(video_.size(), "video/x-msvideo", [this](size_t offset, size_t, httplib::DataSink& sink) {
      if (offset == 0) return sink.write(video_.data(), video_.size() / 2);
      ++stalling_;
      while (!release_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      --stalling_;
      return false;
    });
  }

  const std::string video_;
  httplib::Server server_;
  std::atomic<bool> release_{false};
  std::atomic<Flaky> flaky_{Flaky::kStalls};
  std::atomic<int> stalling_{0};
  int port_ = 0;
  std::thread thread_;
};

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A stream is live, read through FFmpeg's network code. One whose server stops sending
// mid-way ends attend after --stream-timeout seconds, with the source named, instead of hanging.
TEST_F(Attend, HttpStreamIsLiveAndAStalledOneEndsAtTheStreamTimeout) {
  VideoServer server(fg::test::read_text(g_suite->dir + "/script.avi"));
  const std::string whole = server.url("/whole.avi"), stalls = server.url("/stalls.avi");

  Result r = attend(whole, "--events -");
  EXPECT_NE(r.err.find("live source " + whole), std::string::npos) << r.err;
  EXPECT_EQ(r.code, 1) << "a stream that ends is an error: " << r.err;
  EXPECT_NE(r.err.find("source '" + whole + "' stopped delivering frames"), std::string::npos) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"((\d+) frames \((\d+) dropped, (\d+) unreadable\))"))) << r.err;
  EXPECT_EQ(std::stoi(m[1]) + std::stoi(m[2]), kScriptFrames) << r.err;

  const auto t0 = std::chrono::steady_clock::now();
  r = attend(stalls, "--events - --stream-timeout 3");
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("source '" + stalls + "' stopped delivering frames"), std::string::npos) << r.err;
  EXPECT_GT(waited, 3) << "ended before the stream timeout: " << r.err;
  EXPECT_LT(waited, 25) << "FFmpeg's own 30 s timeout, not --stream-timeout 3: " << r.err;
  std::printf("a stalled stream ended attend after %.1f s (--stream-timeout 3)\n", waited);

  r = attend(stalls, "--stream-timeout 0");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--stream-timeout: got '0', expected seconds from 0.1 to 300"), std::string::npos) << r.err;
}

// The first Ctrl-C stops attend once the read in progress returns, which on a stalled stream
// takes up to --stream-timeout; a second one ends it at once, and the DB opens cleanly after.
TEST_F(Attend, ASecondSigintEndsItAtOnceWhileAStreamStalls) {
  VideoServer server(fg::test::read_text(g_suite->dir + "/script.avi"));
  const std::string err = dir_ + "/stderr";
  fg::test::Child child(attend_args(server.url("/stalls.avi"), "--stream-timeout 120"), dir_ + "/stdout", err);
  ASSERT_TRUE(
      child.wait_for([&] { return server.stalling(); }, std::chrono::milliseconds(20), std::chrono::seconds(120)))
      << fg::test::read_text(err);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // into FFmpeg's blocking read
  ::kill(child.pid(), SIGINT);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_TRUE(child.running()) << "the first SIGINT ended attend at once: this test's premise is gone\n"
                               << fg::test::read_text(err);
  const auto t0 = std::chrono::steady_clock::now();
  const int status = child.signal_and_wait(SIGINT);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << status << "\n" << fg::test::read_text(err);
  EXPECT_LT(waited, 5) << fg::test::read_text(err);
  EXPECT_NO_THROW(fg::store::Store::open(db_));
}

// An X display of the test's own (Xvfb picks a free number), for --display, and xdotool to
// press keys in its windows.
class VirtualDisplay {
 public:
  explicit VirtualDisplay(const std::string& dir) : dir_(dir) {
    if (fg::test::run("command -v Xvfb > /dev/null && command -v xdotool > /dev/null") != 0) {
      why_ = "Xvfb or xdotool missing (apt install xvfb xdotool)";
      return;
    }
    fg::test::run("Xvfb -displayfd 3 -nolisten tcp 3> " + sh_quote(dir + "/display") + " > " +
                  sh_quote(dir + "/xvfb.log") + " 2>&1 & echo $! > " + sh_quote(dir + "/xvfb.pid"));
    // Xvfb writes its display number once it accepts clients.
    for (int i = 0; i < 300 && name_.empty(); ++i) {
      const std::string text = fg::test::read_text(dir + "/display");
      if (!text.empty() && text.back() == '\n') name_ = ":" + text.substr(0, text.size() - 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (name_.empty()) why_ = "Xvfb did not start: " + fg::test::read_text(dir + "/xvfb.log");
  }
  ~VirtualDisplay() {
    const std::string pid = fg::test::read_text(dir_ + "/xvfb.pid");
    if (!pid.empty()) fg::test::run("kill " + pid.substr(0, pid.find('\n')) + " 2> /dev/null");
  }
  const std::string& name() const { return name_; }  // ":N"; empty when it could not start
  const std::string& why() const { return why_; }
  // Focuses the window titled `title` and presses `key` in it: xdotool's exit status. Only a
  // mapped window takes the focus, so the search waits for one that is visible.
  int press(const std::string& title, const std::string& key) const {
    return fg::test::run("DISPLAY=" + name_ + " timeout 30 xdotool search --sync --onlyvisible --name " +
                         sh_quote(title) + " windowfocus --sync key " + key + " > " + sh_quote(dir_ + "/xdotool.log") +
                         " 2>&1");
  }

 private:
  std::string dir_, name_, why_;
};

// With --display, the window stays live while the source is down (here a camera that is not
// there, waited for with --reconnect): it shows the last frame, or a grey one, marked as
// waiting, and Esc in it ends attend (it used to be drawn only when a frame came).
TEST_F(Attend, EscInTheWindowEndsItWhileTheSourceIsDown) {
  const VirtualDisplay x(dir_);
  if (x.name().empty()) {
    if (fg::test::in_ci()) FAIL() << x.why();
    GTEST_SKIP() << "SKIPPED: no virtual display for --display: " << x.why();
  }
  const std::string err = dir_ + "/stderr";
  fg::test::Child child(attend_args("99", "--display --reconnect"), dir_ + "/stdout", err,
                        "env DISPLAY=" + x.name() + " ");
  ASSERT_EQ(x.press("facegate attend", "Escape"), 0)
      << "no window: " << fg::test::read_text(dir_ + "/xdotool.log") << fg::test::read_text(err);
  EXPECT_TRUE(child.wait_for([&] { return !child.running(); }, std::chrono::milliseconds(20),
                             std::chrono::seconds(30)))
      << fg::test::read_text(err);
  EXPECT_NE(fg::test::read_text(err).find("stopped (window closed)"), std::string::npos) << fg::test::read_text(err);
}

// With --reconnect a stream that cannot be opened at start, then opens but stalls, is waited
// for through one outage (the waits grow: 1 s, 2 s, ...) until its first frame; one that ends
// is opened again and counted once it gives frames again. attend runs on until it is
// stopped, and then exits 0 with the outages in its summary.
TEST_F(Attend, ReconnectOpensAStoppedStreamAgainUntilStopped) {
  VideoServer server(fg::test::read_text(g_suite->dir + "/script.avi"));
  const std::string flaky = server.url("/flaky.avi"), err = dir_ + "/stderr";
  const std::string ended = "source '" + flaky + "' stopped delivering frames; opening it again in 1 s";
  server.set_flaky(VideoServer::Flaky::kGone);
  fg::test::Child child(attend_args(flaky, "--events - --reconnect --stream-timeout 2"), dir_ + "/stdout", err);
  const auto stderr_has = [&](const std::string& what, size_t times) {
    return child.wait_for([&] { return count_of(fg::test::read_text(err), what) >= times; },
                          std::chrono::milliseconds(20), std::chrono::seconds(120));
  };
  ASSERT_TRUE(stderr_has("cannot open source '" + flaky + "': the stream cannot be reached or is not a video OpenCV "
                         "can read; opening it again in 1 s",
                         1))
      << fg::test::read_text(err);
  server.set_flaky(VideoServer::Flaky::kStalls);
  // Open but stalled (or not open: FFmpeg may give up on the AVI's index): the same outage.
  ASSERT_TRUE(child.wait_for(
      [&] {
        const std::string text = fg::test::read_text(err);
        return text.find("' stopped delivering frames; opening it again in 2 s") != std::string::npos ||
               text.find("' cannot be opened; opening it again in 2 s") != std::string::npos;
      },
      std::chrono::milliseconds(20), std::chrono::seconds(120)))
      << fg::test::read_text(err);
  server.set_flaky(VideoServer::Flaky::kWhole);
  ASSERT_TRUE(stderr_has("source '" + flaky + "' is open after ", 1)) << fg::test::read_text(err);
  ASSERT_TRUE(stderr_has(ended, 1)) << "the whole video's end was not noticed: " << fg::test::read_text(err);
  ASSERT_TRUE(stderr_has("source '" + flaky + "' is back after ", 1)) << fg::test::read_text(err);
  ASSERT_TRUE(stderr_has(ended, 2)) << fg::test::read_text(err);
  server.set_flaky(VideoServer::Flaky::kGone);
  ASSERT_TRUE(stderr_has("source '" + flaky + "' cannot be opened; opening it again in 2 s", 1))
      << fg::test::read_text(err);
  const int status = child.signal_and_wait(SIGTERM);
  const std::string text = fg::test::read_text(err);
  ASSERT_TRUE(WIFEXITED(status)) << text;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "stopped by SIGTERM while the source was down: " << text;
  EXPECT_NE(text.find("live source " + flaky + " (not open yet)"), std::string::npos) << text;
  EXPECT_EQ(text.find("is open after 1 s"), std::string::npos) << "an open without frames is not the end of the outage";
  EXPECT_NE(text.find("stopped (SIGTERM)"), std::string::npos) << text;
  EXPECT_NE(text.find("the source stopped and was opened again 1 time\n"), std::string::npos) << text;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"((\d+) frames \((\d+) dropped, (\d+) unreadable\))"))) << text;
  // The stalled connection may give no frame at all (FFmpeg reads the AVI's index at its end
  // first); the two whole ones give the video twice.
  EXPECT_GE(std::stoi(m[1]) + std::stoi(m[2]), 2 * kScriptFrames) << "a whole connection's frames missing: " << text;
}

// A camera that is not there (index 63: /dev/video63) is waited for with --reconnect, and
// attend stopped while waiting says the source never opened, exit status 0.
TEST_F(Attend, ReconnectWaitsForACameraThatIsNotThere) {
  const std::string err = dir_ + "/stderr";
  fg::test::Child child(attend_args("63", "--reconnect"), dir_ + "/stdout", err);
  const std::string retrying = "source '63' cannot be opened; opening it again in 2 s";
  ASSERT_TRUE(child.wait_for([&] { return fg::test::read_text(err).find(retrying) != std::string::npos; },
                             std::chrono::milliseconds(20), std::chrono::seconds(120)))
      << fg::test::read_text(err);
  const int status = child.signal_and_wait(SIGINT);
  const std::string text = fg::test::read_text(err);
  ASSERT_TRUE(WIFEXITED(status)) << text;
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;
  EXPECT_NE(text.find("cannot open source '63': no such camera, or it is busy; opening it again in 1 s"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("live source 63 (not open yet)"), std::string::npos) << text;
  EXPECT_NE(text.find("stopped (SIGINT): 0 frames"), std::string::npos) << text;
  EXPECT_NE(text.find("the source never opened\n"), std::string::npos) << text;
}

// Not a test: the numbers of bench/RESULTS.md. Run with
//   attend_test --gtest_also_run_disabled_tests --gtest_filter='*Bench*'
TEST_F(Attend, DISABLED_BenchFps) {
  const std::vector<std::string> people = {"amy", "howard", "penny"};
  for (const int faces : {1, 3}) {
    std::vector<Appearance> script;
    for (int i = 0; i < faces; ++i) script.push_back({people[i], cv::Point(15 + 205 * i, 140), 0, 150});
    const std::string video = dir_ + "/bench.avi";
    write_video(video, 150, script);
    // As attend runs, and with every face embedded in every frame (no decision is ever reached).
    for (const std::string extra : {"", "--confirm-frames 1000"}) {
      const Result r = attend(video, extra);
      ASSERT_EQ(r.code, 0) << r.err;
      std::printf("%d face(s) %s: %s", faces, extra.c_str(), r.err.substr(r.err.find("stopped")).c_str());
    }
  }
}

}  // namespace
