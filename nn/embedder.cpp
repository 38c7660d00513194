#include "nn/embedder.h"

#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "nn/dlib_resnet.h"
#include "nn/resnet50.h"

namespace fg::nn {

void image_to_input(const cv::Mat& bgr, const InputSpec& spec, float* chw) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw std::invalid_argument("expected a non-empty 8-bit 3-channel image, got " +
                                std::to_string(bgr.cols) + "x" + std::to_string(bgr.rows) + " type " +
                                std::to_string(bgr.type()));
  }
  cv::Mat sized = bgr;
  if (bgr.cols != spec.size || bgr.rows != spec.size) {
    cv::resize(bgr, sized, cv::Size(spec.size, spec.size), 0, 0, cv::INTER_LINEAR);
  }
  const size_t plane = static_cast<size_t>(spec.size) * spec.size;
  for (int y = 0; y < spec.size; ++y) {
    const uint8_t* row = sized.ptr<uint8_t>(y);
    for (int x = 0; x < spec.size; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int src = spec.rgb ? 2 - c : c;  // OpenCV decodes BGR
        chw[c * plane + static_cast<size_t>(y) * spec.size + x] =
            (static_cast<float>(row[x * 3 + src]) - spec.mean[c]) / spec.std[c];
      }
    }
  }
}

struct Embedder::Net {
  virtual ~Net() = default;
  virtual int input_size() const = 0;
  virtual int dim() const = 0;
  virtual void forward(const float* images, int batch, float* out, ThreadPool& pool) = 0;
};

namespace {
// ResNet-50 runs whole images per thread at batch >= threads: one workspace lane each.
std::unique_ptr<ResNet50::Workspace> workspace_for(const ResNet50& net, int threads) {
  return net.make_workspace(threads);
}
std::unique_ptr<DlibResNet::Workspace> workspace_for(const DlibResNet& net, int) {
  return net.make_workspace();
}
}  // namespace

template <typename Network>
struct Embedder::NetOf : Embedder::Net {
  NetOf(const weights::WeightsFile& file, int threads) : net(file), ws(workspace_for(net, threads)) {}
  int input_size() const override { return net.input_size(); }
  int dim() const override { return net.dim(); }
  void forward(const float* images, int batch, float* out, ThreadPool& pool) override {
    net.forward(images, batch, out, *ws, pool);
  }
  Network net;
  std::unique_ptr<typename Network::Workspace> ws;
};

Embedder::Embedder(const std::string& weights_path, int threads) {
  auto file = weights::WeightsFile::open(weights_path);
  const std::string& arch = file.meta_string("arch");
  if (arch == kResNet50Arch) {
    net_ = std::make_unique<NetOf<ResNet50>>(file, threads);
  } else if (arch == kDlibResNetArch) {
    net_ = std::make_unique<NetOf<DlibResNet>>(file, threads);
  } else {
    throw weights::WeightsError(weights_path + ": arch: got '" + arch + "', expected '" + kResNet50Arch + "' or '" +
                                kDlibResNetArch + "'");
  }
  dim_ = net_->dim();
  spec_.size = net_->input_size();
  const auto& mean = file.meta_floats("mean");
  const auto& std = file.meta_floats("std");
  if (mean.size() != 3 || std.size() != 3) {
    throw weights::WeightsError(weights_path + ": mean/std: got " + std::to_string(mean.size()) + "/" +
                                std::to_string(std.size()) + " values, expected 3/3");
  }
  for (int c = 0; c < 3; ++c) {
    if (!(std[c] > 0)) throw weights::WeightsError(weights_path + ": std must be positive");
    spec_.mean[c] = mean[c];
    spec_.std[c] = std[c];
  }
  const std::string& order = file.meta_string("colour_order");
  if (order != "rgb" && order != "bgr") {
    throw weights::WeightsError(weights_path + ": colour_order: got '" + order + "', expected 'rgb' or 'bgr'");
  }
  spec_.rgb = order == "rgb";
  model_id_ = file.meta_string("arch") + ":" + file.meta_string("source_sha256");
  alignment_ = file.meta_string("alignment");
  pool_ = std::make_unique<ThreadPool>(threads);
}

Embedder::~Embedder() = default;

void Embedder::embed(const std::vector<cv::Mat>& images, float* out) {
  const size_t per_image = 3 * static_cast<size_t>(spec_.size) * spec_.size;
  input_.resize(per_image * images.size());
  for (size_t i = 0; i < images.size(); ++i) image_to_input(images[i], spec_, input_.data() + i * per_image);
  net_->forward(input_.data(), static_cast<int>(images.size()), out, *pool_);
}

}  // namespace fg::nn
