#include "nn/resnet50.h"

#include <algorithm>
#include <set>
#include <string>

#include "nn/packed_from_mapping.h"

namespace fg::nn {
namespace {

constexpr int kStages[4] = {3, 4, 6, 3};
constexpr int kBlocks = 3 + 4 + 6 + 3;
constexpr int kPlanes[4] = {64, 128, 256, 512};
constexpr int kExpansion = 4;
constexpr int kFeatures = 512 * kExpansion;
const PoolShape kStemPool{3, 2, 1, false};

Conv2dShape conv_shape(int in_c, int out_c, int k, int stride) {
  Conv2dShape s;
  s.in_c = in_c;
  s.out_c = out_c;
  s.kh = s.kw = k;
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = k / 2;
  return s;
}

// Calls fn(block index or -1 for the stem, role, tensor name, shape) for every conv, in order.
template <typename Fn>
void for_each_conv(Fn&& fn) {
  fn(-1, "stem", "conv1", conv_shape(3, 64, 7, 2));
  int in_c = 64, block = 0;
  for (int stage = 0; stage < 4; ++stage) {
    const int planes = kPlanes[stage];
    for (int i = 0; i < kStages[stage]; ++i, ++block) {
      const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(i) + ".";
      const int stride = (i == 0 && stage > 0) ? 2 : 1;
      fn(block, "conv1", p + "conv1", conv_shape(in_c, planes, 1, 1));
      fn(block, "conv2", p + "conv2", conv_shape(planes, planes, 3, stride));
      fn(block, "conv3", p + "conv3", conv_shape(planes, planes * kExpansion, 1, 1));
      if (i == 0) fn(block, "downsample", p + "downsample.0", conv_shape(in_c, planes * kExpansion, 1, stride));
      in_c = planes * kExpansion;
    }
  }
}

}  // namespace

ResNet50::ResNet50(const weights::WeightsFile& f) {
  const std::string& arch = f.meta_string("arch");
  if (arch != kResNet50Arch) {
    throw weights::WeightsError(f.path() + ": arch: got '" + arch + "', expected '" + kResNet50Arch + "'");
  }
  input_size_ = static_cast<int>(f.meta_int("input_size"));
  dim_ = static_cast<int>(f.meta_int("embedding_dim"));
  if (input_size_ < 32 || input_size_ > 1024 || dim_ < 1 || dim_ > 65536) {
    throw weights::WeightsError(f.path() + ": input_size " + std::to_string(input_size_) + " / embedding_dim " +
                                std::to_string(dim_) + " out of range (expected 32..1024 / 1..65536)");
  }
  std::set<std::string> used;
  blocks_.resize(kBlocks);
  for_each_conv([&](int block, const std::string& role, const std::string& name, const Conv2dShape& cs) {
    const auto& w = f.tensor(name + ".weight", {cs.out_c, cs.in_c, cs.kh, cs.kw});
    const auto& b = f.tensor(name + ".bias", {cs.out_c});
    used.insert(w.name);
    used.insert(b.name);
    Conv2d conv(cs, w.data, b.data);
    release_packed_pages(w);
    if (block < 0) {
      stem_ = std::move(conv);
    } else if (role == "conv1") {
      blocks_[block].conv1 = std::move(conv);
    } else if (role == "conv2") {
      blocks_[block].conv2 = std::move(conv);
    } else if (role == "conv3") {
      blocks_[block].conv3 = std::move(conv);
    } else {
      blocks_[block].downsample = std::move(conv);
      blocks_[block].has_downsample = true;
    }
  });
  const auto& w = f.tensor("head.fc.weight", {dim_, kFeatures});
  const auto& b = f.tensor("head.fc.bias", {dim_});
  used.insert(w.name);
  used.insert(b.name);
  head_ = Linear(kFeatures, dim_, w.data, b.data);
  release_packed_pages(w);
  for (const auto& t : f.tensors()) {
    if (!used.count(t.name)) {
      throw weights::WeightsError(f.path() + ": unexpected tensor " + t.name + " " +
                                  weights::shape_str(t.shape) + " for arch " + kResNet50Arch);
    }
  }
}

ResNet50::~ResNet50() = default;

std::vector<std::pair<std::string, weights::Shape>> ResNet50::tensor_shapes(int dim) {
  std::vector<std::pair<std::string, weights::Shape>> out;
  for_each_conv([&](int, const std::string&, const std::string& name, const Conv2dShape& cs) {
    out.emplace_back(name + ".weight", weights::Shape{cs.out_c, cs.in_c, cs.kh, cs.kw});
    out.emplace_back(name + ".bias", weights::Shape{cs.out_c});
  });
  out.emplace_back("head.fc.weight", weights::Shape{dim, kFeatures});
  out.emplace_back("head.fc.bias", weights::Shape{dim});
  return out;
}

std::unique_ptr<ResNet50::Workspace> ResNet50::make_workspace(int threads) const {
  // Walk the shapes once to size every buffer for the largest layer.
  size_t act = 0, scratch = 0;
  int h = input_size_;
  auto track = [&](const Conv2d& c, int in_h) {
    const auto& s = c.shape();
    const int oh = s.out_h(in_h);
    act = std::max(act, static_cast<size_t>(s.out_c) * oh * s.out_w(in_h));
    scratch = std::max(scratch, c.workspace_floats(in_h, in_h));
    return oh;
  };
  h = track(stem_, h);
  h = kStemPool.out_dim(h);
  act = std::max(act, static_cast<size_t>(64) * h * h);
  for (const auto& blk : blocks_) {
    track(blk.conv1, h);
    const int oh = track(blk.conv2, h);
    track(blk.conv3, oh);
    if (blk.has_downsample) track(blk.downsample, h);
    h = oh;
  }
  auto ws = std::make_unique<Workspace>();
  ws->lanes.resize(std::max(threads, 1));
  for (Lane& lane : ws->lanes) {
    lane.a.resize(act);
    lane.b.resize(act);
    lane.c.resize(act);
    lane.d.resize(act);
    lane.scratch.resize(std::max<size_t>(scratch, 1));
    lane.pooled.resize(kFeatures);
    lane.solo = std::make_unique<ThreadPool>(1);
  }
  return ws;
}

void ResNet50::forward(const float* images, int batch, float* out, Workspace& ws, ThreadPool& pool) const {
  const size_t image_floats = static_cast<size_t>(3) * input_size_ * input_size_;
  // Whole images per thread need no synchronisation inside a layer, and the small late
  // layers (4x4 maps) do not split well over threads.
  const int lanes = std::min(pool.size(), static_cast<int>(ws.lanes.size()));
  const int per_lane = lanes > 1 ? batch / lanes : 0;
  if (per_lane > 0) {
    pool.parallel_for(lanes, [&](int64_t l0, int64_t l1) {
      for (int64_t l = l0; l < l1; ++l) {
        Lane& lane = ws.lanes[l];
        for (int64_t n = l * per_lane; n < (l + 1) * per_lane; ++n)
          forward_image(images + n * image_floats, out + n * dim_, lane, *lane.solo);
      }
    });
  }
  for (int n = lanes * per_lane; n < batch; ++n)
    forward_image(images + n * image_floats, out + static_cast<size_t>(n) * dim_, ws.lanes[0], pool);
}

void ResNet50::forward_image(const float* img, float* emb, Lane& ws, ThreadPool& pool) const {
  const int s = input_size_;
  stem_.forward(img, s, s, nullptr, Act::relu, ws.b.data(), ws.scratch.data(), pool);
  int h = stem_.shape().out_h(s);
  max_pool2d(kStemPool, ws.b.data(), 64, h, h, ws.a.data(), pool);
  h = kStemPool.out_dim(h);
  // x lives in a; each block writes its output back into a.
  for (const auto& blk : blocks_) {
    const int oh = blk.conv2.shape().out_h(h);
    blk.conv1.forward(ws.a.data(), h, h, nullptr, Act::relu, ws.b.data(), ws.scratch.data(), pool);
    blk.conv2.forward(ws.b.data(), h, h, nullptr, Act::relu, ws.c.data(), ws.scratch.data(), pool);
    const float* identity = ws.a.data();
    if (blk.has_downsample) {
      blk.downsample.forward(ws.a.data(), h, h, nullptr, Act::none, ws.d.data(), ws.scratch.data(), pool);
      identity = ws.d.data();
    }
    blk.conv3.forward(ws.c.data(), oh, oh, identity, Act::relu, ws.b.data(), ws.scratch.data(), pool);
    std::swap(ws.a, ws.b);
    h = oh;
  }
  global_avg_pool(ws.a.data(), kFeatures, h, h, ws.pooled.data(), pool);
  head_.forward(ws.pooled.data(), 1, emb, pool);
  l2_normalize(emb, 1, dim_);
}

}  // namespace fg::nn
