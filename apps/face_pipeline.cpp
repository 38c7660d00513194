#include "apps/face_pipeline.h"

#include <stdexcept>

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

std::vector<detect::Face> FacePipeline::detect(const cv::Mat& image) {
  if (!detector_) throw std::invalid_argument("no face detector given (--detector MTCNN.fgw)");
  return detector_->detect(image);
}

namespace {
std::vector<std::vector<float>> embed_crops(nn::Embedder& embedder, const std::vector<cv::Mat>& crops) {
  const size_t dim = static_cast<size_t>(embedder.dim());
  std::vector<float> all(crops.size() * dim);
  if (!crops.empty()) embedder.embed(crops, all.data());
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < crops.size(); ++i) out.emplace_back(all.begin() + i * dim, all.begin() + (i + 1) * dim);
  return out;
}
}  // namespace

std::vector<std::vector<float>> FacePipeline::embed(const cv::Mat& image, const std::vector<detect::Face>& faces) {
  std::vector<cv::Mat> crops;
  for (const detect::Face& f : faces) crops.push_back(detect::align(image, f, align_));
  return embed_crops(embedder_, crops);
}

std::vector<EmbeddedFace> FacePipeline::faces(const cv::Mat& image, bool largest_only) {
  if (!detector_) return {{std::nullopt, embed_crops(embedder_, {image}).front()}};
  std::vector<detect::Face> found = detect(image);
  if (largest_only && found.size() > 1) found.resize(1);
  std::vector<std::vector<float>> emb = embed(image, found);
  std::vector<EmbeddedFace> out;
  for (size_t i = 0; i < found.size(); ++i) out.push_back({found[i], std::move(emb[i])});
  return out;
}

}  // namespace fg::apps
