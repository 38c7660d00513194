#include "detect/pyramid.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace fg::detect {
namespace {

// PyTorch's adaptive pooling bounds, float arithmetic included.
int start_index(int o, int out, int in) {
  return static_cast<int>(std::floor(static_cast<float>(int64_t{o} * in) / static_cast<float>(out)));
}
int end_index(int o, int out, int in) {
  return static_cast<int>(std::ceil(static_cast<float>(int64_t{o + 1} * in) / static_cast<float>(out)));
}

// bounds[2o], bounds[2o + 1] = the window of output o, offset by `first`.
void windows(int in, int out, int first, std::vector<int>& bounds) {
  bounds.resize(2 * static_cast<size_t>(out));
  for (int o = 0; o < out; ++o) {
    bounds[2 * o] = first + start_index(o, out, in);
    bounds[2 * o + 1] = first + end_index(o, out, in);
  }
}

}  // namespace

std::vector<double> pyramid_scales(int h, int w, int min_face, double factor) {
  std::vector<double> scales;
  const double m = 12.0 / min_face;
  double minl = std::min(h, w) * m;
  double scale = m;
  while (minl >= 12) {
    scales.push_back(scale);
    scale *= factor;
    minl *= factor;
  }
  return scales;
}

IntegralImage::IntegralImage(const cv::Mat& rgb, std::vector<uint32_t>& storage) : rows_(rgb.rows), cols_(rgb.cols) {
  if (rgb.type() != CV_8UC3 || rgb.empty())
    throw std::invalid_argument("IntegralImage: need a non-empty 8-bit 3-channel image");
  const size_t stride = (static_cast<size_t>(cols_) + 1) * 3;
  const size_t floats = (static_cast<size_t>(rows_) + 1) * stride;
  if (storage.size() < floats) storage.resize(floats);
  uint32_t* sum = storage.data();
  sum_ = sum;
  // Every entry is written below but row 0 and column 0, the zeros the sums start from.
  std::fill(sum, sum + stride, 0u);
  for (int y = 0; y < rows_; ++y) {
    const uint8_t* px = rgb.ptr<uint8_t>(y);
    const uint32_t* above = sum + static_cast<size_t>(y) * stride;
    uint32_t* row = sum + static_cast<size_t>(y + 1) * stride;
    row[0] = row[1] = row[2] = 0;
    uint32_t run[3] = {0, 0, 0};
    for (int x = 0; x < cols_; ++x)
      for (int c = 0; c < 3; ++c) {
        run[c] += px[3 * x + c];
        row[3 * (x + 1) + c] = above[3 * (x + 1) + c] + run[c];
      }
  }
}

void IntegralImage::resize_normalized(int y0, int y1, int x0, int x1, int oh, int ow, float* chw) const {
  if (y0 < 0 || x0 < 0 || y1 > rows_ || x1 > cols_ || y1 <= y0 || x1 <= x0 || oh < 1 || ow < 1)
    throw std::invalid_argument("resize_normalized: region [" + std::to_string(y0) + "," + std::to_string(y1) +
                                ")x[" + std::to_string(x0) + "," + std::to_string(x1) + ") of a " +
                                std::to_string(rows_) + "x" + std::to_string(cols_) + " image to " +
                                std::to_string(oh) + "x" + std::to_string(ow));
  std::vector<int> ry, rx;
  windows(y1 - y0, oh, y0, ry);
  windows(x1 - x0, ow, x0, rx);
  const size_t stride = (static_cast<size_t>(cols_) + 1) * 3;
  const size_t plane = static_cast<size_t>(oh) * ow;
  std::vector<float> kw(ow);
  for (int ox = 0; ox < ow; ++ox) kw[ox] = static_cast<float>(rx[2 * ox + 1] - rx[2 * ox]);
  for (int oy = 0; oy < oh; ++oy) {
    const int top = ry[2 * oy], bottom = ry[2 * oy + 1];
    const float kh = static_cast<float>(bottom - top);
    const uint32_t* s0 = sum_ + top * stride;
    const uint32_t* s1 = sum_ + bottom * stride;
    float* row[3];
    for (int c = 0; c < 3; ++c) row[c] = chw + c * plane + static_cast<size_t>(oy) * ow;
    for (int ox = 0; ox < ow; ++ox) {
      const int left = 3 * rx[2 * ox], right = 3 * rx[2 * ox + 1];
      for (int c = 0; c < 3; ++c)
        row[c][ox] = static_cast<float>(s1[right + c] - s1[left + c] - s0[right + c] + s0[left + c]);
    }
    // A separate pass so that the divisions vectorise; each is still one IEEE division, in
    // PyTorch's order.
    for (int c = 0; c < 3; ++c)
      for (int ox = 0; ox < ow; ++ox) row[c][ox] = (row[c][ox] / kh / kw[ox] - 127.5f) * 0.0078125f;
  }
}

}  // namespace fg::detect
