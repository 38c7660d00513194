// Face crops for the embedder. Which one a model wants is its weights file's `alignment`
// metadata ("box", "arcface" or "dlib-chip"); a command-line flag may override it.
#pragma once

#include <array>
#include <string>

#include <opencv2/core.hpp>

#include "detect/detector.h"

namespace fg::detect {

enum class Alignment { box, arcface, dlib_chip };

constexpr int kAlignedSize = 112;

// "box", "arcface" or "dlib-chip"; throws std::invalid_argument naming the value otherwise.
Alignment parse_alignment(const std::string& name);
const char* alignment_name(Alignment a);

// insightface's ArcFace template in a 112 x 112 crop, in Face::landmarks order.
const std::array<std::array<float, 2>, 5>& arcface_template();

// The least-squares similarity transform (rotation, uniform scale, translation; Umeyama's
// solution, as insightface's estimate_norm) taking `landmarks` onto `target`, as a 2 x 3
// CV_64F matrix for cv::warpAffine. Throws std::invalid_argument if all five coincide.
cv::Mat similarity_transform(const std::array<std::array<float, 2>, 5>& landmarks,
                             const std::array<std::array<float, 2>, 5>& target);
// similarity_transform onto arcface_template().
cv::Mat arcface_transform(const std::array<std::array<float, 2>, 5>& landmarks);

// box: the prototype's crop. The face box truncated to integers and clipped to the image,
// cropped and stretched to 112 x 112 with INTER_LINEAR. Throws std::invalid_argument when
// the clipped box is empty.
cv::Mat align_box(const cv::Mat& image, const Face& face);
// arcface: `image` warped by arcface_transform(face.landmarks) into 112 x 112 (INTER_LINEAR,
// black outside the image).
cv::Mat align_arcface(const cv::Mat& image, const Face& face);
// dlib-chip: see detect/face_chip.h (150 x 150).
cv::Mat align(const cv::Mat& image, const Face& face, Alignment mode);

}  // namespace fg::detect
