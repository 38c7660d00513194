#include "nn/dlib_resnet.h"

#include <algorithm>
#include <set>

#include "nn/packed_from_mapping.h"

namespace fg::nn {
namespace {

constexpr int kFeatures = 256;
const PoolShape kStemPool{3, 2, 0, false};

struct BlockSpec {
  const char* name;
  int in_c, out_c;
  bool down;
};
constexpr BlockSpec kBlocks[] = {
    {"conv32_1", 32, 32, false},     {"conv32_2", 32, 32, false},     {"conv32_3", 32, 32, false},
    {"conv64_down", 32, 64, true},   {"conv64_1", 64, 64, false},     {"conv64_2", 64, 64, false},
    {"conv64_3", 64, 64, false},     {"conv128_down", 64, 128, true}, {"conv128_1", 128, 128, false},
    {"conv128_2", 128, 128, false},  {"conv256_down", 128, 256, true}, {"conv256_1", 256, 256, false},
    {"conv256_2", 256, 256, false},  {"conv256_down_out", 256, 256, true},
};

Conv2dShape conv_shape(int in_c, int out_c, int k, int stride, int pad) {
  Conv2dShape s;
  s.in_c = in_c;
  s.out_c = out_c;
  s.kh = s.kw = k;
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = pad;
  return s;
}

// Calls fn(block index or -1 for the stem, tensor prefix, shape) for every conv, in order.
template <typename Fn>
void for_each_conv(Fn&& fn) {
  fn(-1, std::string("conv32_down"), conv_shape(3, 32, 7, 2, 0));
  for (int i = 0; i < static_cast<int>(std::size(kBlocks)); ++i) {
    const BlockSpec& b = kBlocks[i];
    // TF "valid" for the strided conv, "same" (pad 1) for the others.
    fn(i, std::string(b.name) + ".conv1", conv_shape(b.in_c, b.out_c, 3, b.down ? 2 : 1, b.down ? 0 : 1));
    fn(i, std::string(b.name) + ".conv2", conv_shape(b.out_c, b.out_c, 3, 1, 1));
  }
}

// out (out_c x ph x pw, ph = h / 2) = ReLU(conv path zero-padded to ph x pw + 2x2 average
// pool of x with zero channels appended up to out_c).
void down_shortcut(const float* x, int in_c, int h, const float* conv, int out_c, int oh, float* out) {
  const int ph = h / 2;
  for (int c = 0; c < out_c; ++c) {
    for (int y = 0; y < ph; ++y) {
      for (int xx = 0; xx < ph; ++xx) {
        float v = (y < oh && xx < oh) ? conv[(static_cast<size_t>(c) * oh + y) * oh + xx] : 0.0f;
        if (c < in_c) {
          const float* p = x + (static_cast<size_t>(c) * h + 2 * y) * h + 2 * xx;
          v += (p[0] + p[1] + p[h] + p[h + 1]) * 0.25f;
        }
        out[(static_cast<size_t>(c) * ph + y) * ph + xx] = std::max(v, 0.0f);
      }
    }
  }
}

}  // namespace

DlibResNet::DlibResNet(const weights::WeightsFile& f) {
  const std::string& arch = f.meta_string("arch");
  if (arch != kDlibResNetArch)
    throw weights::WeightsError(f.path() + ": arch: got '" + arch + "', expected '" + kDlibResNetArch + "'");
  if (f.meta_int("input_size") != kInputSize || f.meta_int("embedding_dim") != kDim)
    throw weights::WeightsError(f.path() + ": input_size/embedding_dim: got " +
                                std::to_string(f.meta_int("input_size")) + "/" +
                                std::to_string(f.meta_int("embedding_dim")) + ", expected 150/128");
  std::set<std::string> used;
  blocks_.resize(std::size(kBlocks));
  for_each_conv([&](int block, const std::string& name, const Conv2dShape& cs) {
    const auto& w = f.tensor(name + ".weight", {cs.out_c, cs.in_c, cs.kh, cs.kw});
    const auto& b = f.tensor(name + ".bias", {cs.out_c});
    used.insert(w.name);
    used.insert(b.name);
    Conv2d conv(cs, w.data, b.data);
    release_packed_pages(w);
    if (block < 0) {
      stem_ = std::move(conv);
    } else if (name.back() == '1') {
      blocks_[block].conv1 = std::move(conv);
      blocks_[block].down = kBlocks[block].down;
    } else {
      blocks_[block].conv2 = std::move(conv);
    }
  });
  const auto& fc = f.tensor("fc.weight", {kDim, kFeatures});
  used.insert(fc.name);
  fc_ = Linear(kFeatures, kDim, fc.data, nullptr);
  release_packed_pages(fc);
  for (const auto& t : f.tensors())
    if (!used.count(t.name))
      throw weights::WeightsError(f.path() + ": unexpected tensor " + t.name + " " + weights::shape_str(t.shape) +
                                  " for arch " + kDlibResNetArch);
}

DlibResNet::~DlibResNet() = default;

std::vector<std::pair<std::string, weights::Shape>> DlibResNet::tensor_shapes() {
  std::vector<std::pair<std::string, weights::Shape>> out;
  for_each_conv([&](int, const std::string& name, const Conv2dShape& cs) {
    out.emplace_back(name + ".weight", weights::Shape{cs.out_c, cs.in_c, cs.kh, cs.kw});
    out.emplace_back(name + ".bias", weights::Shape{cs.out_c});
  });
  out.emplace_back("fc.weight", weights::Shape{kDim, kFeatures});
  return out;
}

std::unique_ptr<DlibResNet::Workspace> DlibResNet::make_workspace() const {
  size_t act = 0, scratch = 0;
  auto track = [&](const Conv2d& c, int in_h) {
    const int oh = c.shape().out_h(in_h);
    act = std::max(act, static_cast<size_t>(c.shape().out_c) * oh * oh);
    scratch = std::max(scratch, c.workspace_floats(in_h, in_h));
    return oh;
  };
  int h = kStemPool.out_dim(track(stem_, kInputSize));
  for (const auto& blk : blocks_) {
    const int oh = track(blk.conv1, h);
    track(blk.conv2, oh);
    if (blk.down) act = std::max(act, static_cast<size_t>(blk.conv2.shape().out_c) * (h / 2) * (h / 2));
    h = blk.down ? h / 2 : oh;
  }
  auto ws = std::make_unique<Workspace>();
  ws->a.resize(act);
  ws->b.resize(act);
  ws->c.resize(act);
  ws->scratch.resize(std::max<size_t>(scratch, 1));
  ws->pooled.resize(kFeatures);
  return ws;
}

void DlibResNet::forward(const float* images, int batch, float* out, Workspace& ws, ThreadPool& pool) const {
  const int s = kInputSize;
  for (int n = 0; n < batch; ++n) {
    const float* img = images + static_cast<size_t>(n) * 3 * s * s;
    stem_.forward(img, s, s, nullptr, Act::relu, ws.b.data(), ws.scratch.data(), pool);
    int h = stem_.shape().out_h(s);
    max_pool2d(kStemPool, ws.b.data(), 32, h, h, ws.a.data(), pool);
    h = kStemPool.out_dim(h);
    // x lives in a; each block leaves its output in a.
    for (const auto& blk : blocks_) {
      const int oh = blk.conv1.shape().out_h(h);
      blk.conv1.forward(ws.a.data(), h, h, nullptr, Act::relu, ws.b.data(), ws.scratch.data(), pool);
      if (blk.down) {
        blk.conv2.forward(ws.b.data(), oh, oh, nullptr, Act::none, ws.c.data(), ws.scratch.data(), pool);
        down_shortcut(ws.a.data(), blk.conv1.shape().in_c, h, ws.c.data(), blk.conv2.shape().out_c, oh, ws.b.data());
        h /= 2;
      } else {
        blk.conv2.forward(ws.b.data(), oh, oh, ws.a.data(), Act::relu, ws.c.data(), ws.scratch.data(), pool);
        std::swap(ws.b, ws.c);
      }
      std::swap(ws.a, ws.b);
    }
    global_avg_pool(ws.a.data(), kFeatures, h, h, ws.pooled.data(), pool);
    float* emb = out + static_cast<size_t>(n) * kDim;
    fc_.forward(ws.pooled.data(), 1, emb, pool);
    l2_normalize(emb, 1, kDim);
  }
}

}  // namespace fg::nn
