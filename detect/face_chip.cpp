#include "detect/face_chip.h"

#include <opencv2/imgproc.hpp>

#include "detect/align.h"

namespace fg::detect {
namespace {

// dlib's mean_face_shape_x/y (interpolation.h) for the points we need: 36..41 (left eye),
// 42..47 (right eye), 30 (nose tip), 48 and 54 (mouth corners); coordinates in [0, 1].
constexpr double kLeftEye[6][2] = {{0.121737, 0.216423}, {0.187122, 0.178758}, {0.265825, 0.179852},
                                   {0.334606, 0.231733}, {0.260918, 0.245099}, {0.182743, 0.244077}};
constexpr double kRightEye[6][2] = {{0.645647, 0.231733}, {0.714428, 0.179852}, {0.793132, 0.178758},
                                    {0.858516, 0.216423}, {0.79751, 0.244077},  {0.719335, 0.245099}};
constexpr double kNoseTip[2] = {0.490127, 0.628106};
constexpr double kMouthLeft[2] = {0.254149, 0.780233};
constexpr double kMouthRight[2] = {0.726104, 0.780233};
constexpr double kPadding = 0.25;

std::array<float, 2> to_chip(double x, double y) {
  const double scale = kDlibChipSize / (1 + 2 * kPadding);
  return {static_cast<float>((x + kPadding) * scale), static_cast<float>((y + kPadding) * scale)};
}

std::array<float, 2> eye_centre(const double (&pts)[6][2]) {
  double x = 0, y = 0;
  for (const auto& p : pts) x += p[0] / 6, y += p[1] / 6;
  return to_chip(x, y);
}

}  // namespace

const std::array<std::array<float, 2>, 5>& dlib_chip_template() {
  static const std::array<std::array<float, 2>, 5> t = {eye_centre(kLeftEye), eye_centre(kRightEye),
                                                        to_chip(kNoseTip[0], kNoseTip[1]),
                                                        to_chip(kMouthLeft[0], kMouthLeft[1]),
                                                        to_chip(kMouthRight[0], kMouthRight[1])};
  return t;
}

cv::Mat align_dlib_chip(const cv::Mat& image, const Face& face) {
  cv::Mat out;
  cv::warpAffine(image, out, similarity_transform(face.landmarks, dlib_chip_template()),
                 cv::Size(kDlibChipSize, kDlibChipSize), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

}  // namespace fg::detect
