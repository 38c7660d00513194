#include "apps/threshold.h"

#include <charconv>
#include <exception>

namespace fg::apps {
namespace {

std::string arch_of(const std::string& model_id) { return model_id.substr(0, model_id.find(':')); }

}  // namespace

float model_default_threshold(const std::string& model_id) {
  return arch_of(model_id) == "dlib-resnet" ? 0.91f : 0.5f;
}

Threshold pick_threshold(const cli::Args& args, std::optional<double> calibrated, const std::string& model_id) {
  if (args.has("--threshold")) {
    const std::string text = args.get("--threshold");
    try {
      size_t used = 0;
      const float t = std::stof(text, &used);
      if (used == text.size() && t >= -1 && t <= 1) return {t, Threshold::Source::option};
    } catch (const std::exception&) {
    }
    throw cli::UsageError("--threshold: got '" + text + "', expected a cosine in -1..1");
  }
  if (calibrated) return {static_cast<float>(*calibrated), Threshold::Source::calibrated};
  return {model_default_threshold(model_id), Threshold::Source::model_default};
}

std::string describe(const Threshold& t, const std::string& model_id) {
  switch (t.source) {
    case Threshold::Source::option:
      return "--threshold";
    case Threshold::Source::calibrated:
      return "calibrated";
    case Threshold::Source::model_default:
      break;
  }
  return "default for " + arch_of(model_id) + ", not calibrated";
}

std::string threshold_text(float threshold) {
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, threshold).ptr);
}

std::string uncalibrated_warning(const Threshold& t, const std::string& model_id) {
  if (t.source != Threshold::Source::model_default) return "";
  return "warning: threshold " + threshold_text(t.value) + " is " + arch_of(model_id) +
         "'s default, not calibrated for this gallery: strangers may be taken for enrolled people (run "
         "facegate calibrate --db DB, or give --threshold)";
}

}  // namespace fg::apps
