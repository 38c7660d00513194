// The three stages of MTCNN detection on one image (see facenet-pytorch's detect_face).
// Internal to detect/.
#pragma once

#include <vector>

#include "detect/boxes.h"
#include "detect/detector.h"
#include "detect/pyramid.h"
#include "nn/mtcnn.h"

namespace fg::detect {

// The network, its pool and every buffer the stages reuse from one image to the next.
struct Runner {
  const nn::Mtcnn& net;
  nn::ThreadPool& pool;
  nn::Mtcnn::Workspace& ws;
  std::vector<float>& level;  // one pyramid level, or a chunk of crops
  std::vector<float>& out;    // net outputs
};

// Stage 1: PNet over the pyramid; boxes with face probability >= threshold, NMS 0.5 per
// scale then 0.7 across scales, regressed and squared.
std::vector<Candidate> propose(const IntegralImage& image, const Options& opt, Runner& r);
// Stage 2: RNet on 24 x 24 crops; probability > threshold, NMS 0.7, regressed and squared.
std::vector<Candidate> refine(const IntegralImage& image, const std::vector<Candidate>& in, float threshold,
                              Runner& r);
// Stage 3: ONet on 48 x 48 crops; probability > threshold, landmarks from the crop box,
// regressed, NMS 0.7 'Min'. Faces in the reference's order (not yet sorted by size).
std::vector<Face> finish(const IntegralImage& image, const std::vector<Candidate>& in, float threshold, Runner& r);

}  // namespace fg::detect
