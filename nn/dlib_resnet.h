// dlib's ResNet face descriptor (dlib_face_recognition_resnet_model_v1, as face-api.js's
// FaceRecognitionNet runs it) over a converted .fgw file. Input 150 x 150 RGB, output 128-D.
// The converter folded each layer's affine "scale" into its conv, so the runtime sees:
//   conv32_down 7x7/2 valid + ReLU -> maxpool 3x3/2 valid
//   -> residual blocks: conv 3x3 + ReLU, conv 3x3, + identity, ReLU
//      down blocks: conv 3x3/2 valid + ReLU, conv 3x3; shortcut avgpool 2x2/2 with zero
//      channels appended; when the conv path comes out one row/column short (8 -> 3 vs
//      4, 4 -> 1 vs 2) it is zero-padded at the bottom/right, as face-api does
//   -> global mean -> fc (no bias) -> L2 norm.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/kernels.h"
#include "weights/fgw.h"

namespace fg::nn {

constexpr const char* kDlibResNetArch = "dlib-resnet";

class DlibResNet {
 public:
  static constexpr int kInputSize = 150;
  static constexpr int kDim = 128;

  // Packs the weights of `file` (arch kDlibResNetArch). Throws weights::WeightsError naming
  // the tensor on a missing, mis-shaped or unexpected tensor. `file` may be closed afterwards.
  explicit DlibResNet(const weights::WeightsFile& file);
  ~DlibResNet();

  // Every tensor of a weights file for this network, in order: face-api's layer names
  // ("conv64_down.conv1.weight", OIHW) and "fc.weight" [128, 256].
  static std::vector<std::pair<std::string, weights::Shape>> tensor_shapes();

  int input_size() const { return kInputSize; }
  int dim() const { return kDim; }

  struct Workspace {
    std::vector<float> a, b, c, scratch, pooled;
  };
  std::unique_ptr<Workspace> make_workspace() const;

  // images: batch x 3 x 150 x 150 preprocessed floats; out: batch x 128 unit-length
  // descriptors. const: shareable across threads, each with its own workspace and pool.
  void forward(const float* images, int batch, float* out, Workspace& ws, ThreadPool& pool) const;

 private:
  struct Block {
    Conv2d conv1, conv2;
    bool down = false;
  };
  Conv2d stem_;
  std::vector<Block> blocks_;
  Linear fc_;
};

}  // namespace fg::nn
