#include "nn/mtcnn.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "nn/mtcnn_kernels.h"

namespace fg::nn {
namespace {

// Largest PNet buffer, in floats, before the image is cut into bands (2 MiB each: bands that
// stay in L2 measured up to 8% faster than 16 MiB ones).
constexpr size_t kPnetBandFloats = size_t{1} << 19;
constexpr int kPnetHeads = 6;  // 2 class logits + 4 box offsets
constexpr int kRnetHeads = 6;
constexpr int kOnetHeads = 16;  // + 10 landmark coordinates

const PoolShape kPool2{2, 2, 0, true};
const PoolShape kPool3{3, 2, 0, true};

// The convs that run Winograd F(2x2, 3x3). Measured one conv at a time (1 thread, AVX-512
// GEMM): ONet conv2 (23x23 -> 21x21) ~100 -> ~87 us, conv3 (10x10 -> 8x8) ~30 -> ~21 us;
// ONet on 30 crops ~6.3 -> ~5.9 ms. RNet conv2 (11x11 -> 9x9: 25 tiles in 32 GEMM columns)
// stays im2col (~14 us against ~16), as do PNet's thin convs (~15% slower).
bool runs_winograd(const std::string& conv) { return conv == "onet.conv2" || conv == "onet.conv3"; }

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// Reads the tensors of one weights file and remembers which were used.
class Reader {
 public:
  explicit Reader(const weights::WeightsFile& f) : f_(f) {
    for (const auto& [name, shape] : mtcnn_tensor_shapes()) shapes_.emplace(name, shape);
  }

  const weights::Shape& shape(const std::string& name) const { return shapes_.at(name); }

  const float* get(const std::string& name) {
    used_.insert(name);
    return f_.tensor(name, shapes_.at(name)).data;
  }
  std::vector<float> copy(const std::string& name) {
    const float* p = get(name);
    return std::vector<float>(p, p + weights::numel(shapes_.at(name)));
  }

  Conv2d conv(const std::string& name) {
    const weights::Shape& s = shapes_.at(name + ".weight");
    Conv2dShape cs;
    cs.out_c = static_cast<int>(s[0]);
    cs.in_c = static_cast<int>(s[1]);
    cs.kh = static_cast<int>(s[2]);
    cs.kw = static_cast<int>(s[3]);
    const ConvAlgo algo = runs_winograd(name) ? ConvAlgo::winograd : ConvAlgo::im2col;
    return Conv2d(cs, get(name + ".weight"), get(name + ".bias"), algo);
  }

  // Several layers reading the same input, stacked into one weight matrix [sum(out), in].
  void stacked(const std::vector<std::string>& names, std::vector<float>& weight, std::vector<float>& bias) {
    for (const auto& n : names) {
      const weights::Shape& s = shapes_.at(n + ".weight");
      const float* w = get(n + ".weight");
      const float* b = get(n + ".bias");
      weight.insert(weight.end(), w, w + weights::numel(s));
      bias.insert(bias.end(), b, b + s[0]);
    }
  }

  void check_all_used() const {
    for (const auto& t : f_.tensors())
      if (!used_.count(t.name))
        throw weights::WeightsError(f_.path() + ": unexpected tensor " + t.name + " " + weights::shape_str(t.shape) +
                                    " for arch " + kMtcnnArch);
  }

 private:
  const weights::WeightsFile& f_;
  std::map<std::string, weights::Shape> shapes_;
  std::set<std::string> used_;
};

}  // namespace

Mtcnn::Mtcnn(const weights::WeightsFile& f) {
  const std::string& arch = f.meta_string("arch");
  if (arch != kMtcnnArch)
    throw weights::WeightsError(f.path() + ": arch: got '" + arch + "', expected '" + kMtcnnArch + "'");
  Reader r(f);
  const auto stage = [&r](const std::string& net, int i, bool pooled, const PoolShape& p) {
    Stage s;
    s.conv = r.conv(net + ".conv" + std::to_string(i));
    s.slope = r.copy(net + ".prelu" + std::to_string(i) + ".weight");
    s.pooled = pooled;
    s.pool = p;
    return s;
  };
  pnet_trunk_.push_back(stage("pnet", 1, true, kPool2));
  pnet_trunk_.push_back(stage("pnet", 2, false, {}));
  pnet_trunk_.push_back(stage("pnet", 3, false, {}));
  {
    std::vector<float> w, b;
    r.stacked({"pnet.conv4_1", "pnet.conv4_2"}, w, b);
    Conv2dShape cs;
    cs.in_c = 32;
    cs.out_c = kPnetHeads;
    pnet_head_ = Conv2d(cs, w.data(), b.data());
  }
  rnet_trunk_.push_back(stage("rnet", 1, true, kPool3));
  rnet_trunk_.push_back(stage("rnet", 2, true, kPool3));
  rnet_trunk_.push_back(stage("rnet", 3, false, {}));
  onet_trunk_.push_back(stage("onet", 1, true, kPool3));
  onet_trunk_.push_back(stage("onet", 2, true, kPool3));
  onet_trunk_.push_back(stage("onet", 3, true, kPool2));
  onet_trunk_.push_back(stage("onet", 4, false, {}));

  const auto dense = [&r](const std::vector<Stage>& trunk, int size, const std::string& hidden,
                          const std::string& slope, const std::vector<std::string>& heads) {
    // facenet-pytorch flattens the trunk output as permute(0, 3, 2, 1), i.e. [w][h][c]; the
    // columns are reordered once here so that forward() can flatten plain [c][h][w].
    const TrunkShape t = trunk_shape(trunk, size, size, 1);
    const int in = t.c * t.h * t.w;
    const float* w = r.get(hidden + ".weight");
    const float* bias = r.get(hidden + ".bias");
    const int out = static_cast<int>(r.shape(hidden + ".weight")[0]);
    std::vector<float> chw(static_cast<size_t>(out) * in);
    for (int o = 0; o < out; ++o)
      for (int c = 0; c < t.c; ++c)
        for (int y = 0; y < t.h; ++y)
          for (int x = 0; x < t.w; ++x)
            chw[static_cast<size_t>(o) * in + (c * t.h + y) * t.w + x] =
                w[static_cast<size_t>(o) * in + (x * t.h + y) * t.c + c];
    Dense d;
    d.hidden = Linear(in, out, chw.data(), bias);
    d.slope = r.copy(slope + ".weight");
    std::vector<float> hw, hb;
    r.stacked(heads, hw, hb);
    d.heads = Linear(out, static_cast<int>(hb.size()), hw.data(), hb.data());
    return d;
  };
  rnet_dense_ = dense(rnet_trunk_, kRnetSize, "rnet.dense4", "rnet.prelu4", {"rnet.dense5_1", "rnet.dense5_2"});
  onet_dense_ = dense(onet_trunk_, kOnetSize, "onet.dense5", "onet.prelu5",
                      {"onet.dense6_1", "onet.dense6_2", "onet.dense6_3"});
  r.check_all_used();
}

Mtcnn::~Mtcnn() = default;

int Mtcnn::pnet_out_dim(int n) {
  if (n < kPnetMin)
    throw std::invalid_argument("PNet: input side " + std::to_string(n) + " is below its minimum of " +
                                std::to_string(kPnetMin));
  return kPool2.out_dim(n - 2) - 4;
}

Mtcnn::TrunkShape Mtcnn::trunk_shape(const std::vector<Stage>& trunk, int h, int w, int threads) {
  TrunkShape t;
  int ld = w;  // as run_trunk's
  for (const Stage& s : trunk) {
    const Conv2dShape& cs = s.conv.shape();
    t.scratch = std::max(t.scratch, s.conv.wide_workspace_floats(h, w, threads));
    ld = s.conv.wide_ld(w, ld);
    t.act = std::max(t.act, static_cast<size_t>(cs.out_c) * cs.out_h(h) * ld);
    h = cs.out_h(h);
    w = cs.out_w(w);
    if (s.pooled) {
      h = s.pool.out_dim(h);
      w = s.pool.out_dim(w);
      ld = w;
    }
    t.c = cs.out_c;
  }
  t.h = h;
  t.w = w;
  t.ld = ld;
  return t;
}

const float* Mtcnn::run_trunk(const std::vector<Stage>& trunk, const float* in, int h, int w, float* a, float* b,
                              float* scratch, ThreadPool& pool) {
  // The channels are few, so im2col's cost rivals the GEMM's: the convs run wide (im2col
  // is one copy per row, or none, the PReLU is in the GEMM's epilogue) and pass their junk
  // columns on to the next conv or the pool, which skip them.
  const float* x = in;
  int ld = w;  // x's row stride
  for (const Stage& s : trunk) {
    const int c = s.conv.shape().out_c;
    float* y = x == a ? b : a;
    s.conv.forward_wide(x, h, w, ld, s.slope.data(), y, scratch, pool);
    ld = s.conv.wide_ld(w, ld);
    h = s.conv.shape().out_h(h);
    w = s.conv.shape().out_w(w);
    x = y;
    if (s.pooled) {
      float* z = y == a ? b : a;
      max_pool2d(s.pool, y, c, h, w, ld, z, pool);
      h = s.pool.out_dim(h);
      w = s.pool.out_dim(w);
      x = z;
      ld = w;
    }
  }
  return x;
}

// Output rows [r0, r1) of PNet read input rows [2 r0, 2 r1 + 10): bands that start on an even
// row keep the pooling grid, so banded and whole-image outputs are identical.
int Mtcnn::pnet_band_rows(int h, int w) const {
  const int oh = pnet_out_dim(h);
  int rows = oh;
  while (rows > 16) {
    const int bh = std::min(h, 2 * rows + 10);
    const TrunkShape t = trunk_shape(pnet_trunk_, bh, w, 1);
    const size_t need = std::max({t.act, t.scratch, size_t{3} * bh * w});
    if (need <= kPnetBandFloats) break;
    rows = (rows + 1) / 2;
  }
  return rows;
}

void Mtcnn::pnet(const float* image, int h, int w, float* prob, float* reg, Workspace& ws, ThreadPool& pool) const {
  const int oh = pnet_out_dim(h), ow = pnet_out_dim(w);
  const int rows = pnet_band_rows(h, w);
  const int max_bh = std::min(h, 2 * rows + 10);
  const TrunkShape t = trunk_shape(pnet_trunk_, max_bh, w, pool.size());
  if (rows < oh) grow(ws.band, size_t{3} * max_bh * w);
  grow(ws.a, t.act);
  grow(ws.b, t.act);
  grow(ws.head, static_cast<size_t>(kPnetHeads) * rows * t.ld);
  grow(ws.scratch, std::max(t.scratch, pnet_head_.workspace_floats(rows, t.ld)));

  const size_t plane = static_cast<size_t>(oh) * ow;
  for (int r0 = 0; r0 < oh; r0 += rows) {
    const int r1 = std::min(oh, r0 + rows);
    const int y0 = 2 * r0, y1 = std::min(h, 2 * r1 + 10);
    const float* in = image;
    if (rows < oh) {
      for (int c = 0; c < 3; ++c)
        std::copy(image + (static_cast<size_t>(c) * h + y0) * w, image + (static_cast<size_t>(c) * h + y1) * w,
                  ws.band.begin() + static_cast<size_t>(c) * (y1 - y0) * w);
      in = ws.band.data();
    }
    const float* trunk = run_trunk(pnet_trunk_, in, y1 - y0, w, ws.a.data(), ws.b.data(), ws.scratch.data(), pool);
    // The 1x1 head runs on the wide rows as they are (a junk column only makes a junk
    // output); the valid columns are picked when the outputs are stored. A band's rows are
    // as wide as the image's (t.ld depends on w alone).
    pnet_head_.forward(trunk, r1 - r0, t.ld, nullptr, Act::none, ws.head.data(), ws.scratch.data(), pool);
    const int n = (r1 - r0) * t.ld;
    softmax(ws.head.data(), 1, 2, n, ws.head.data());
    for (int c = 0; c < kPnetHeads; ++c) {
      float* dst = c < 2 ? prob + c * plane : reg + (c - 2) * plane;
      for (int y = r0; y < r1; ++y)
        std::copy_n(ws.head.data() + static_cast<size_t>(c) * n + static_cast<size_t>(y - r0) * t.ld, ow,
                    dst + static_cast<size_t>(y) * ow);
    }
  }
}

void Mtcnn::run_batch(const std::vector<Stage>& trunk, const Dense& dense, int size, const float* images, int batch,
                      Workspace& ws, ThreadPool& pool) const {
  if (batch < 0) throw std::invalid_argument("MTCNN: batch " + std::to_string(batch));
  const TrunkShape t = trunk_shape(trunk, size, size, 1);  // a lane runs on one thread
  const size_t feat = static_cast<size_t>(dense.hidden.in());
  const int lanes = pool.size();
  if (static_cast<int>(ws.lanes.size()) < lanes) ws.lanes.resize(lanes);
  for (int l = 0; l < lanes; ++l) {
    grow(ws.lanes[l].a, t.act);
    grow(ws.lanes[l].b, t.act);
    grow(ws.lanes[l].scratch, t.scratch);
  }
  grow(ws.features, batch * feat);
  grow(ws.hidden, static_cast<size_t>(batch) * dense.hidden.out());
  grow(ws.heads, static_cast<size_t>(batch) * dense.heads.out());
  if (batch == 0) return;

  const size_t image = size_t{3} * size * size;
  // Images are small: one per thread at a time beats splitting each conv across threads.
  pool.parallel_for(lanes, [&](int64_t l0, int64_t l1) {
    ThreadPool solo(1);
    for (int64_t l = l0; l < l1; ++l) {
      Lane& lane = ws.lanes[l];
      for (int64_t i = batch * l / lanes; i < batch * (l + 1) / lanes; ++i) {
        const float* out = run_trunk(trunk, images + i * image, size, size, lane.a.data(), lane.b.data(),
                                     lane.scratch.data(), solo);
        for (int row = 0; row < t.c * t.h; ++row)
          std::copy_n(out + static_cast<size_t>(row) * t.ld, t.w, ws.features.data() + i * feat + row * t.w);
      }
    }
  });
  dense.hidden.forward(ws.features.data(), batch, ws.hidden.data(), pool);
  prelu(ws.hidden.data(), batch, dense.hidden.out(), 1, dense.slope.data(), ws.hidden.data());
  dense.heads.forward(ws.hidden.data(), batch, ws.heads.data(), pool);
}

void Mtcnn::rnet(const float* images, int batch, float* prob, float* reg, Workspace& ws, ThreadPool& pool) const {
  run_batch(rnet_trunk_, rnet_dense_, kRnetSize, images, batch, ws, pool);
  for (int i = 0; i < batch; ++i) {
    const float* h = ws.heads.data() + static_cast<size_t>(i) * kRnetHeads;
    std::copy(h, h + 2, prob + 2 * i);
    std::copy(h + 2, h + 6, reg + 4 * i);
  }
  softmax(prob, batch, 2, 1, prob);
}

void Mtcnn::onet(const float* images, int batch, float* prob, float* reg, float* landmarks, Workspace& ws,
                 ThreadPool& pool) const {
  run_batch(onet_trunk_, onet_dense_, kOnetSize, images, batch, ws, pool);
  for (int i = 0; i < batch; ++i) {
    const float* h = ws.heads.data() + static_cast<size_t>(i) * kOnetHeads;
    std::copy(h, h + 2, prob + 2 * i);
    std::copy(h + 2, h + 6, reg + 4 * i);
    std::copy(h + 6, h + 16, landmarks + 10 * i);
  }
  softmax(prob, batch, 2, 1, prob);
}

}  // namespace fg::nn
