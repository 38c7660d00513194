// The threshold identify and attend match with: --threshold over the DB's calibrated value
// over the model's default, and the warning that goes with an uncalibrated default.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "apps/threshold.h"
#include "nn/dlib_resnet.h"
#include "nn/resnet50.h"

namespace {

using fg::apps::Threshold;

// Model ids as the embedder makes them ("<arch>:<sha256>"), from the networks' own arch
// names: renaming one must not silently change its default.
const std::string kArcFace = std::string(fg::nn::kResNet50Arch) + ":0123abcd";
const std::string kDlib = std::string(fg::nn::kDlibResNetArch) + ":4567ef01";

fg::cli::Args parse(std::vector<std::string> words) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return fg::cli::Args(static_cast<int>(argv.size()), argv.data(), {"--threshold"}, {});
}

TEST(Threshold, DefaultDependsOnTheModel) {
  EXPECT_FLOAT_EQ(fg::apps::model_default_threshold(kArcFace), 0.5f);
  EXPECT_FLOAT_EQ(fg::apps::model_default_threshold(kDlib), 0.91f);
  // An id without a digest still names its arch.
  EXPECT_FLOAT_EQ(fg::apps::model_default_threshold("dlib-resnet"), 0.91f);
}

TEST(Threshold, OptionOverCalibratedOverDefault) {
  const Threshold by_option = fg::apps::pick_threshold(parse({"--threshold", "0.3"}), 0.7, kDlib);
  EXPECT_FLOAT_EQ(by_option.value, 0.3f);
  EXPECT_EQ(by_option.source, Threshold::Source::option);
  const Threshold calibrated = fg::apps::pick_threshold(parse({}), 0.7, kDlib);
  EXPECT_FLOAT_EQ(calibrated.value, 0.7f);
  EXPECT_EQ(calibrated.source, Threshold::Source::calibrated);
  const Threshold fallback = fg::apps::pick_threshold(parse({}), std::nullopt, kDlib);
  EXPECT_FLOAT_EQ(fallback.value, 0.91f);
  EXPECT_EQ(fallback.source, Threshold::Source::model_default);
}

TEST(Threshold, BadOptionIsAUsageError) {
  for (const char* bad : {"1.5", "-2", "abc", "0.5x", ""}) {
    try {
      fg::apps::pick_threshold(parse({"--threshold", bad}), std::nullopt, kArcFace);
      ADD_FAILURE() << "accepted --threshold '" << bad << "'";
    } catch (const fg::cli::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("expected a cosine in -1..1"), std::string::npos) << e.what();
    }
  }
}

TEST(Threshold, WarnsOnlyForAnUncalibratedDefault) {
  const std::string warning =
      fg::apps::uncalibrated_warning(fg::apps::pick_threshold(parse({}), std::nullopt, kDlib), kDlib);
  EXPECT_NE(warning.find("threshold 0.91 is dlib-resnet's default"), std::string::npos) << warning;
  EXPECT_NE(warning.find("facegate calibrate"), std::string::npos) << warning;
  // As calibrate prints a threshold and --threshold reads it: 0.5, not 0.50.
  const std::string arcface =
      fg::apps::uncalibrated_warning(fg::apps::pick_threshold(parse({}), std::nullopt, kArcFace), kArcFace);
  EXPECT_NE(arcface.find("threshold 0.5 is resnet50-arcface's default"), std::string::npos) << arcface;
  EXPECT_EQ(fg::apps::uncalibrated_warning(fg::apps::pick_threshold(parse({}), 0.6, kDlib), kDlib), "");
  EXPECT_EQ(fg::apps::uncalibrated_warning(fg::apps::pick_threshold(parse({"--threshold", "0.6"}), std::nullopt, kDlib),
                                           kDlib),
            "");
  EXPECT_EQ(fg::apps::describe(fg::apps::pick_threshold(parse({}), std::nullopt, kArcFace), kArcFace),
            "default for resnet50-arcface, not calibrated");
}

}  // namespace
