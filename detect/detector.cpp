#include "detect/detector.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "detect/stages.h"

namespace fg::detect {
namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("detector options: " + what);
}

void validate(const Options& o) {
  check(o.min_face >= nn::Mtcnn::kPnetMin && o.min_face <= 65536,
        "min_face " + std::to_string(o.min_face) + " is outside 12..65536");
  for (float t : o.thresholds) check(t >= 0.0f && t <= 1.0f, "threshold " + std::to_string(t) + " is outside 0..1");
  check(o.factor >= 0.1 && o.factor <= 0.99, "factor " + std::to_string(o.factor) + " is outside 0.1..0.99");
  check(o.max_faces >= 0, "max_faces " + std::to_string(o.max_faces) + " is negative");
  check(o.max_side >= 64, "max_side " + std::to_string(o.max_side) + " is below 64");
  check(o.threads >= 1 && o.threads <= 256, "threads " + std::to_string(o.threads) + " is outside 1..256");
}

std::string type_name(const cv::Mat& m) {
  return cv::typeToString(m.type()) + " (" + std::to_string(m.cols) + "x" + std::to_string(m.rows) + ")";
}

void check_supported(const cv::Mat& image) {
  if (image.empty()) throw std::invalid_argument("detect: empty image");
  const int c = image.channels();
  if (image.dims != 2 || (image.depth() != CV_8U && image.depth() != CV_16U) || (c != 1 && c != 3 && c != 4))
    throw std::invalid_argument("detect: unsupported image type " + type_name(image) +
                                ", expected 8- or 16-bit with 1, 3 or 4 channels");
}

// `image` shrunk (area interpolation) so that its longer side is at most max_side, before
// any conversion so that no full-size copy is ever made.
cv::Mat bounded(const cv::Mat& image, int max_side) {
  const int side = std::max(image.rows, image.cols);
  if (side <= max_side) return image;
  const double s = static_cast<double>(max_side) / side;
  const cv::Size size(std::max(1, static_cast<int>(std::lround(image.cols * s))),
                      std::max(1, static_cast<int>(std::lround(image.rows * s))));
  cv::Mat small;
  cv::resize(image, small, size, 0, 0, cv::INTER_AREA);
  return small;
}

// The 8-bit RGB pixels the reference sees.
cv::Mat to_rgb8(const cv::Mat& image) {
  cv::Mat eight = image;
  if (image.depth() == CV_16U) {
    // The high byte, as cv::imread's 8-bit PNG decoding does.
    eight.create(image.size(), CV_MAKETYPE(CV_8U, image.channels()));
    const int n = image.cols * image.channels();
    for (int y = 0; y < image.rows; ++y) {
      const uint16_t* src = image.ptr<uint16_t>(y);
      uint8_t* dst = eight.ptr<uint8_t>(y);
      for (int i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] >> 8);
    }
  }
  static const int kToRgb[5] = {-1, cv::COLOR_GRAY2RGB, -1, cv::COLOR_BGR2RGB, cv::COLOR_BGRA2RGB};
  cv::Mat rgb;
  cv::cvtColor(eight, rgb, kToRgb[eight.channels()]);
  return rgb;
}

}  // namespace

struct Detector::State {
  explicit State(const std::string& path, const Options& o)
      : options(o), net(weights::WeightsFile::open(path)), pool(o.threads) {}
  Options options;
  nn::Mtcnn net;
  nn::ThreadPool pool;
  nn::Mtcnn::Workspace ws;
  std::vector<float> level, out;
  std::vector<uint32_t> sums;  // the frame's summed-area table
};

Detector::Detector(const std::string& weights_path, const Options& options) {
  validate(options);
  state_ = std::make_unique<State>(weights_path, options);
}

Detector::~Detector() = default;

const Options& Detector::options() const { return state_->options; }

std::vector<Face> Detector::detect(const cv::Mat& image) {
  const Options& opt = state_->options;
  check_supported(image);
  cv::Mat rgb = to_rgb8(bounded(image, opt.max_side));
  const bool shrunk = rgb.size() != image.size();
  // Maps the shrunk image's coordinates back to the input's.
  const float sx = static_cast<float>(image.cols) / rgb.cols, sy = static_cast<float>(image.rows) / rgb.rows;
  if (std::min(rgb.rows, rgb.cols) < nn::Mtcnn::kPnetMin) return {};

  std::vector<Face> faces;
  {
    const IntegralImage integral(rgb, state_->sums);
    rgb.release();
    Runner r{state_->net, state_->pool, state_->ws, state_->level, state_->out};
    std::vector<Candidate> c = propose(integral, opt, r);
    if (!c.empty()) c = refine(integral, c, opt.thresholds[1], r);
    if (!c.empty()) faces = finish(integral, c, opt.thresholds[2], r);
  }

  // Largest first, as the reference's argsort(area)[::-1]: ties keep the later face first.
  std::vector<float> area(faces.size());
  for (size_t i = 0; i < faces.size(); ++i)
    area[i] = (faces[i].box[2] - faces[i].box[0]) * (faces[i].box[3] - faces[i].box[1]);
  std::vector<int> order(faces.size());
  std::iota(order.rbegin(), order.rend(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return area[a] > area[b]; });
  if (opt.max_faces > 0 && static_cast<int>(order.size()) > opt.max_faces) order.resize(opt.max_faces);

  std::vector<Face> out;
  for (int i : order) {
    Face f = faces[i];
    if (shrunk) {
      for (int k = 0; k < 4; ++k) f.box[k] *= k % 2 ? sy : sx;
      for (auto& p : f.landmarks) p = {p[0] * sx, p[1] * sy};
    }
    out.push_back(f);
  }
  return out;
}

}  // namespace fg::detect
