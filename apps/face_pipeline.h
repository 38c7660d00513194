// Image -> faces -> embeddings, as every gallery command needs it: MTCNN finds the faces
// (or, with no detector, the whole image is the face crop), each is aligned the way the
// embedding model wants, and embedded.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "detect/align.h"
#include "detect/detector.h"
#include "nn/embedder.h"

namespace fg::apps {

struct FaceOptions {
  std::string model;                         // resnet50.fgw
  std::string detector;                      // mtcnn.fgw; "" = no detection (whole image)
  std::optional<detect::Alignment> align;    // overrides the model's "alignment" metadata
  int min_face = 20;
  int threads = 1;
};

struct EmbeddedFace {
  std::optional<detect::Face> face;  // absent when the whole image was the crop
  std::vector<float> embedding;      // unit length
};

class FacePipeline {
 public:
  // Throws weights::WeightsError / std::invalid_argument for bad model files or options.
  explicit FacePipeline(const FaceOptions& options);
  ~FacePipeline();

  const std::string& model_id() const { return embedder_.model_id(); }
  int dim() const { return embedder_.dim(); }
  bool detects() const { return detector_ != nullptr; }

  // The faces of `image` (8-bit BGR), largest first; only the largest with largest_only.
  // Empty when a detector finds none.
  std::vector<EmbeddedFace> faces(const cv::Mat& image, bool largest_only);

  // The same in two steps, so a video can track faces first and embed only the tracks that
  // need it. detect() requires a detector.
  std::vector<detect::Face> detect(const cv::Mat& image);
  // One unit embedding per face, aligned the way the model wants.
  std::vector<std::vector<float>> embed(const cv::Mat& image, const std::vector<detect::Face>& faces);

 private:
  nn::Embedder embedder_;
  std::unique_ptr<detect::Detector> detector_;
  detect::Alignment align_;
};

}  // namespace fg::apps
