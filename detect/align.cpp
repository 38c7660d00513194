#include "detect/align.h"

#include <algorithm>
#include <stdexcept>

#include <Eigen/Geometry>
#include <opencv2/imgproc.hpp>

namespace fg::detect {

Alignment parse_alignment(const std::string& name) {
  if (name == "box") return Alignment::box;
  if (name == "arcface") return Alignment::arcface;
  throw std::invalid_argument("alignment: got '" + name + "', expected 'box' or 'arcface'");
}

const char* alignment_name(Alignment a) { return a == Alignment::box ? "box" : "arcface"; }

const std::array<std::array<float, 2>, 5>& arcface_template() {
  static const std::array<std::array<float, 2>, 5> t = {{{38.2946f, 51.6963f},
                                                         {73.5318f, 51.5014f},
                                                         {56.0252f, 71.7366f},
                                                         {41.5493f, 92.3655f},
                                                         {70.7299f, 92.2041f}}};
  return t;
}

cv::Mat arcface_transform(const std::array<std::array<float, 2>, 5>& landmarks) {
  Eigen::Matrix<double, 2, 5> src, dst;
  for (int i = 0; i < 5; ++i) {
    src.col(i) << landmarks[i][0], landmarks[i][1];
    dst.col(i) << arcface_template()[i][0], arcface_template()[i][1];
  }
  const Eigen::Matrix3d t = Eigen::umeyama(src, dst, true);
  cv::Mat m(2, 3, CV_64F);
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) m.at<double>(r, c) = t(r, c);
  return m;
}

cv::Mat align_box(const cv::Mat& image, const Face& face) {
  // int(max(x1, 0)) .. int(min(x2, width)): truncation of non-negative values.
  const int x0 = static_cast<int>(std::max(face.box[0], 0.0f));
  const int y0 = static_cast<int>(std::max(face.box[1], 0.0f));
  const int x1 = static_cast<int>(std::min(face.box[2], static_cast<float>(image.cols)));
  const int y1 = static_cast<int>(std::min(face.box[3], static_cast<float>(image.rows)));
  if (x1 <= x0 || y1 <= y0)
    throw std::invalid_argument("align_box: box [" + std::to_string(face.box[0]) + ", " + std::to_string(face.box[1]) +
                                ", " + std::to_string(face.box[2]) + ", " + std::to_string(face.box[3]) +
                                "] has no pixels inside the " + std::to_string(image.cols) + "x" +
                                std::to_string(image.rows) + " image");
  cv::Mat out;
  cv::resize(image(cv::Rect(x0, y0, x1 - x0, y1 - y0)), out, cv::Size(kAlignedSize, kAlignedSize), 0, 0,
             cv::INTER_LINEAR);
  return out;
}

cv::Mat align_arcface(const cv::Mat& image, const Face& face) {
  cv::Mat out;
  cv::warpAffine(image, out, arcface_transform(face.landmarks), cv::Size(kAlignedSize, kAlignedSize),
                 cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

cv::Mat align(const cv::Mat& image, const Face& face, Alignment mode) {
  return mode == Alignment::box ? align_box(image, face) : align_arcface(image, face);
}

}  // namespace fg::detect
