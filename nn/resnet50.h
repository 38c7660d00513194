// ResNet-50 face embedder (torchvision backbone, ArcFace head) over a converted .fgw file.
// BatchNorms were folded by the converter, so the runtime sees convs with bias only:
//   conv1 7x7/2 + ReLU -> maxpool 3x3/2 -> bottlenecks [3,4,6,3] -> global avg pool
//   -> head.fc (BN1d, Linear, BN1d folded into one affine map) -> L2 norm.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/kernels.h"
#include "weights/fgw.h"

namespace fg::nn {

constexpr const char* kResNet50Arch = "resnet50-arcface";

class ResNet50 {
 public:
  // Packs the weights of `file` (whose "arch" must be kResNet50Arch). Throws
  // weights::WeightsError naming the tensor on any missing tensor or wrong shape, and on
  // tensors the network does not use. `file` may be closed afterwards.
  explicit ResNet50(const weights::WeightsFile& file);
  ~ResNet50();

  // Every tensor a weights file for this network holds, in order (for writers and tests).
  static std::vector<std::pair<std::string, weights::Shape>> tensor_shapes(int dim);

  int input_size() const { return input_size_; }
  int dim() const { return dim_; }

  // Activation buffers and scratch for one forward at a time, sized once from the shapes:
  // one lane per thread, so that with batch >= threads each thread runs whole images. With
  // several lanes, each runs its images' last stages in chunks, as one batch (`chunk` holds
  // their inputs), so that those weights, most of the network's, are read once per chunk
  // rather than per image.
  // Buffers are left uninitialised: memory a layer never reaches (most of the stem's im2col
  // area, for one) is never touched, so it never becomes resident.
  struct Lane {
    std::unique_ptr<float[]> a, b, c, scratch, pooled, chunk;
    std::unique_ptr<ThreadPool> solo;  // 1 thread: the lane's kernels run inline
  };
  struct Workspace {
    std::vector<Lane> lanes;
  };
  std::unique_ptr<Workspace> make_workspace(int threads = 1) const;

  // images: batch x 3 x S x S preprocessed floats (S = input_size()); out: batch x dim()
  // unit-length embeddings. const: one model may serve several threads, each with its own
  // workspace and pool. Images are split whole over min(pool threads, lanes); the rest of
  // the batch splits each layer over the pool.
  void forward(const float* images, int batch, float* out, Workspace& ws, ThreadPool& pool) const;

 private:
  struct Block {
    Conv2d conv1, conv2, conv3;
    // The downsample is folded into conv3, whose input per image is then conv2's output
    // followed by the block's input subsampled to its grid.
    bool has_downsample = false;
  };
  void forward_image(const float* image, float* out, Lane& lane, ThreadPool& pool) const;
  void forward_chunk(const float* images, int count, float* out, Lane& lane) const;
  // The stem and blocks [0, end) on one image; returns the output's side, output in lane.a.
  int run_front(const float* image, int end, Lane& lane, ThreadPool& pool) const;
  // One block on `count` images of side h at x; leaves its output at x, swapping x and b when
  // the block cannot work in place (c: its temporary).
  int run_block(const Block& blk, float*& x, float*& b, int count, int h, float* c, float* scratch,
                ThreadPool& pool) const;
  // Global average pool, head and L2 norm of one image's last feature map (side h).
  void embed(const float* features, int h, float* out, Lane& lane, ThreadPool& pool) const;
  int input_size_ = 112;
  int dim_ = 512;
  Conv2d stem_;
  std::vector<Block> blocks_;
  Linear head_;
};

}  // namespace fg::nn
