#include "detect/stages.h"

#include <algorithm>
#include <cmath>

namespace fg::detect {
namespace {

// Crops per R/O-Net call: bounds the crop and feature buffers whatever the candidate count.
constexpr int kChunk = 256;

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// Candidates whose crop region is not empty, with their regions. (The reference would fail
// on an empty one; such a box lies wholly outside the image.)
std::vector<Candidate> with_regions(const IntegralImage& image, const std::vector<Candidate>& in,
                                    std::vector<Region>& regions) {
  std::vector<Candidate> out;
  regions.clear();
  for (const Candidate& c : in) {
    const Region g = crop_region(c, image.cols(), image.rows());
    if (g.empty()) continue;
    out.push_back(c);
    regions.push_back(g);
  }
  return out;
}

// Runs `net_fn(crops, n)` on size x size crops of `regions`, kChunk at a time; `use(i, k)`
// reads the outputs of candidate i as chunk row k.
template <typename NetFn, typename Use>
void run_crops(const IntegralImage& image, const std::vector<Region>& regions, int size, Runner& r, NetFn net_fn,
               Use use) {
  const size_t per = size_t{3} * size * size;
  grow(r.level, kChunk * per);
  for (size_t start = 0; start < regions.size(); start += kChunk) {
    const int n = static_cast<int>(std::min<size_t>(kChunk, regions.size() - start));
    for (int k = 0; k < n; ++k) {
      const Region& g = regions[start + k];
      image.resize_normalized(g.y0, g.y1, g.x0, g.x1, size, size, r.level.data() + k * per);
    }
    net_fn(r.level.data(), n);
    for (int k = 0; k < n; ++k) use(start + k, k);
  }
}

}  // namespace

std::vector<Candidate> propose(const IntegralImage& image, const Options& opt, Runner& r) {
  const int h = image.rows(), w = image.cols();
  std::vector<Candidate> kept;
  for (const double scale : pyramid_scales(h, w, opt.min_face, opt.factor)) {
    const int lh = static_cast<int>(h * scale + 1), lw = static_cast<int>(w * scale + 1);
    grow(r.level, size_t{3} * lh * lw);
    image.resize_normalized(0, h, 0, w, lh, lw, r.level.data());
    const int oh = nn::Mtcnn::pnet_out_dim(lh), ow = nn::Mtcnn::pnet_out_dim(lw);
    const size_t plane = static_cast<size_t>(oh) * ow;
    grow(r.out, 6 * plane);
    float* prob = r.out.data();
    float* reg = prob + 2 * plane;
    r.net.pnet(r.level.data(), lh, lw, prob, reg, r.ws, r.pool);

    // Each output cell is a 12 x 12 window at stride 2 of the level; boxes are computed in
    // float32 like the reference's tensors, which decides the floor() of borderline values.
    const float s = static_cast<float>(scale);
    std::vector<Candidate> found;
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        const size_t at = static_cast<size_t>(y) * ow + x;
        const float p = prob[plane + at];
        if (!(p >= opt.thresholds[0])) continue;
        const float fx = static_cast<float>(x), fy = static_cast<float>(y);
        Candidate c;
        c.box[0] = std::floor((2.0f * fx + 1.0f) / s);
        c.box[1] = std::floor((2.0f * fy + 1.0f) / s);
        c.box[2] = std::floor((2.0f * fx + 12.0f) / s);
        c.box[3] = std::floor((2.0f * fy + 12.0f) / s);
        c.score = p;
        for (int k = 0; k < 4; ++k) c.reg[k] = reg[k * plane + at];
        found.push_back(c);
      }
    for (int i : nms_union(found, 0.5)) kept.push_back(found[i]);
  }
  std::vector<Candidate> out;
  for (int i : nms_union(kept, 0.7)) {
    Candidate c = kept[i];
    regress_pnet(c);
    square(c);
    out.push_back(c);
  }
  return out;
}

std::vector<Candidate> refine(const IntegralImage& image, const std::vector<Candidate>& in, float threshold,
                              Runner& r) {
  std::vector<Region> regions;
  const std::vector<Candidate> cands = with_regions(image, in, regions);
  grow(r.out, kChunk * 6);
  std::vector<Candidate> passed;
  run_crops(
      image, regions, nn::Mtcnn::kRnetSize, r,
      [&](const float* crops, int n) { r.net.rnet(crops, n, r.out.data(), r.out.data() + 2 * kChunk, r.ws, r.pool); },
      [&](size_t i, int k) {
        const float p = r.out[2 * k + 1];
        if (!(p > threshold)) return;
        Candidate c = cands[i];
        c.score = p;
        std::copy_n(r.out.data() + 2 * kChunk + 4 * k, 4, c.reg);
        passed.push_back(c);
      });
  std::vector<Candidate> out;
  for (int i : nms_union(passed, 0.7)) {
    Candidate c = passed[i];
    regress(c);
    square(c);
    out.push_back(c);
  }
  return out;
}

std::vector<Face> finish(const IntegralImage& image, const std::vector<Candidate>& in, float threshold, Runner& r) {
  std::vector<Region> regions;
  const std::vector<Candidate> cands = with_regions(image, in, regions);
  grow(r.out, kChunk * 16);
  float* prob = r.out.data();
  float* reg = prob + 2 * kChunk;
  float* marks = reg + 4 * kChunk;
  std::vector<Candidate> passed;
  std::vector<Face> faces;
  run_crops(
      image, regions, nn::Mtcnn::kOnetSize, r,
      [&](const float* crops, int n) { r.net.onet(crops, n, prob, reg, marks, r.ws, r.pool); },
      [&](size_t i, int k) {
        const float p = prob[2 * k + 1];
        if (!(p > threshold)) return;
        Candidate c = cands[i];
        c.score = p;
        std::copy_n(reg + 4 * k, 4, c.reg);
        // Landmarks are relative to the box ONet saw, before its own regression.
        Face f;
        const float bw = c.box[2] - c.box[0] + 1.0f, bh = c.box[3] - c.box[1] + 1.0f;
        for (int j = 0; j < 5; ++j) {
          f.landmarks[j][0] = bw * marks[10 * k + j] + c.box[0] - 1.0f;
          f.landmarks[j][1] = bh * marks[10 * k + 5 + j] + c.box[1] - 1.0f;
        }
        regress(c);
        f.prob = p;
        std::copy_n(c.box, 4, f.box.begin());
        passed.push_back(c);
        faces.push_back(f);
      });
  std::vector<Face> out;
  for (int i : nms_min(passed, 0.7f)) out.push_back(faces[i]);
  return out;
}

}  // namespace fg::detect
