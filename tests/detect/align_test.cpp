#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "detect/align.h"

namespace fg::detect {
namespace {

Face face_with_landmarks(const std::array<std::array<float, 2>, 5>& marks) {
  Face f;
  f.landmarks = marks;
  return f;
}

// Landmarks = the template moved by scale s, rotation a (radians) and shift (tx, ty).
std::array<std::array<float, 2>, 5> moved_template(double s, double a, double tx, double ty) {
  std::array<std::array<float, 2>, 5> out;
  for (int i = 0; i < 5; ++i) {
    const double x = arcface_template()[i][0], y = arcface_template()[i][1];
    out[i] = {static_cast<float>(s * (std::cos(a) * x - std::sin(a) * y) + tx),
              static_cast<float>(s * (std::sin(a) * x + std::cos(a) * y) + ty)};
  }
  return out;
}

cv::Mat random_image(int h, int w, uint64_t seed) {
  cv::Mat img(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(img, cv::RNG::UNIFORM, 0, 256);
  return img;
}

TEST(ArcfaceTransform, TemplateGivesIdentity) {
  const cv::Mat m = arcface_transform(arcface_template());
  const double identity[2][3] = {{1, 0, 0}, {0, 1, 0}};
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(m.at<double>(r, c), identity[r][c], 1e-5) << r << "," << c;
}

TEST(ArcfaceTransform, UndoesRotationScaleAndShift) {
  for (double s : {0.5, 1.0, 2.7})
    for (double deg : {-30.0, 0.0, 12.5, 90.0}) {
      const double a = deg * M_PI / 180;
      const cv::Mat m = arcface_transform(moved_template(s, a, 300.0, -40.0));
      // The inverse of (s, a, t): scale 1/s, rotation -a.
      EXPECT_NEAR(m.at<double>(0, 0), std::cos(-a) / s, 1e-5) << "s=" << s << " deg=" << deg;
      EXPECT_NEAR(m.at<double>(0, 1), -std::sin(-a) / s, 1e-5) << "s=" << s << " deg=" << deg;
      EXPECT_NEAR(m.at<double>(1, 0), std::sin(-a) / s, 1e-5) << "s=" << s << " deg=" << deg;
      // Every landmark lands on its template point.
      const auto marks = moved_template(s, a, 300.0, -40.0);
      for (int i = 0; i < 5; ++i) {
        const double x = m.at<double>(0, 0) * marks[i][0] + m.at<double>(0, 1) * marks[i][1] + m.at<double>(0, 2);
        const double y = m.at<double>(1, 0) * marks[i][0] + m.at<double>(1, 1) * marks[i][1] + m.at<double>(1, 2);
        EXPECT_NEAR(x, arcface_template()[i][0], 1e-3);
        EXPECT_NEAR(y, arcface_template()[i][1], 1e-3);
      }
    }
}

TEST(ArcfaceTransform, IsLeastSquaresForNoisyLandmarks) {
  // Noisy points: the fitted transform must beat small perturbations of itself.
  auto marks = moved_template(1.3, 0.2, 50, 60);
  std::mt19937 rng(4);
  std::normal_distribution<float> noise(0.f, 1.5f);
  for (auto& p : marks) p = {p[0] + noise(rng), p[1] + noise(rng)};
  const cv::Mat m = arcface_transform(marks);
  const auto residual = [&](const cv::Mat& t) {
    double e = 0;
    for (int i = 0; i < 5; ++i) {
      const double x = t.at<double>(0, 0) * marks[i][0] + t.at<double>(0, 1) * marks[i][1] + t.at<double>(0, 2);
      const double y = t.at<double>(1, 0) * marks[i][0] + t.at<double>(1, 1) * marks[i][1] + t.at<double>(1, 2);
      e += std::pow(x - arcface_template()[i][0], 2) + std::pow(y - arcface_template()[i][1], 2);
    }
    return e;
  };
  const double best = residual(m);
  // Perturb each parameter of the similarity [[a, -b, tx], [b, a, ty]] both ways.
  for (int param = 0; param < 4; ++param)
    for (double d : {-1e-3, 1e-3}) {
      cv::Mat t = m.clone();
      if (param == 0) t.at<double>(0, 0) += d, t.at<double>(1, 1) += d;
      if (param == 1) t.at<double>(1, 0) += d, t.at<double>(0, 1) -= d;
      if (param == 2) t.at<double>(0, 2) += d;
      if (param == 3) t.at<double>(1, 2) += d;
      EXPECT_GT(residual(t), best) << "parameter " << param << " moved by " << d;
    }
}

TEST(ArcfaceTransform, RefusesCoincidentLandmarks) {
  std::array<std::array<float, 2>, 5> same;
  same.fill({40.0f, 50.0f});
  EXPECT_THROW(arcface_transform(same), std::invalid_argument);
}

TEST(AlignArcface, WarpsTemplateFaceToItself) {
  const cv::Mat img = random_image(112, 112, 1);
  const cv::Mat out = align_arcface(img, face_with_landmarks(arcface_template()));
  ASSERT_EQ(out.size(), cv::Size(112, 112));
  EXPECT_LE(cv::norm(out, img, cv::NORM_INF), 1.0);
}

TEST(AlignBox, EqualsOpenCvCropAndLinearResize) {
  const cv::Mat img = random_image(240, 320, 2);
  Face f;
  f.box = {40.7f, 30.2f, 131.9f, 150.6f};
  cv::Mat want;
  cv::resize(img(cv::Rect(40, 30, 131 - 40, 150 - 30)), want, cv::Size(112, 112), 0, 0, cv::INTER_LINEAR);
  const cv::Mat got = align_box(img, f);
  EXPECT_EQ(cv::norm(got, want, cv::NORM_INF), 0.0);
}

TEST(AlignBox, ClipsToTheFrame) {
  const cv::Mat img = random_image(100, 120, 3);
  Face f;
  f.box = {-15.5f, -3.0f, 60.2f, 140.0f};  // past the left, top and bottom edges
  cv::Mat want;
  cv::resize(img(cv::Rect(0, 0, 60, 100)), want, cv::Size(112, 112), 0, 0, cv::INTER_LINEAR);
  EXPECT_EQ(cv::norm(align_box(img, f), want, cv::NORM_INF), 0.0);
  f.box = {130, 10, 150, 30};  // wholly outside
  EXPECT_THROW(align_box(img, f), std::invalid_argument);
}

TEST(Alignment, ParsesNames) {
  EXPECT_EQ(parse_alignment("box"), Alignment::box);
  EXPECT_EQ(parse_alignment("arcface"), Alignment::arcface);
  EXPECT_STREQ(alignment_name(Alignment::arcface), "arcface");
  EXPECT_THROW(parse_alignment("similarity"), std::invalid_argument);
}

}  // namespace
}  // namespace fg::detect
