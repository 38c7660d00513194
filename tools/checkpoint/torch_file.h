// Reads PyTorch checkpoints natively: the zip format of torch.save (>= 1.6) and the
// legacy pickle stream (< 1.6). The pickle is interpreted by our own unpickler, which
// knows the opcodes torch.save emits and builds tensors through _rebuild_tensor_v2 /
// _rebuild_parameter with persistent storage references. Nothing is executed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fg::ckpt {

// Any failure to read a checkpoint: the message names the file and what was wrong.
struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A tensor materialised as contiguous row-major float32 (whatever its stored dtype:
// float16, bfloat16, float64 and integer storages are converted; views of a shared
// storage with any strides/offset are gathered).
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::string dtype;  // stored dtype: "float32", "float16", "bfloat16", "float64", "int64", ...
  int64_t numel() const;
};

struct Value;
using ValuePtr = std::shared_ptr<const Value>;

// The unpickled object tree.
struct Value {
  enum class Kind { none, boolean, integer, real, string, bytes, list, tuple, dict, tensor, object };
  Kind kind = Kind::none;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;                                   // string, bytes, or object's "module.name"
  std::vector<ValuePtr> items;                     // list, tuple, object's args
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // dict in insertion order (OrderedDict too)
  std::shared_ptr<const Tensor> tensor;

  // Looks up a dict entry whose key is a string; nullptr when absent or not a dict.
  ValuePtr get(const std::string& key) const;
};

// Reads `path` (zip or legacy format, detected from the first bytes) and returns the object
// torch.save pickled. Throws CheckpointError("<path>: <what>") on anything malformed.
ValuePtr load_torch_file(const std::string& path);
// The same for a checkpoint already in memory; errors are prefixed with `name` instead.
ValuePtr load_torch_bytes(const uint8_t* data, size_t size, const std::string& name);

// Flattens a state_dict-like dict (string keys -> tensors) in file order. Non-tensor values
// are skipped. Throws CheckpointError if `v` is not a dict.
std::vector<std::pair<std::string, std::shared_ptr<const Tensor>>> tensors_of(const Value& v);

}  // namespace fg::ckpt
