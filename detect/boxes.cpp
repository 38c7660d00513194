#include <algorithm>
#include <cmath>
#include <numeric>

#include "detect/boxes.h"

namespace fg::detect {
namespace {

void apply(Candidate& c, float w, float h) {
  c.box[0] = c.box[0] + c.reg[0] * w;
  c.box[1] = c.box[1] + c.reg[1] * h;
  c.box[2] = c.box[2] + c.reg[2] * w;
  c.box[3] = c.box[3] + c.reg[3] * h;
}

// Truncation toward zero, as torch's .trunc().int(); the clamp only keeps absurd values
// (far outside any image) defined.
int trunc_int(float v) {
  if (std::isnan(v)) return 0;
  return static_cast<int>(std::trunc(std::clamp(v, -1e9f, 1e9f)));
}

std::vector<int> by_score(const std::vector<Candidate>& c) {
  std::vector<int> order(c.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return c[a].score > c[b].score; });
  return order;
}

}  // namespace

void regress_pnet(Candidate& c) { apply(c, c.box[2] - c.box[0], c.box[3] - c.box[1]); }

void regress(Candidate& c) { apply(c, c.box[2] - c.box[0] + 1.0f, c.box[3] - c.box[1] + 1.0f); }

void square(Candidate& c) {
  const float h = c.box[3] - c.box[1];
  const float w = c.box[2] - c.box[0];
  const float l = std::max(w, h);
  c.box[0] = c.box[0] + w * 0.5f - l * 0.5f;
  c.box[1] = c.box[1] + h * 0.5f - l * 0.5f;
  c.box[2] = c.box[0] + l;
  c.box[3] = c.box[1] + l;
}

Region crop_region(const Candidate& c, int width, int height) {
  // The reference works in 1-based inclusive coordinates: x in [max(x1, 1), min(x2, width)].
  Region r;
  r.x0 = std::max(trunc_int(c.box[0]), 1) - 1;
  r.y0 = std::max(trunc_int(c.box[1]), 1) - 1;
  r.x1 = std::min(trunc_int(c.box[2]), width);
  r.y1 = std::min(trunc_int(c.box[3]), height);
  return r;
}

std::vector<int> nms_union(const std::vector<Candidate>& c, double threshold) {
  const std::vector<int> order = by_score(c);
  std::vector<float> area(c.size());
  for (size_t i = 0; i < c.size(); ++i) area[i] = (c[i].box[2] - c[i].box[0]) * (c[i].box[3] - c[i].box[1]);
  std::vector<char> suppressed(c.size(), 0);
  std::vector<int> keep;
  for (size_t a = 0; a < order.size(); ++a) {
    const int i = order[a];
    if (suppressed[i]) continue;
    keep.push_back(i);
    const float* bi = c[i].box;
    for (size_t b = a + 1; b < order.size(); ++b) {
      const int j = order[b];
      if (suppressed[j]) continue;
      const float* bj = c[j].box;
      const float w = std::max(0.0f, std::min(bi[2], bj[2]) - std::max(bi[0], bj[0]));
      const float h = std::max(0.0f, std::min(bi[3], bj[3]) - std::max(bi[1], bj[1]));
      const float inter = w * h;
      const float iou = inter / (area[i] + area[j] - inter);
      if (static_cast<double>(iou) > threshold) suppressed[j] = 1;
    }
  }
  return keep;
}

std::vector<int> nms_min(const std::vector<Candidate>& c, float threshold) {
  std::vector<int> order(c.size());
  std::iota(order.rbegin(), order.rend(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return c[a].score > c[b].score; });
  std::vector<float> area(c.size());
  for (size_t i = 0; i < c.size(); ++i)
    area[i] = (c[i].box[2] - c[i].box[0] + 1.0f) * (c[i].box[3] - c[i].box[1] + 1.0f);
  std::vector<int> keep;
  while (!order.empty()) {
    const int i = order.front();
    keep.push_back(i);
    const float* bi = c[i].box;
    std::vector<int> rest;
    for (size_t b = 1; b < order.size(); ++b) {
      const int j = order[b];
      const float* bj = c[j].box;
      const float w = std::max(0.0f, std::min(bi[2], bj[2]) - std::max(bi[0], bj[0]) + 1.0f);
      const float h = std::max(0.0f, std::min(bi[3], bj[3]) - std::max(bi[1], bj[1]) + 1.0f);
      const float overlap = w * h / std::min(area[i], area[j]);
      if (overlap <= threshold) rest.push_back(j);
    }
    order.swap(rest);
  }
  return keep;
}

}  // namespace fg::detect
