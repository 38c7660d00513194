// Face detection with MTCNN: facenet-pytorch's MTCNN(keep_all=True).detect re-implemented
// over nn::Mtcnn, so that the same weights give the same boxes, probabilities and landmarks.
// Image in, faces out; nothing else.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace fg::detect {

struct Options {
  int min_face = 20;                             // smallest face side searched (12..65536 px)
  std::array<float, 3> thresholds{0.6f, 0.7f, 0.7f};  // face probability for P-, R-, O-Net
  double factor = 0.709;                         // pyramid scale step, in [0.1, 0.99]
  int max_faces = 0;                             // keep the largest N; 0 keeps all
  // Images whose longer side exceeds this are first shrunk to it (INTER_AREA) and the faces
  // mapped back, which bounds memory: about 20 bytes per pixel of the shrunk image, plus at
  // most ~100 MB of network buffers (290 MB in all for a 10000 x 10000 input). min_face then
  // applies to the shrunk image. >= 64.
  int max_side = 4096;
  int threads = 1;
};

struct Face {
  std::array<float, 4> box{};  // x1, y1, x2, y2 in pixels of the input image
  float prob = 0;              // ONet's face probability
  // Left eye, right eye, nose, left and right mouth corner ("left" = image left), (x, y).
  std::array<std::array<float, 2>, 5> landmarks{};
};

class Detector {
 public:
  // Loads an mtcnn.fgw written by `facegate convert`. Throws weights::WeightsError for a
  // missing, corrupt or foreign file, std::invalid_argument for options out of range.
  explicit Detector(const std::string& weights_path, const Options& options = {});
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  const Options& options() const;

  // The faces in `image`, largest box first. Takes 8- or 16-bit images with 1 (gray), 3 (BGR,
  // as cv::imread gives) or 4 (BGRA) channels; 16-bit samples keep their high byte, as
  // cv::imread does for PNG. An image below 12 px on a side has no faces. Throws
  // std::invalid_argument for an empty image or any other type. Not thread-safe: use one
  // Detector per thread (each owns its buffers and thread pool).
  std::vector<Face> detect(const cv::Mat& image);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fg::detect
