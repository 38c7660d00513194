// MTCNN's three networks (Zhang et al. 2016) as facenet-pytorch ships them, over a converted
// mtcnn.fgw. Layout is NCHW float32, inputs already scaled as (x - 127.5) / 128.
//   PNet  fully convolutional, any h x w >= 12: conv3 10, PReLU, maxpool 2/2 (ceil),
//         conv3 16, PReLU, conv3 32, PReLU -> conv1 2 (softmax) and conv1 4 (box regression).
//   RNet  24 x 24: conv3 28, PReLU, pool 3/2, conv3 48, PReLU, pool 3/2, conv2 64, PReLU,
//         dense 128, PReLU -> dense 2 (softmax), dense 4.
//   ONet  48 x 48: conv3 32, PReLU, pool 3/2, conv3 64, PReLU, pool 3/2, conv3 64, PReLU,
//         pool 2/2, conv2 128, PReLU, dense 256, PReLU -> dense 2 (softmax), 4, 10 (landmarks).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "nn/kernels.h"
#include "weights/fgw.h"

namespace fg::nn {

constexpr const char* kMtcnnArch = "mtcnn";

// Every tensor of an MTCNN weights file, in state_dict order: facenet-pytorch's names with a
// "pnet." / "rnet." / "onet." prefix. Convolutions and dense layers have .weight and .bias,
// PReLUs one slope per channel.
inline std::vector<std::pair<std::string, weights::Shape>> mtcnn_tensor_shapes() {
  std::vector<std::pair<std::string, weights::Shape>> t;
  const auto layer = [&t](const std::string& name, const weights::Shape& w) {
    t.emplace_back(name + ".weight", w);
    if (name.find(".prelu") == std::string::npos) t.emplace_back(name + ".bias", weights::Shape{w[0]});
  };
  layer("pnet.conv1", {10, 3, 3, 3}), layer("pnet.prelu1", {10});
  layer("pnet.conv2", {16, 10, 3, 3}), layer("pnet.prelu2", {16});
  layer("pnet.conv3", {32, 16, 3, 3}), layer("pnet.prelu3", {32});
  layer("pnet.conv4_1", {2, 32, 1, 1}), layer("pnet.conv4_2", {4, 32, 1, 1});
  layer("rnet.conv1", {28, 3, 3, 3}), layer("rnet.prelu1", {28});
  layer("rnet.conv2", {48, 28, 3, 3}), layer("rnet.prelu2", {48});
  layer("rnet.conv3", {64, 48, 2, 2}), layer("rnet.prelu3", {64});
  layer("rnet.dense4", {128, 576}), layer("rnet.prelu4", {128});
  layer("rnet.dense5_1", {2, 128}), layer("rnet.dense5_2", {4, 128});
  layer("onet.conv1", {32, 3, 3, 3}), layer("onet.prelu1", {32});
  layer("onet.conv2", {64, 32, 3, 3}), layer("onet.prelu2", {64});
  layer("onet.conv3", {64, 64, 3, 3}), layer("onet.prelu3", {64});
  layer("onet.conv4", {128, 64, 2, 2}), layer("onet.prelu4", {128});
  layer("onet.dense5", {256, 1152}), layer("onet.prelu5", {256});
  layer("onet.dense6_1", {2, 256}), layer("onet.dense6_2", {4, 256}), layer("onet.dense6_3", {10, 256});
  return t;
}

class Mtcnn {
 public:
  static constexpr int kPnetMin = 12;  // PNet's receptive field; its output grid has stride 2
  static constexpr int kRnetSize = 24;
  static constexpr int kOnetSize = 48;

  // Packs the weights of `file` (arch "mtcnn"). Throws weights::WeightsError naming the tensor
  // on a missing, mis-shaped or unexpected tensor. `file` may be closed afterwards.
  explicit Mtcnn(const weights::WeightsFile& file);
  ~Mtcnn();

  // PNet's output side for an input side n >= kPnetMin.
  static int pnet_out_dim(int n);

  // Buffers for one forward at a time. They grow to the largest input seen and are then
  // reused; PNet runs in horizontal bands so that they stay bounded whatever the image size.
  struct Lane {
    std::vector<float> a, b, scratch;
  };
  struct Workspace {
    std::vector<float> band, a, b, head, scratch;  // PNet
    std::vector<Lane> lanes;                       // R/O-Net convs, one per thread
    std::vector<float> features, hidden, heads;    // R/O-Net dense layers, whole batch
  };

  // One 3 x h x w image (h, w >= kPnetMin). prob: 2 x oh x ow softmax (channel 1 = face),
  // reg: 4 x oh x ow box offsets, where oh = pnet_out_dim(h), ow = pnet_out_dim(w).
  void pnet(const float* image, int h, int w, float* prob, float* reg, Workspace& ws, ThreadPool& pool) const;
  // batch x 3 x 24 x 24 images. prob: batch x 2, reg: batch x 4.
  void rnet(const float* images, int batch, float* prob, float* reg, Workspace& ws, ThreadPool& pool) const;
  // batch x 3 x 48 x 48 images. prob: batch x 2, reg: batch x 4, landmarks: batch x 10
  // (x1..x5 then y1..y5, as fractions of the box).
  void onet(const float* images, int batch, float* prob, float* reg, float* landmarks, Workspace& ws,
            ThreadPool& pool) const;

 private:
  // Conv + PReLU, then max pooling when `pooled`: the repeating unit of all three nets.
  struct Stage {
    Conv2d conv;
    std::vector<float> slope;
    bool pooled = false;
    PoolShape pool;
  };
  // Dense layer + PReLU after a trunk, then the heads merged into one layer (softmax pair first).
  struct Dense {
    Linear hidden;
    std::vector<float> slope;
    Linear heads;
  };
  // Output shape of a trunk (c x h x w, rows ld floats apart) and the buffer sizes it
  // needs, for an h x w input on `threads`.
  struct TrunkShape {
    size_t act = 0, scratch = 0;
    int c = 0, h = 0, w = 0, ld = 0;
  };
  static TrunkShape trunk_shape(const std::vector<Stage>& trunk, int h, int w, int threads);
  // in through the trunk; a and b (ping-pong) hold trunk_shape().act floats each, scratch
  // the convs' workspace. Returns the output as the last stage left it, in a or b: rows
  // trunk_shape().ld floats apart (a wide conv's junk columns included).
  static const float* run_trunk(const std::vector<Stage>& trunk, const float* in, int h, int w, float* a,
                                float* b, float* scratch, ThreadPool& pool);
  int pnet_band_rows(int h, int w) const;
  // The trunk on each of `batch` images (parallel over images), then the dense layers on the
  // whole batch; the head outputs are left in ws.heads.
  void run_batch(const std::vector<Stage>& trunk, const Dense& dense, int size, const float* images, int batch,
                 Workspace& ws, ThreadPool& pool) const;

  std::vector<Stage> pnet_trunk_, rnet_trunk_, onet_trunk_;
  Conv2d pnet_head_;
  Dense rnet_dense_, onet_dense_;
};

}  // namespace fg::nn
