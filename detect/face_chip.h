// dlib's 150 x 150 face chip (the crop dlib's ResNet descriptor was trained on), from the five
// MTCNN landmarks instead of dlib's 68-point shape predictor.
#pragma once

#include <array>

#include <opencv2/core.hpp>

#include "detect/detector.h"

namespace fg::detect {

constexpr int kDlibChipSize = 150;

// Where dlib's get_face_chip_details(shape, 150, 0.25) puts the eye centres, nose tip and
// mouth corners, in Face::landmarks order: points of dlib's mean face shape (the means of its
// points 36-41 and 42-47, point 30, points 48 and 54), padded by 0.25 and scaled to 150.
const std::array<std::array<float, 2>, 5>& dlib_chip_template();

// `image` warped by similarity_transform(face.landmarks, dlib_chip_template()) into
// 150 x 150 (INTER_LINEAR, black outside the image).
cv::Mat align_dlib_chip(const cv::Mat& image, const Face& face);

}  // namespace fg::detect
