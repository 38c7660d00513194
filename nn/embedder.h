// The face embedder behind `facegate embed`: loads a .fgw file, owns the network, its thread
// pool and workspace, and turns decoded images into unit-length embeddings.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nn/thread_pool.h"

namespace fg::nn {

// How images are prepared for a model, as its weights file's metadata says.
struct InputSpec {
  int size = 112;                  // square input, pixels
  float mean[3] = {127.5f, 127.5f, 127.5f};
  float std[3] = {127.5f, 127.5f, 127.5f};
  bool rgb = true;                 // channel order the network expects
};

// BGR 8-bit image -> planar float (3 x size x size): channel order per spec, resized with
// bilinear interpolation (cv::INTER_LINEAR) unless already size x size, then (x - mean) / std.
// Throws std::invalid_argument unless `bgr` is a non-empty CV_8UC3 image.
void image_to_input(const cv::Mat& bgr, const InputSpec& spec, float* chw);

// Runs the network the weights file's "arch" names: kResNet50Arch or kDlibResNetArch.
class Embedder {
 public:
  // Throws weights::WeightsError for a missing, corrupt or foreign weights file.
  Embedder(const std::string& weights_path, int threads);
  ~Embedder();

  int dim() const { return dim_; }
  const InputSpec& input() const { return spec_; }
  // "<arch>:<sha256 of the source checkpoint>": embeddings are comparable only within one id.
  const std::string& model_id() const { return model_id_; }
  // The face crop the model was trained on: the weights file's "alignment" ("box",
  // "arcface" or "dlib-chip").
  const std::string& alignment() const { return alignment_; }

  // out: images.size() x dim() floats.
  void embed(const std::vector<cv::Mat>& images, float* out);

 private:
  struct Net;  // the network with its workspace, behind one interface
  template <typename Network>
  struct NetOf;
  InputSpec spec_;
  int dim_ = 0;
  std::string model_id_, alignment_;
  std::unique_ptr<Net> net_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<float> input_;
};

}  // namespace fg::nn
