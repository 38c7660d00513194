// The similarity threshold identify and attend match faces with: --threshold, else the DB's
// calibrated one (facegate calibrate), else the model's default.
#pragma once

#include <optional>
#include <string>

#include "apps/cli.h"

namespace fg::apps {

// The default for a model id ("<arch>:<sha256>") when nothing is calibrated:
// - resnet50-arcface: 0.5, the model card's suggested same-person cosine;
// - dlib-resnet: 0.91, dlib's documented rule (Euclidean distance < 0.6 between raw
//   descriptors) as a cosine for the descriptors' typical raw norm r ~ 1.45 (measured
//   1.32-1.58): |a - b|^2 = 2 r^2 (1 - cos), so cos = 1 - 0.18 / r^2. 0.5 let strangers through.
float model_default_threshold(const std::string& model_id);

struct Threshold {
  enum class Source { option, calibrated, model_default };
  float value = 0;
  Source source = Source::model_default;
};

// Throws cli::UsageError for a --threshold that is not a cosine in -1..1.
Threshold pick_threshold(const cli::Args& args, std::optional<double> calibrated, const std::string& model_id);

// "--threshold", "calibrated" or "default for <arch>, not calibrated".
std::string describe(const Threshold& t, const std::string& model_id);

// The threshold as the shortest decimal that reads back as the same float (as --threshold
// reads it, with std::stof): thresholds one float apart never print alike, and the printed
// value passed to identify or attend accepts exactly what the calibrated one does.
std::string threshold_text(float threshold);

// The warning for an uncalibrated default, "" otherwise.
std::string uncalibrated_warning(const Threshold& t, const std::string& model_id);

}  // namespace fg::apps
