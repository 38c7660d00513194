#include "apps/calibrate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/threshold.h"
#include "store/store.h"
#include "tests/support/test_env.h"

namespace {

using namespace fg::apps;
namespace fs = std::filesystem;

constexpr double kPi = 3.14159265358979323846;

float cosd(double degrees) { return float(std::cos(degrees * kPi / 180.0)); }
float above(float v) { return std::nextafter(v, std::numeric_limits<float>::infinity()); }

CalibrationScores scores(std::vector<float> genuine, std::vector<float> impostor) {
  CalibrationScores s;
  s.genuine = std::move(genuine);
  s.impostor = std::move(impostor);
  return s;
}

// The message of the CalibrationError `f` throws, or "" when it throws none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const CalibrationError& e) {
    return e.what();
  }
  return "";
}

TEST(ChooseThreshold, SitsJustAboveTheImpostorOrderStatistic) {
  // 10 impostors, far 0.2: 2 may pass, so the threshold is just above the 3rd highest (0.8).
  const Calibration c = choose_threshold(
      scores({0.95f, 0.5f, 0.8f, 0.79f, 0.85f}, {0.4f, 0.1f, 0.9f, 0.3f, 0.8f, 0.5f, 1.0f, 0.6f, 0.2f, 0.7f}), 0.2);
  EXPECT_EQ(c.threshold, above(0.8f));
  EXPECT_EQ(c.false_accepts, 2u);
  EXPECT_DOUBLE_EQ(c.far(), 0.2);
  EXPECT_EQ(c.false_rejects, 3u);  // 0.5, 0.79 and 0.8 fall below
  EXPECT_DOUBLE_EQ(c.frr(), 0.6);
  EXPECT_FALSE(c.below_resolution());
  EXPECT_TRUE(std::is_sorted(c.scores.impostor.begin(), c.scores.impostor.end()));
}

TEST(ChooseThreshold, TiesAtThePivotAreRejectedSoTheAchievedRateIsLower) {
  // k = floor(0.34 * 6) = 2, but the 2nd and 3rd highest tie at 0.7: only 0.9 passes.
  const Calibration c = choose_threshold(scores({0.8f}, {0.2f, 0.5f, 0.7f, 0.7f, 0.7f, 0.9f}), 0.34);
  EXPECT_EQ(c.threshold, above(0.7f));
  EXPECT_EQ(c.false_accepts, 1u);
  EXPECT_EQ(c.false_rejects, 0u);
}

TEST(ChooseThreshold, CountsSurviveRoundingOfFarTimesN) {
  std::vector<float> impostor;
  for (int i = 0; i < 3000; ++i) impostor.push_back(float(i) / 3000.f);  // 1e-3 * 3000 rounds below 3
  const Calibration c = choose_threshold(scores({0.5f}, impostor), 1e-3);
  EXPECT_EQ(c.false_accepts, 3u);
  EXPECT_EQ(c.threshold, above(2996.f / 3000.f));
}

TEST(ChooseThreshold, BelowResolutionGoesJustAboveTheBestImpostor) {
  const Calibration c = choose_threshold(scores({0.3f, 0.9f}, {0.1f, 0.2f, 0.4f}), 1e-3);
  EXPECT_TRUE(c.below_resolution());
  EXPECT_EQ(c.threshold, above(0.4f));
  EXPECT_EQ(c.false_accepts, 0u);
  EXPECT_EQ(c.false_rejects, 1u);
}

TEST(ChooseThreshold, RefusesBadInput) {
  EXPECT_NE(error_of([] { choose_threshold(scores({0.5f}, {0.1f}), 0.0); }).find("(0, 1)"), std::string::npos);
  EXPECT_NE(error_of([] { choose_threshold(scores({0.5f}, {0.1f}), 1.0); }), "");
  EXPECT_NE(error_of([] { choose_threshold(scores({0.5f}, {0.1f}), std::nan("")); }), "");
  EXPECT_NE(error_of([] { choose_threshold(scores({}, {0.1f}), 0.1); }).find("0 genuine"), std::string::npos);
  EXPECT_NE(error_of([] { choose_threshold(scores({0.5f}, {}), 0.1); }).find("0 impostor"), std::string::npos);
  EXPECT_NE(error_of([] { choose_threshold(scores({0.5f}, {0.1f, 1.f}), 0.1); }).find("same face"),
            std::string::npos);
}

// Two FARs whose thresholds differ in the 5th decimal printed alike with 4 digits.
TEST(ThresholdText, ThresholdsOneFloatApartPrintApartAndReadBackExactly) {
  const Calibration strict = choose_threshold(scores({0.9f}, {0.1f, 0.30001f, 0.30004f, 0.5f}), 0.25);
  const Calibration loose = choose_threshold(scores({0.9f}, {0.1f, 0.30001f, 0.30004f, 0.5f}), 0.5);
  EXPECT_NE(threshold_text(strict.threshold), threshold_text(loose.threshold));
  for (float t : {strict.threshold, loose.threshold, 0.5f, above(0.5f), -0.3f, above(-0.3f), 1.f}) {
    SCOPED_TRACE(threshold_text(t));
    EXPECT_EQ(std::stof(threshold_text(t)), t);  // as identify / attend --threshold read it
    EXPECT_NE(threshold_text(t), threshold_text(above(t)));
  }
  EXPECT_EQ(threshold_text(0.25f), "0.25");
}

// Unit vectors on a circle, so every cosine is the cosine of an angle difference:
//   A at 0, 20 degrees; B at 90, 100, 130; C at 200, 265; D at 300 (one image: no genuine score).
std::vector<CalibrationSample> circle() {
  const std::vector<std::pair<std::string, double>> points = {
      {"C", 265}, {"A", 0}, {"B", 100}, {"D", 300}, {"B", 130}, {"A", 20}, {"C", 200}, {"B", 90}};
  std::vector<CalibrationSample> out;
  for (const auto& [id, deg] : points)
    out.push_back({id, {float(std::cos(deg * kPi / 180)), float(std::sin(deg * kPi / 180))}});
  return out;
}

void expect_near(std::vector<float> expected, const std::vector<float>& got) {
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-6) << "score " << i;
}

TEST(LeaveOneOut, CircleScoresAreTheAngleCosines) {
  for (int threads : {1, 2}) {
    const CalibrationScores s = leave_one_out_scores(circle(), threads);
    EXPECT_EQ(s.identities, 4u);
    EXPECT_EQ(s.images, 8u);
    expect_near({cosd(20), cosd(20), cosd(10), cosd(10), cosd(30), cosd(65), cosd(65)}, s.genuine);
    // Nearest other identity: A0-D300 60, A20-B90 70, B90-A20 70, B100-A20 80, B130-C200 70,
    // C200-B130 70, C265-D300 35, D300-C265 35 degrees.
    expect_near({cosd(60), cosd(70), cosd(70), cosd(80), cosd(70), cosd(70), cosd(35), cosd(35)}, s.impostor);
  }
}

TEST(LeaveOneOut, CircleThresholdAndFrrByHand) {
  // far 0.25 of 8 impostors: 2 may pass (the two at cos 35), so the threshold is just above
  // the 3rd highest, cos 60 = 0.5; C's genuine pair at cos 65 = 0.42 falls below it.
  Calibration c = choose_threshold(leave_one_out_scores(circle()), 0.25);
  EXPECT_NEAR(c.threshold, 0.5, 1e-6);
  EXPECT_GT(c.threshold, c.scores.impostor[5]);
  EXPECT_EQ(c.false_accepts, 2u);
  EXPECT_EQ(c.false_rejects, 2u);
  EXPECT_DOUBLE_EQ(c.frr(), 2.0 / 7.0);

  // far 0.1: none may pass; just above cos 35 = 0.819, still only C's pair (cos 30 = 0.866 passes).
  c = choose_threshold(leave_one_out_scores(circle()), 0.1);
  EXPECT_NEAR(c.threshold, cosd(35), 1e-6);
  EXPECT_EQ(c.false_accepts, 0u);
  EXPECT_EQ(c.false_rejects, 2u);
}

// Clustered random vectors, identities of 1 to 6 images, in shuffled order.
std::vector<CalibrationSample> clustered(size_t n, size_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int> size(1, 6);
  std::vector<CalibrationSample> out;
  for (int id = 0; out.size() < n; ++id) {
    std::vector<float> centre(dim);
    for (float& v : centre) v = normal(rng);
    for (int k = size(rng); k > 0 && out.size() < n; --k) {
      CalibrationSample s{"id" + std::to_string(id), centre};
      for (float& v : s.embedding) v += 0.6f * normal(rng);
      out.push_back(std::move(s));
    }
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

CalibrationScores reference_scores(const std::vector<CalibrationSample>& samples) {
  const size_t n = samples.size();
  std::vector<std::vector<double>> unit;
  for (const auto& s : samples) {
    double norm = 0;
    for (float v : s.embedding) norm += double(v) * v;
    std::vector<double> u;
    for (float v : s.embedding) u.push_back(v / std::sqrt(norm));
    unit.push_back(std::move(u));
  }
  CalibrationScores out;
  for (size_t i = 0; i < n; ++i) {
    double genuine = -2, impostor = -2;
    for (size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double dot = 0;
      for (size_t k = 0; k < unit[i].size(); ++k) dot += unit[i][k] * unit[j][k];
      double& best = samples[j].identity_id == samples[i].identity_id ? genuine : impostor;
      best = std::max(best, dot);
    }
    if (genuine > -2) out.genuine.push_back(float(genuine));
    out.impostor.push_back(float(impostor));
  }
  std::sort(out.genuine.begin(), out.genuine.end());
  std::sort(out.impostor.begin(), out.impostor.end());
  return out;
}

TEST(LeaveOneOut, BlockedThreadedMatchesTheReference) {
  // 601 rows: three row blocks, the last one partial, and identities straddling block edges.
  const auto samples = clustered(601, 37, 7);
  const CalibrationScores want = reference_scores(samples);
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    const CalibrationScores got = leave_one_out_scores(samples, threads);
    ASSERT_EQ(got.genuine.size(), want.genuine.size());
    ASSERT_EQ(got.impostor.size(), want.impostor.size());
    for (size_t i = 0; i < want.genuine.size(); ++i) ASSERT_NEAR(got.genuine[i], want.genuine[i], 1e-5) << i;
    for (size_t i = 0; i < want.impostor.size(); ++i) ASSERT_NEAR(got.impostor[i], want.impostor[i], 1e-5) << i;
  }
}

TEST(LeaveOneOut, SaysWhatIsMissing) {
  const std::vector<float> e = {1.f, 0.f};
  EXPECT_NE(error_of([] { leave_one_out_scores({}); }).find("no embeddings"), std::string::npos);
  const std::string one = error_of([&] { leave_one_out_scores({{"a", e}, {"a", e}, {"a", e}}); });
  EXPECT_NE(one.find("at least 2 identities"), std::string::npos) << one;
  EXPECT_NE(one.find("got 1 identity, 3 images"), std::string::npos) << one;
  const std::string singles = error_of([&] { leave_one_out_scores({{"a", e}, {"b", e}, {"c", e}}); });
  EXPECT_NE(singles.find("2 or more images"), std::string::npos) << singles;
  EXPECT_NE(singles.find("got 3 identities, 3 images"), std::string::npos) << singles;
  const std::string dims = error_of([&] { leave_one_out_scores({{"a", e}, {"a", e}, {"b", {1.f, 0.f, 0.f}}}); });
  EXPECT_NE(dims.find("has dim 3, expected 2"), std::string::npos) << dims;
  EXPECT_NE(error_of([&] { leave_one_out_scores({{"a", e}, {"a", e}, {"b", {0.f, 0.f}}}); }).find("zero"),
            std::string::npos);
  EXPECT_NE(error_of([&] { leave_one_out_scores({{"a", e}, {"a", e}, {"b", {std::nanf(""), 1.f}}}); })
                .find("not finite"),
            std::string::npos);
}

TEST(CalibrationPlot, WritesAWholePngAndNothingElse) {
  const std::string dir = fg::test::scratch_dir("calibrate-plot");
  const std::string png = dir + "/calibration.png";
  const Calibration c = choose_threshold(leave_one_out_scores(clustered(300, 16, 3)), 1e-2);
  write_calibration_plot(c, png);
  const cv::Mat img = cv::imread(png, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, kPlotWidth);
  EXPECT_EQ(img.rows, kPlotHeight);
  EXPECT_EQ(img.channels(), 3);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);

  EXPECT_THROW(write_calibration_plot(c, dir + "/missing/calibration.png"), std::runtime_error);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

int run_calibrate(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cmd_calibrate(int(argv.size()), argv.data());
}

TEST(CalibrateCommand, StoresTheThresholdInTheDb) {
  using fg::store::Store;
  const std::string dir = fg::test::scratch_dir("calibrate-store");
  const std::string db = dir + "/db";
  const auto samples = clustered(40, 8, 11);
  {
    fg::store::OpenOptions create;
    create.create_if_missing = true;
    create.model_id = "model-a";
    Store s = Store::open(db, create);
    for (size_t i = 0; i < samples.size(); ++i) {
      fg::store::EmbeddingRecord r;
      r.image_path = "gallery/" + std::to_string(i) + ".jpg";
      r.content_hash = std::string(63 - std::to_string(i).size(), 'a') + "f" + std::to_string(i);
      r.embedding = samples[i].embedding;
      auto who = s.find_identity_by_name(samples[i].identity_id);
      s.enroll(who ? *who : fg::store::Identity{"", samples[i].identity_id, 0, "", 0}, {r});
    }
    s.set_threshold(0.25);
  }
  std::vector<CalibrationSample> stored;
  Store::open(db).for_each_embedding([&](const auto& r) { stored.push_back({r.identity_id, r.embedding}); });
  ASSERT_EQ(stored.size(), samples.size());
  const double want = choose_threshold(leave_one_out_scores(stored), 0.05).threshold;

  testing::internal::CaptureStdout();
  EXPECT_EQ(run_calibrate({"--db", db, "--far", "0.05", "--dry-run"}), 0);
  const std::string dry = testing::internal::GetCapturedStdout();
  EXPECT_NE(dry.find("images               40"), std::string::npos) << dry;
  EXPECT_NE(dry.find("previous threshold   0.25\n"), std::string::npos) << dry;
  EXPECT_NE(dry.find("not stored"), std::string::npos) << dry;
  EXPECT_EQ(*Store::open(db).threshold(), 0.25);

  const std::string png = dir + "/plot.png";
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_calibrate({"--db", db, "--far=0.05", "--plot", png, "--threads", "2"}), 0);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("threshold stored"), std::string::npos) << out;
  EXPECT_EQ(*Store::open(db).threshold(), want);
  // What the table prints is what was stored: passed to --threshold, it gives the same float.
  const std::string row = "\n  threshold            ";
  const size_t at = out.find(row);
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_EQ(std::stof(out.substr(at + row.size())), want) << out;
  EXPECT_EQ(cv::imread(png).cols, kPlotWidth);
  fs::remove_all(dir);
}

TEST(CalibrateCommand, UsageAndDbErrors) {
  using fg::cli::UsageError;
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_calibrate({"--help"}), 0);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("usage: facegate calibrate"), std::string::npos);
  EXPECT_THROW(run_calibrate({}), UsageError);
  EXPECT_THROW(run_calibrate({"--db", "x", "--far", "1"}), UsageError);
  EXPECT_THROW(run_calibrate({"--db", "x", "--far", "1e-3x"}), UsageError);
  EXPECT_THROW(run_calibrate({"--db", "x", "extra"}), UsageError);
  EXPECT_THROW(run_calibrate({"--db", "x", "--plot="}), UsageError);
  const std::string dir = fg::test::scratch_dir("calibrate-missing");
  EXPECT_THROW(run_calibrate({"--db", dir + "/no-db"}), fg::store::StoreError);
  EXPECT_FALSE(fs::exists(dir + "/no-db"));
  // A plot that cannot be written is found out before any work.
  try {
    run_calibrate({"--db", dir + "/no-db", "--plot", dir + "/missing/p.png"});
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing is not a directory"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
