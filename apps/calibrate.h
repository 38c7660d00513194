// Open-set threshold calibration from the enrolled gallery itself (leave-one-out), and its plot.
//
// Scores, for every image i (cosine of L2-normalised embeddings):
//   genuine(i)  = best cosine to another image of i's identity; only when that identity has
//                 at least 2 images.
//   impostor(i) = best cosine to any image of another identity: the score of the wrong
//                 identity an identity-level search would rank first for i.
// Threshold rule (a score s is accepted when s >= threshold): with n impostor scores sorted
// in descending order s(1) >= s(2) >= ... >= s(n) and k = floor(far * n) false accepts
// allowed, the threshold is the smallest float above s(k+1). Any threshold <= s(k+1) accepts
// at least k+1 impostors; this one accepts only those strictly above s(k+1), so the achieved
// FAR is <= far, and below it when scores tie at s(k+1); ties are common, because two images
// that are each other's best wrong match share one score. When far * n < 1 the threshold sits
// just above the best impostor score and the achieved FAR of 0 says little: more images needed.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace fg::apps {

// Too few samples to calibrate, or malformed ones; the message says what is needed.
struct CalibrationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CalibrationSample {
  std::string identity_id;
  std::vector<float> embedding;  // any dim, the same for all; normalised again here
};

struct CalibrationScores {
  std::vector<float> genuine;   // ascending
  std::vector<float> impostor;  // ascending, one per image
  size_t identities = 0;
  size_t images = 0;
};

struct Calibration {
  CalibrationScores scores;
  double far_target = 0;
  float threshold = 0;
  size_t false_accepts = 0;  // impostor scores >= threshold
  size_t false_rejects = 0;  // genuine scores < threshold

  double far() const { return double(false_accepts) / double(scores.impostor.size()); }
  double frr() const { return double(false_rejects) / double(scores.genuine.size()); }
  // True when far_target * impostor count < 1: too few impostors to measure far_target.
  bool below_resolution() const { return far_target * double(scores.impostor.size()) < 1.0; }
};

// Brute-force leave-one-out scores on `threads` threads. Throws CalibrationError when the
// samples span fewer than 2 identities, no identity has 2 images, dims differ, or a vector is
// zero or not finite.
CalibrationScores leave_one_out_scores(const std::vector<CalibrationSample>& samples, int threads = 1);

// The threshold for `far` in (0, 1) by the rule above, with the error counts there.
// Throws CalibrationError when either score list is empty or far is out of range.
Calibration choose_threshold(CalibrationScores scores, double far);

// Size of the plot written by write_calibration_plot.
constexpr int kPlotWidth = 1400;
constexpr int kPlotHeight = 560;

// Writes a kPlotWidth x kPlotHeight PNG: genuine and impostor score histograms with the
// threshold (left), ROC with the chosen point (right). The file appears whole or not at all
// (temp file + rename). Throws std::runtime_error naming the path on failure.
void write_calibration_plot(const Calibration& calibration, const std::string& png_path);

}  // namespace fg::apps
