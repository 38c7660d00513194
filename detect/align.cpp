#include "detect/align.h"

#include <algorithm>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "detect/face_chip.h"

namespace fg::detect {

Alignment parse_alignment(const std::string& name) {
  if (name == "box") return Alignment::box;
  if (name == "arcface") return Alignment::arcface;
  if (name == "dlib-chip") return Alignment::dlib_chip;
  throw std::invalid_argument("alignment: got '" + name + "', expected 'box', 'arcface' or 'dlib-chip'");
}

const char* alignment_name(Alignment a) {
  return a == Alignment::box ? "box" : a == Alignment::arcface ? "arcface" : "dlib-chip";
}

const std::array<std::array<float, 2>, 5>& arcface_template() {
  static const std::array<std::array<float, 2>, 5> t = {{{38.2946f, 51.6963f},
                                                         {73.5318f, 51.5014f},
                                                         {56.0252f, 71.7366f},
                                                         {41.5493f, 92.3655f},
                                                         {70.7299f, 92.2041f}}};
  return t;
}

cv::Mat arcface_transform(const std::array<std::array<float, 2>, 5>& landmarks) {
  return similarity_transform(landmarks, arcface_template());
}

cv::Mat similarity_transform(const std::array<std::array<float, 2>, 5>& landmarks,
                             const std::array<std::array<float, 2>, 5>& dst) {
  // Closed-form 2-D least squares for x' = [a -b; b a] x + t (Umeyama without reflection):
  // with both point sets centred, a = sum(s . d) / sum|s|^2 and b = sum(s x d) / sum|s|^2.
  double ms[2] = {0, 0}, md[2] = {0, 0};
  for (int i = 0; i < 5; ++i)
    for (int k = 0; k < 2; ++k) ms[k] += landmarks[i][k] / 5.0, md[k] += dst[i][k] / 5.0;
  double dot = 0, cross = 0, norm = 0;
  for (int i = 0; i < 5; ++i) {
    const double sx = landmarks[i][0] - ms[0], sy = landmarks[i][1] - ms[1];
    const double dx = dst[i][0] - md[0], dy = dst[i][1] - md[1];
    dot += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
    norm += sx * sx + sy * sy;
  }
  if (!(norm > 0)) throw std::invalid_argument("similarity_transform: the five landmarks coincide");
  const double a = dot / norm, b = cross / norm;
  cv::Mat m = (cv::Mat_<double>(2, 3) << a, -b, md[0] - (a * ms[0] - b * ms[1]),  //
               b, a, md[1] - (b * ms[0] + a * ms[1]));
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
  switch (mode) {
    case Alignment::box: return align_box(image, face);
    case Alignment::arcface: return align_arcface(image, face);
    case Alignment::dlib_chip: return align_dlib_chip(image, face);
  }
  throw std::invalid_argument("align: unknown alignment mode");
}

}  // namespace fg::detect
