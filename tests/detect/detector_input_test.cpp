// Bad and unusual input to the detector: defined behaviour and clear errors, never a crash.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "detect/detector.h"
#include "tests/detect/mtcnn_weights.h"
#include "weights/fgw.h"

namespace fg::detect {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

bool same_faces(const std::vector<Face>& a, const std::vector<Face>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].box != b[i].box || a[i].prob != b[i].prob || a[i].landmarks != b[i].landmarks) return false;
  return true;
}

double iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
  const double w = std::max(0.0, double(std::min(a[2], b[2])) - std::max(a[0], b[0]));
  const double h = std::max(0.0, double(std::min(a[3], b[3])) - std::max(a[1], b[1]));
  const double inter = w * h;
  return inter / (double(a[2] - a[0]) * (a[3] - a[1]) + double(b[2] - b[0]) * (b[3] - b[1]) - inter);
}

long max_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

TEST(DetectorWeights, MissingFileNamesIt) {
  const std::string path = "/nonexistent/mtcnn.fgw";
  const std::string err = error_of([&] { Detector d(path); });
  EXPECT_NE(err.find(path), std::string::npos) << err;
}

TEST(DetectorWeights, RefusesCorruptAndForeignFiles) {
  const std::string dir = test::scratch_dir("detector-weights");
  const std::string junk = dir + "/junk.fgw";
  std::ofstream(junk) << "this is not a weights file";
  EXPECT_NE(error_of([&] { Detector d(junk); }).find(junk), std::string::npos);

  const std::string other = dir + "/resnet.fgw";
  weights::WeightsWriter w;
  w.set_meta("arch", std::string("resnet50-arcface"));
  w.write(other);
  const std::string err = error_of([&] { Detector d(other); });
  EXPECT_NE(err.find("expected 'mtcnn'"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

class DetectorInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    const std::string weights = test::mtcnn_weights(why);
    if (weights.empty()) return;
    Options opt;
    opt.threads = 2;
    detector_ = new Detector(weights, opt);
    face_ = cv::imread(test::data_dir() + "/faces/people/amy/amy1.png", cv::IMREAD_COLOR);
  }
  static void TearDownTestSuite() {
    delete detector_;
    detector_ = nullptr;
  }
  void SetUp() override {
    if (!detector_) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
    ASSERT_FALSE(face_.empty());
  }
  static Detector* detector_;
  static cv::Mat face_;
};
Detector* DetectorInput::detector_ = nullptr;
cv::Mat DetectorInput::face_;

TEST_F(DetectorInput, EmptyImageIsAnError) {
  const std::string err = error_of([&] { detector_->detect(cv::Mat()); });
  EXPECT_NE(err.find("empty image"), std::string::npos) << err;
}

TEST_F(DetectorInput, TinyImagesHaveNoFaces) {
  for (int side : {1, 2, 11, 12, 13}) {
    EXPECT_TRUE(detector_->detect(cv::Mat(side, side, CV_8UC3, cv::Scalar(90, 120, 200))).empty()) << side;
    EXPECT_TRUE(detector_->detect(cv::Mat(side, 300, CV_8UC3, cv::Scalar(0, 0, 0))).empty()) << side;
  }
}

TEST_F(DetectorInput, UnsupportedTypesAreErrors) {
  for (int type : {CV_32FC3, CV_8UC2, CV_64FC1, CV_8SC3}) {
    const std::string err = error_of([&] { detector_->detect(cv::Mat(64, 64, type, cv::Scalar::all(0))); });
    EXPECT_NE(err.find("unsupported image type"), std::string::npos) << cv::typeToString(type) << ": " << err;
  }
}

TEST_F(DetectorInput, GrayImageIsDetectedAsGrayColour) {
  cv::Mat gray, gray_bgr;
  cv::cvtColor(face_, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(gray, gray_bgr, cv::COLOR_GRAY2BGR);
  const auto faces = detector_->detect(gray);
  EXPECT_EQ(faces.size(), 1u);
  EXPECT_TRUE(same_faces(faces, detector_->detect(gray_bgr)));
}

TEST_F(DetectorInput, SixteenBitKeepsTheHighByte) {
  cv::Mat wide;
  face_.convertTo(wide, CV_16U, 257.0);  // x * 257 >> 8 == x
  EXPECT_TRUE(same_faces(detector_->detect(wide), detector_->detect(face_)));
}

TEST_F(DetectorInput, AlphaChannelIsIgnored) {
  cv::Mat bgra;
  cv::cvtColor(face_, bgra, cv::COLOR_BGR2BGRA);
  bgra.forEach<cv::Vec4b>([](cv::Vec4b& p, const int*) { p[3] = 7; });
  EXPECT_TRUE(same_faces(detector_->detect(bgra), detector_->detect(face_)));
}

TEST_F(DetectorInput, OptionsAreChecked) {
  std::string why;
  const std::string weights = test::mtcnn_weights(why);
  Options bad;
  bad.min_face = 5;
  EXPECT_NE(error_of([&] { Detector d(weights, bad); }).find("min_face 5"), std::string::npos);
  bad = {};
  bad.factor = 1.0;
  EXPECT_NE(error_of([&] { Detector d(weights, bad); }).find("factor"), std::string::npos);
  bad = {};
  bad.thresholds[1] = 1.5f;
  EXPECT_NE(error_of([&] { Detector d(weights, bad); }).find("threshold"), std::string::npos);
}

TEST_F(DetectorInput, MaxFacesKeepsTheLargest) {
  const cv::Mat group = cv::imread(test::data_dir() + "/faces/group/bbt4.jpg", cv::IMREAD_COLOR);
  const auto all = detector_->detect(group);
  ASSERT_GT(all.size(), 2u);
  std::string why;
  Options opt;
  opt.max_faces = 2;
  Detector two(test::mtcnn_weights(why), opt);
  const auto top = two.detect(group);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_TRUE(same_faces(top, {all[0], all[1]}));
}

// A 10000 x 10000 frame is shrunk to 4096 before the pyramid: the faces of a photo blown up
// inside it are found at its own scale, and the detector's extra memory stays bounded.
TEST_F(DetectorInput, HugeImageIsShrunkAndMappedBack) {
  const cv::Mat group = cv::imread(test::data_dir() + "/faces/group/bbt1.jpg", cv::IMREAD_COLOR);
  const auto small = detector_->detect(group);
  ASSERT_EQ(small.size(), 4u);
  constexpr double kScale = 7.0;
  cv::Mat huge(10000, 10000, CV_8UC3, cv::Scalar(128, 128, 128));
  cv::resize(group, huge(cv::Rect(0, 0, 9562, 5376)), cv::Size(9562, 5376), 0, 0, cv::INTER_LINEAR);
  const long before = max_rss_mib();
  const auto faces = detector_->detect(huge);
  const long grown = max_rss_mib() - before;
  std::printf("10000x10000: %zu faces, peak memory grew by %ld MiB\n", faces.size(), grown);
  EXPECT_LT(grown, 700);
  // The blown-up copy is a different picture (interpolated), so extra faces may appear; the
  // four of the original must all be there, in the input's coordinates.
  for (const Face& f : small) {
    std::array<float, 4> want;
    for (int k = 0; k < 4; ++k) want[k] = static_cast<float>(f.box[k] * kScale);
    double best = 0;
    for (const Face& g : faces) best = std::max(best, iou(g.box, want));
    EXPECT_GT(best, 0.8) << "face at " << f.box[0] << "," << f.box[1];
  }
}

}  // namespace
}  // namespace fg::detect
