// facegate sync / identify --index end to end: the real ChromaDB server of the "chroma"
// fixture, the random-weight ResNet-50 of the parity fixture and the shared face photos.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <nlohmann/json.hpp>
#include <sstream>

#include "store/chroma/client.h"
#include "store/store.h"
#include "tests/support/chroma_env.h"

namespace {

namespace fs = std::filesystem;
using fg::test::sh_quote;
using nlohmann::json;

struct Result {
  int code;
  std::string out, err;
};

class Sync : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_CHROMA(url);
    url_ = url;
    const std::string fixture = fg::test::resnet_fixture();
    if (fixture.empty()) {
      if (fg::test::torch_python().empty()) GTEST_SKIP() << "SKIPPED: python3-torch missing, no model to test with";
      FAIL() << "PyTorch is here but the fixture is not: run ctest, whose resnet_fixture test makes it";
    }
    fixture_ = fixture;
    data_ = fg::test::data_dir();
    if (data_.empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fg::test::scratch_dir("sync-" + test);
    collection_ = "e2e" + std::to_string(::getpid()) + "-" + test;
    model_ = dir_ + "/model.fgw";
    ASSERT_EQ(run("convert " + sh_quote(fixture + "/trainer.pt") + " -o " + sh_quote(model_)).code, 0);
    db_ = dir_ + "/db";
    const std::string gallery = dir_ + "/gallery";
    for (const auto& person : fs::directory_iterator(data_ + "/faces/people")) {
      const std::string name = person.path().filename().string();
      fs::create_directories(gallery + "/" + name);
      for (int i = 1; i <= 3; ++i)
        fs::copy_file(person.path() / (name + std::to_string(i) + ".png"),
                      gallery + "/" + name + "/" + name + std::to_string(i) + ".png");
    }
    Result r = run("enroll " + sh_quote(gallery) + " --db " + sh_quote(db_) + " --model " + sh_quote(model_) +
                   " --no-detect --threads 2");
    ASSERT_EQ(r.code, 0) << r.err;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  Result run(const std::string& args) {
    const int code =
        fg::test::run(fg::test::facegate_binary() + " " + args + " > " + dir_ + "/stdout 2> " + dir_ + "/stderr");
    return {code, fg::test::read_text(dir_ + "/stdout"), fg::test::read_text(dir_ + "/stderr")};
  }
  std::string chroma_args() const { return " --chroma " + sh_quote(url_) + " --collection " + sh_quote(collection_); }
  Result push(const std::string& extra = "") {
    return run("sync --push --db " + sh_quote(db_) + chroma_args() + " " + extra);
  }

  // Every shared photo, each taken whole as a face crop: 52 probes.
  std::vector<std::string> probes() {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(data_ + "/faces")) {
      const std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".png" || ext == ".jpg")) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<json> identify(const std::string& where) {
    std::string cmd = "identify --json --no-detect --top 3 --model " + sh_quote(model_) + " " + where;
    for (const auto& p : probes()) cmd += " " + sh_quote(p);
    const Result r = run(cmd);
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<json> lines;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
  }

  std::string index_url() const { return "chroma://" + url_.substr(url_.find("://") + 3) + "/" + collection_; }

  uint64_t remote_count() {
    fg::store::chroma::Client c(fg::store::chroma::parse_endpoint(url_));
    const auto coll = c.find_collection(collection_);
    return coll ? c.count(*coll) : 0;
  }

  std::string url_, fixture_, data_, dir_, collection_, model_, db_;
};

// Same identities in the same order, scores within float32 noise; two identities whose
// scores tie may swap.
void expect_same_matches(const std::vector<json>& want, const std::vector<json>& got, double tol) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const json& a = want[i]["faces"][0];
    const json& b = got[i]["faces"][0];
    ASSERT_EQ(a["matches"].size(), b["matches"].size()) << want[i]["image"];
    EXPECT_EQ(a["unknown"], b["unknown"]) << want[i]["image"];
    for (size_t k = 0; k < a["matches"].size(); ++k) {
      const double sa = a["matches"][k]["score"], sb = b["matches"][k]["score"];
      EXPECT_NEAR(sa, sb, tol) << want[i]["image"] << " rank " << k;
      const bool tie =
          (k > 0 && std::abs(sa - a["matches"][k - 1]["score"].get<double>()) < 2 * tol) ||
          (k + 1 < a["matches"].size() && std::abs(sa - a["matches"][k + 1]["score"].get<double>()) < 2 * tol);
      if (!tie) {
        EXPECT_EQ(a["matches"][k]["id"], b["matches"][k]["id"]) << want[i]["image"] << " rank " << k;
        EXPECT_EQ(a["matches"][k]["name"], b["matches"][k]["name"]) << want[i]["image"] << " rank " << k;
      }
    }
  }
}

TEST_F(Sync, PushSearchRemotelyPullAndForget) {
  Result r = push();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("24 records, 24 upserted, 0 deleted"), std::string::npos) << r.out;
  r = push();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("24 records, 0 upserted, 0 deleted"), std::string::npos)
      << "a second sync changes nothing: " << r.out;

  const auto local = identify("--db " + sh_quote(db_));
  ASSERT_GE(local.size(), 50u);
  const auto remote = identify("--index " + sh_quote(index_url()));
  expect_same_matches(local, remote, 1e-4);

  const std::string copy = dir_ + "/pulled";
  r = run("sync --pull --db " + sh_quote(copy) + chroma_args());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("8 identities, 24 images added"), std::string::npos) << r.out;
  expect_same_matches(local, identify("--db " + sh_quote(copy)), 1e-5);

  ASSERT_EQ(run("forget amy --db " + sh_quote(db_)).code, 0);
  r = push();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("21 records, 0 upserted, 3 deleted"), std::string::npos) << r.out;
  EXPECT_EQ(remote_count(), 21u);
  for (const json& line : identify("--index " + sh_quote(index_url()))) {
    for (const json& m : line["faces"][0]["matches"]) EXPECT_NE(m["name"], "amy");
  }
}

TEST_F(Sync, KilledHalfwayThenRerunCompletesWithoutDuplicates) {
  // Killed (SIGKILL: no clean-up at all) as soon as the first one-record batch is in.
  const std::string err = dir_ + "/sync.err";
  const std::string cmd = "(" + fg::test::facegate_binary() + " sync --push --batch 1 --db " + sh_quote(db_) +
                          chroma_args() + " > /dev/null 2> " + sh_quote(err) +
                          " & p=$!; for i in $(seq 1 1000); do grep -qs upserted " + sh_quote(err) +
                          " && break; sleep 0.01; done; kill -9 $p; wait $p) 2>/dev/null";
  fg::test::run(cmd);
  const uint64_t partial = remote_count();
  EXPECT_GT(partial, 0u);
  EXPECT_LT(partial, 24u) << "the sync finished before it could be killed";

  Result r = push();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("24 records, " + std::to_string(24 - partial) + " upserted, 0 deleted"), std::string::npos)
      << r.out;
  EXPECT_EQ(remote_count(), 24u);
  EXPECT_NE(push().out.find("0 upserted, 0 deleted"), std::string::npos);
}

TEST_F(Sync, BadInputGivesClearErrorsAndLeavesLocalDataAlone) {
  const std::string other = dir_ + "/other.fgw";
  ASSERT_EQ(run("convert " + sh_quote(fixture_ + "/fp16.pt") + " -o " + sh_quote(other)).code, 0);
  ASSERT_EQ(push().code, 0);

  // A model other than the collection's: pull and remote identify refuse.
  Result r = run("sync --pull --db " + sh_quote(dir_ + "/new") + chroma_args() + " --model " + sh_quote(other));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("holds embeddings of model"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/new"));
  r = run("identify --no-detect --model " + sh_quote(other) + " --index " + sh_quote(index_url()) + " " +
          sh_quote(data_ + "/faces/people/amy/amy1.png"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("holds embeddings of model"), std::string::npos) << r.err;

  // A server that is down: the retries end in one clear line; nothing local changes.
  const std::string before = run("list --json --db " + sh_quote(db_)).out;
  r = run("sync --push --db " + sh_quote(db_) + " --chroma http://127.0.0.1:1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot reach ChromaDB at http://127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_EQ(run("list --json --db " + sh_quote(db_)).out, before);

  r = run("sync --push --db " + sh_quote(db_));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("nothing to sync with"), std::string::npos) << r.err;
  r = run("sync --push --db " + sh_quote(db_) + " --chroma https://x:1");
  EXPECT_EQ(r.code, 2) << "a URL facegate cannot use is bad usage: " << r.err;
  EXPECT_NE(r.err.find("https is not supported"), std::string::npos) << r.err;
}

// A door that keeps no gallery of its own: attend --index searches the central collection and
// logs the events in the door's local DB.
TEST_F(Sync, AttendSearchesTheCentralGallery) {
  const std::string m = data_ + "/mtcnn/";
  const std::string mtcnn = dir_ + "/mtcnn.fgw";
  ASSERT_EQ(run("convert " + sh_quote(m + "pnet.pt") + " " + sh_quote(m + "rnet.pt") + " " + sh_quote(m + "onet.pt") +
                " -o " + sh_quote(mtcnn)).code, 0);
  // 30 frames at 10 fps: grey, then amy's photo (scaled up: MTCNN needs the margin) from frame 5.
  const std::string video = dir_ + "/door.avi";
  {
    cv::Mat face = cv::imread(data_ + "/faces/people/amy/amy1.png");
    ASSERT_FALSE(face.empty());
    cv::resize(face, face, {200, 200}, 0, 0, cv::INTER_CUBIC);
    cv::VideoWriter w(video, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, {640, 480});
    ASSERT_TRUE(w.isOpened());
    for (int f = 0; f < 30; ++f) {
      cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(110, 110, 110));
      if (f >= 5) face.copyTo(frame(cv::Rect(220, 140, 200, 200)));
      w.write(frame);
    }
  }
  // The central gallery holds amy as the door will see her (random weights: only near-identical
  // crops score near 1), enrolled elsewhere and pushed.
  cv::VideoCapture cap(video);
  cv::Mat frame;
  for (int i = 0; i <= 10; ++i) ASSERT_TRUE(cap.read(frame));
  fs::create_directories(dir_ + "/central/amy");
  cv::imwrite(dir_ + "/central/amy/frame.png", frame);
  const std::string central_db = dir_ + "/central.db";
  const std::string faces = " --model " + sh_quote(model_) + " --detector " + sh_quote(mtcnn) + " --threads 2";
  ASSERT_EQ(run("enroll " + sh_quote(dir_ + "/central") + " --db " + sh_quote(central_db) + faces).code, 0);
  collection_ += "-central";
  Result r = run("sync --push --db " + sh_quote(central_db) + chroma_args());
  ASSERT_EQ(r.code, 0) << r.err;

  const std::string door_db = dir_ + "/door.db";
  r = run("attend --source " + sh_quote(video) + " --db " + sh_quote(door_db) + faces + " --index " +
          sh_quote(index_url()) + " --threshold 0.9 --camera-id door --events -");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<json> events;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) events.push_back(json::parse(line));
  ASSERT_EQ(events.size(), 1u) << r.out;
  EXPECT_EQ(events[0]["kind"], "attendance");
  EXPECT_EQ(events[0]["name"], "amy");
  EXPECT_GT(events[0]["score"].get<double>(), 0.99);
  const auto central_amy = fg::store::Store::open(central_db).find_identity_by_name("amy");
  ASSERT_TRUE(central_amy);
  EXPECT_EQ(events[0]["id"], central_amy->id) << "the central gallery's identity";
  fg::store::OpenOptions ro;
  ro.read_only = true;
  EXPECT_EQ(fg::store::Store::open(door_db, ro).events(INT64_MIN, INT64_MAX).size(), 1u) << "logged at the door";
}

}  // namespace
