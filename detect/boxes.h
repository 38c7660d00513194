// Box arithmetic and non-maximum suppression of facenet-pytorch's MTCNN, operation for
// operation in float32 so that borderline decisions (thresholds, overlaps, integer crops) come
// out as they do there. Internal to detect/.
#pragma once

#include <vector>

namespace fg::detect {

struct Candidate {
  float box[4] = {0, 0, 0, 0};  // x1, y1, x2, y2
  float score = 0;
  float reg[4] = {0, 0, 0, 0};  // box offsets from the net that scored it
};

// Stage-1 refinement: offsets in units of the box side x2 - x1 (no +1).
void regress_pnet(Candidate& c);
// Stages 2-3 refinement: offsets in units of x2 - x1 + 1.
void regress(Candidate& c);
// Squares the box around its centre on its longer side.
void square(Candidate& c);

// The pixels a candidate's crop is taken from: rows [y0, y1), columns [x0, x1) of a
// width x height image, from the box truncated to integers and clipped to the image. The
// clipped region is later stretched to the net's input, not zero-padded.
struct Region {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};
Region crop_region(const Candidate& c, int width, int height);

// torchvision.ops.nms: visits boxes by descending score (stable), drops any box whose IoU
// with a kept one exceeds `threshold`; areas are (x2 - x1) * (y2 - y1). Returns kept indices
// in visiting order.
std::vector<int> nms_union(const std::vector<Candidate>& c, double threshold);
// facenet-pytorch's final NMS: overlap = intersection / smaller area, with +1 pixel sides,
// keeps overlaps <= threshold; visits by descending score, ties last index first (numpy's
// argsort read from the end).
std::vector<int> nms_min(const std::vector<Candidate>& c, float threshold);

}  // namespace fg::detect
