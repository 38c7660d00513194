// The image pyramid and the crops fed to the nets, resized as facenet-pytorch does with
// F.interpolate(mode="area"), i.e. adaptive average pooling in float: output pixel o of n
// averages input [floor(o * in / n), ceil((o + 1) * in / n)) (bounds computed in float, as
// PyTorch does) as sum / kh / kw. Internal to detect/.
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

namespace fg::detect {

// Scales of the pyramid for an h x w image: 12 / min_face, times factor while the shorter
// side stays >= 12 (computed in double, as the reference does).
std::vector<double> pyramid_scales(int h, int w, int min_face, double factor);

// Summed-area table of an 8-bit RGB image, so that any window sum costs four reads whatever
// the scale. Sums wrap modulo 2^32; a window's sum is below 2^32, so differences are exact.
class IntegralImage {
 public:
  // rgb: CV_8UC3. The table lives in `storage`, grown when too small and otherwise reused as
  // it is: a detector keeps one across frames, so that a frame neither zero-fills nor
  // page-faults in a fresh 3.7 MB (640x480) table.
  IntegralImage(const cv::Mat& rgb, std::vector<uint32_t>& storage);
  int rows() const { return rows_; }
  int cols() const { return cols_; }

  // Region rows [y0, y1) x columns [x0, x1) (non-empty, inside the image) resized to oh x ow,
  // written planar 3 x oh x ow and scaled as the nets expect: (v - 127.5) * 0.0078125.
  void resize_normalized(int y0, int y1, int x0, int x1, int oh, int ow, float* chw) const;

 private:
  int rows_ = 0, cols_ = 0;
  const uint32_t* sum_ = nullptr;  // (rows + 1) x (cols + 1) x 3
};

}  // namespace fg::detect
