#include "nn/resnet50.h"

#include <algorithm>
#include <set>
#include <string>

#include "nn/packed_from_mapping.h"
#include "nn/winograd.h"

namespace fg::nn {
namespace {

constexpr int kStages[4] = {3, 4, 6, 3};
constexpr int kBlocks = 3 + 4 + 6 + 3;
constexpr int kPlanes[4] = {64, 128, 256, 512};
constexpr int kExpansion = 4;
constexpr int kFeatures = 512 * kExpansion;
const PoolShape kStemPool{3, 2, 1, false};
// Stages 3 and 4 (blocks 7..15) hold 93% of the weights on 7x7 and 4x4 maps: a lane runs
// them on its chunk of images as one batch (measured: 8 images on 2 threads 7-12% faster;
// chunks of 2 gained nothing). Chunks of 4: their activations are no larger than stage 1's
// of one image, but their inputs and im2col panels add ~2 MiB per lane, so a workspace of
// one lane, which serves one thread, keeps to one image at a time and to the memory budget
// of `facegate embed --threads 1`.
constexpr int kChunkFrom = 3 + 4;
constexpr int kChunk = 4;
// The stride-1 3x3 convs of blocks [0, kWinogradEnd) run Winograd F(2x2, 3x3): stages 1 to
// 3 (28x28, 14x14 and 7x7 maps). Stages 1-2 measured 6% faster per image at batch 1 on 1
// thread and at batch 8 on 2, for 2.5 MiB more resident (weights 16/9 the size, a larger
// scratch); stage 3 another ~5% at batch 8 on 2 threads and nothing at batch 1 (its weights,
// 9.2 MB more, stream from memory per image), for 8.5 MiB more resident. Stage 4's 4x4 maps
// measured slower with Winograd.
constexpr int kWinogradEnd = 3 + 4 + 6;

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

// A stage's first block runs its downsample and conv3 as one conv: relu(W3 c + b3 + Wd x + bd)
// is a 1x1 conv over the channels of c followed by those of x (subsampled to c's grid), with
// weights [W3 | Wd] and bias b3 + bd. No downsample output (stage 1's is 800 KB) written and
// read back as the residual, one GEMM and one epilogue instead of two.
Conv2d fuse_downsample(const weights::WeightsFile& f, const std::string& conv3, int c_c, const weights::TensorView& dw,
                       const weights::TensorView& db) {
  const int out_c = static_cast<int>(dw.shape[0]), x_c = static_cast<int>(dw.shape[1]);
  const auto& w3 = f.tensor(conv3 + ".weight", {out_c, c_c, 1, 1});
  const auto& b3 = f.tensor(conv3 + ".bias", {out_c});
  std::vector<float> w(static_cast<size_t>(out_c) * (c_c + x_c)), b(out_c);
  for (int o = 0; o < out_c; ++o) {
    std::copy_n(w3.data + static_cast<size_t>(o) * c_c, c_c, w.begin() + static_cast<size_t>(o) * (c_c + x_c));
    std::copy_n(dw.data + static_cast<size_t>(o) * x_c, x_c, w.begin() + static_cast<size_t>(o) * (c_c + x_c) + c_c);
    b[o] = b3.data[o] + db.data[o];
  }
  release_packed_pages(w3);
  return Conv2d(conv_shape(c_c + x_c, out_c, 1, 1), w.data(), b.data());
}

// The input of a fused conv3 (fuse_downsample) for `count` images: conv2's outputs lie at c,
// one after the other; each moves up to make room for its image's x (x_c channels of side h)
// subsampled by conv2's stride after it. The last image moves first, so none overwrites
// another's before it has moved.
void stack_conv3_input(const float* x, int count, int x_c, int h, const Conv2dShape& conv2, float* c) {
  const int oh = conv2.out_h(h), stride = conv2.stride_h;
  const size_t n = static_cast<size_t>(oh) * oh, conv2_floats = conv2.out_c * n;
  const size_t image_floats = conv2_floats + x_c * n;
  for (int j = count - 1; j > 0; --j)
    std::copy_backward(c + j * conv2_floats, c + (j + 1) * conv2_floats, c + j * image_floats + conv2_floats);
  for (int j = 0; j < count; ++j) {
    const float* xj = x + static_cast<size_t>(j) * x_c * h * h;
    float* xs = c + j * image_floats + conv2_floats;
    if (stride == 1) {
      std::copy_n(xj, static_cast<size_t>(x_c) * h * h, xs);
      continue;
    }
    for (int ch = 0; ch < x_c; ++ch)
      for (int y = 0; y < oh; ++y) {
        const float* src = xj + (static_cast<size_t>(ch) * h + y * stride) * h;
        float* dst = xs + (static_cast<size_t>(ch) * oh + y) * oh;
        for (int i = 0; i < oh; ++i) dst[i] = src[i * stride];
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
  // The last conv3 seen: a block's downsample comes right after its conv3 and fuses with it.
  std::string conv3_name;
  int conv3_in = 0;
  for_each_conv([&](int block, const std::string& role, const std::string& name, const Conv2dShape& cs) {
    const auto& w = f.tensor(name + ".weight", {cs.out_c, cs.in_c, cs.kh, cs.kw});
    const auto& b = f.tensor(name + ".bias", {cs.out_c});
    used.insert(w.name);
    used.insert(b.name);
    if (role == "downsample") {
      blocks_[block].conv3 = fuse_downsample(f, conv3_name, conv3_in, w, b);
      blocks_[block].has_downsample = true;
      release_packed_pages(w);
      return;
    }
    const bool winograd = block >= 0 && block < kWinogradEnd && winograd_supports(cs);
    Conv2d conv(cs, w.data, b.data, winograd ? ConvAlgo::winograd : ConvAlgo::im2col);
    release_packed_pages(w);
    if (block < 0) {
      stem_ = std::move(conv);
    } else if (role == "conv1") {
      blocks_[block].conv1 = std::move(conv);
    } else if (role == "conv2") {
      blocks_[block].conv2 = std::move(conv);
    } else {
      blocks_[block].conv3 = std::move(conv);
      conv3_name = name;
      conv3_in = cs.in_c;
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
  // Walk the shapes once to size every buffer for its largest use (run_front, run_block):
  // a and b hold block inputs and outputs, b also conv1's; c conv3's input.
  size_t ab = 0, c = 0, scratch = 0, chunk = 0;
  const auto out_floats = [](const Conv2d& conv, int in_h, int batch) {
    const auto& s = conv.shape();
    return static_cast<size_t>(batch) * s.out_c * s.out_h(in_h) * s.out_w(in_h);
  };
  int h = input_size_;
  ab = out_floats(stem_, h, 1);
  scratch = stem_.workspace_floats(h, h);
  h = kStemPool.out_dim(stem_.shape().out_h(h));
  const bool chunks = threads > 1;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const Block& blk = blocks_[i];
    const bool chunked = chunks && static_cast<int>(i) >= kChunkFrom;
    const int batch = chunked ? kChunk : 1;
    if (chunked && static_cast<int>(i) == kChunkFrom)
      chunk = static_cast<size_t>(kChunk) * blk.conv1.shape().in_c * h * h;
    const int oh = blk.conv2.shape().out_h(h);
    for (const size_t out : {out_floats(blk.conv1, h, batch), out_floats(blk.conv3, oh, batch)}) {
      ab = std::max(ab, out);
      if (chunked) chunk = std::max(chunk, out);  // the chunk buffer and b trade places
    }
    // With a downsample, conv3's input is each image's conv2 output followed by its x.
    c = std::max(c, static_cast<size_t>(batch) * blk.conv3.shape().in_c * oh * oh);
    for (const size_t need : {blk.conv1.workspace_floats(h, h, batch), blk.conv2.workspace_floats(h, h, batch),
                              blk.conv3.workspace_floats(oh, oh, batch)})
      scratch = std::max(scratch, need);
    h = oh;
  }
  auto ws = std::make_unique<Workspace>();
  ws->lanes.resize(std::max(threads, 1));
  const auto buffer = [](size_t n) { return std::unique_ptr<float[]>(new float[std::max<size_t>(n, 1)]); };
  for (Lane& lane : ws->lanes) {
    lane.a = buffer(ab);
    lane.b = buffer(ab);
    lane.c = buffer(c);
    lane.scratch = buffer(scratch);
    lane.pooled = buffer(kFeatures);
    if (chunks) lane.chunk = buffer(chunk);
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
        for (int64_t n = l * per_lane; n < (l + 1) * per_lane; n += kChunk) {
          const int count = static_cast<int>(std::min<int64_t>(kChunk, (l + 1) * per_lane - n));
          forward_chunk(images + n * image_floats, count, out + n * dim_, lane);
        }
      }
    });
  }
  for (int n = lanes * per_lane; n < batch; ++n)
    forward_image(images + n * image_floats, out + static_cast<size_t>(n) * dim_, ws.lanes[0], pool);
}

int ResNet50::run_front(const float* img, int end, Lane& ws, ThreadPool& pool) const {
  const int s = input_size_;
  stem_.forward(img, s, s, nullptr, Act::relu, ws.b.get(), ws.scratch.get(), pool);
  int h = stem_.shape().out_h(s);
  max_pool2d(kStemPool, ws.b.get(), 64, h, h, ws.a.get(), pool);
  h = kStemPool.out_dim(h);
  // x lives in a; each block leaves its output at x.
  float* x = ws.a.get();
  float* b = ws.b.get();
  for (int i = 0; i < end; ++i) h = run_block(blocks_[i], x, b, 1, h, ws.c.get(), ws.scratch.get(), pool);
  if (x != ws.a.get()) std::swap(ws.a, ws.b);
  return h;
}

int ResNet50::run_block(const Block& blk, float*& x, float*& b, int count, int h, float* c, float* scratch,
                        ThreadPool& pool) const {
  const int oh = blk.conv2.shape().out_h(h);
  blk.conv1.forward_batch(x, count, h, h, nullptr, Act::relu, b, scratch, pool);
  blk.conv2.forward_batch(b, count, h, h, nullptr, Act::relu, c, scratch, pool);
  if (!blk.has_downsample) {
    // conv3 adds onto x in place: each output float is read as the residual and written by
    // the same tile, so its store finds the line in L1 instead of fetching it from L3 (stage
    // 1's output is 800 KB a plane set). Stage 1's conv3 alone measured 10-20% faster.
    blk.conv3.forward_batch(c, count, oh, oh, x, Act::relu, x, scratch, pool);
    return oh;
  }
  stack_conv3_input(x, count, blk.conv1.shape().in_c, h, blk.conv2.shape(), c);
  blk.conv3.forward_batch(c, count, oh, oh, nullptr, Act::relu, b, scratch, pool);
  std::swap(x, b);
  return oh;
}

void ResNet50::embed(const float* features, int h, float* emb, Lane& ws, ThreadPool& pool) const {
  global_avg_pool(features, kFeatures, h, h, ws.pooled.get(), pool);
  head_.forward(ws.pooled.get(), 1, emb, pool);
  l2_normalize(emb, 1, dim_);
}

void ResNet50::forward_image(const float* img, float* emb, Lane& ws, ThreadPool& pool) const {
  const int h = run_front(img, static_cast<int>(blocks_.size()), ws, pool);
  embed(ws.a.get(), h, emb, ws, pool);
}

void ResNet50::forward_chunk(const float* imgs, int count, float* emb, Lane& ws) const {
  ThreadPool& pool = *ws.solo;
  const size_t image_floats = static_cast<size_t>(3) * input_size_ * input_size_;
  if (count == 1) {
    forward_image(imgs, emb, ws, pool);
    return;
  }
  // Chunks of several images come only from a workspace of several lanes, which has ws.chunk.
  int h = 0;
  size_t front_floats = 0;
  for (int j = 0; j < count; ++j) {
    h = run_front(imgs + j * image_floats, kChunkFrom, ws, pool);
    front_floats = static_cast<size_t>(blocks_[kChunkFrom].conv1.shape().in_c) * h * h;
    std::copy(ws.a.get(), ws.a.get() + front_floats, ws.chunk.get() + j * front_floats);
  }
  // The chunk's buffer and b trade places after each block with a downsample, as a and b do
  // per image.
  float* x = ws.chunk.get();
  float* b = ws.b.get();
  for (size_t i = kChunkFrom; i < blocks_.size(); ++i)
    h = run_block(blocks_[i], x, b, count, h, ws.c.get(), ws.scratch.get(), pool);
  for (int j = 0; j < count; ++j)
    embed(x + static_cast<size_t>(j) * kFeatures * h * h, h, emb + static_cast<size_t>(j) * dim_, ws, pool);
}

}  // namespace fg::nn
