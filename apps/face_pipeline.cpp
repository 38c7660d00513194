#include "apps/face_pipeline.h"

namespace fg::apps {

FacePipeline::FacePipeline(const FaceOptions& o) : embedder_(o.model, o.threads) {
  align_ = o.align ? *o.align : detect::parse_alignment(embedder_.alignment());
  if (!o.detector.empty()) {
    detect::Options d;
    d.min_face = o.min_face;
    d.threads = o.threads;
    detector_ = std::make_unique<detect::Detector>(o.detector, d);
  }
}

FacePipeline::~FacePipeline() = default;

std::vector<EmbeddedFace> FacePipeline::faces(const cv::Mat& image, bool largest_only) {
  std::vector<EmbeddedFace> out;
  std::vector<cv::Mat> crops;
  if (!detector_) {
    out.emplace_back();
    crops.push_back(image);
  } else {
    for (const detect::Face& f : detector_->detect(image)) {
      out.push_back({f, {}});
      crops.push_back(detect::align(image, f, align_));
      if (largest_only) break;
    }
  }
  if (crops.empty()) return out;
  std::vector<float> emb(crops.size() * static_cast<size_t>(embedder_.dim()));
  embedder_.embed(crops, emb.data());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].embedding.assign(emb.begin() + static_cast<std::ptrdiff_t>(i * embedder_.dim()),
                            emb.begin() + static_cast<std::ptrdiff_t>((i + 1) * embedder_.dim()));
  }
  return out;
}

}  // namespace fg::apps
