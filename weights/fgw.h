// The facegate weights file (.fgw): one file per model family, mmap-loaded, tensors are views.
//
// Layout, all integers little-endian:
//   header   char[4] magic "FGW\0" | u32 version | u64 meta_count | u64 tensor_count
//            | u64 data_offset (from file start, multiple of 64) | u64 data_size
//            | (v2) u32 checksum | u32 zero
//   metadata meta_count x { str key | u32 type | value }
//            type 0 = string (str), 1 = int64 (i64), 2 = float64 (f64),
//            3 = float32 array (u64 n, n x f32)
//   tensors  tensor_count x { str name | u32 dtype (0 = float32) | u32 ndim | ndim x u64 dim
//            | u64 offset (from data_offset, multiple of 64) }
//   padding  zeros up to data_offset
//   data     data_size bytes; each tensor's bytes start 64-byte aligned
// where str = u32 byte length + UTF-8 bytes (no terminator).
//
// v2's checksum is the CRC-32C (Castagnoli, as iSCSI and ext4 use) of every byte of the file
// but the checksum field's own 8, in file order; a v2 file ends where its data ends. The
// loader checks it after the structure, so a damaged table is still named.
//
// Tensor names keep PyTorch's state_dict names (`layer1.0.conv1.weight`) so every number can be
// traced back to the checkpoint. Version history: v1, no checksum (still read); v2 (written
// since 2026-11-30) adds the checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace fg::weights {

constexpr uint32_t kVersion = 2;
constexpr uint32_t kMinVersion = 1;
constexpr uint64_t kAlign = 64;

// What the loader accepts; a file beyond any of these is refused with the limit in the
// message. Real files are far below: ResNet-50 has ~270 tensors, the largest 2048x512 (4 MiB).
constexpr uint64_t kMaxTensors = 1u << 16;
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 30;  // one tensor
constexpr uint64_t kMaxTensorDims = 8;
constexpr uint64_t kMaxMetaEntries = 4096;
constexpr uint64_t kMaxNameBytes = 4096;           // tensor names and metadata keys
constexpr uint64_t kMaxMetaStringBytes = 1u << 20;  // a metadata string value
constexpr uint64_t kMaxMetaFloats = 1u << 20;       // a metadata float array

// CRC-32C (Castagnoli) of `n` bytes: the checksum of a v2 file.
uint32_t crc32c(const void* data, size_t n);

// Anything wrong with a weights file; the message names the file (and tensor) and says
// what it got and what it expected.
struct WeightsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using MetaValue = std::variant<std::string, int64_t, double, std::vector<float>>;
using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[256,256,3,3]"
int64_t numel(const Shape& s);

struct TensorView {
  std::string name;
  Shape shape;
  const float* data = nullptr;  // 64-byte aligned, inside the mapping
  int64_t numel() const { return weights::numel(shape); }
};

// A validated, read-only mapping of a weights file. Move-only; views die with it.
class WeightsFile {
 public:
  // Maps and validates `path`: magic, version, table bounds, alignment, duplicate names, and
  // (v2) the checksum.
  static WeightsFile open(const std::string& path);

  WeightsFile(WeightsFile&& o) noexcept;
  WeightsFile& operator=(WeightsFile&& o) noexcept;
  WeightsFile(const WeightsFile&) = delete;
  WeightsFile& operator=(const WeightsFile&) = delete;
  ~WeightsFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  const std::map<std::string, MetaValue>& meta() const { return meta_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }

  // Metadata accessors; throw WeightsError naming the key when absent or of another type.
  const std::string& meta_string(const std::string& key) const;
  int64_t meta_int(const std::string& key) const;
  double meta_real(const std::string& key) const;
  const std::vector<float>& meta_floats(const std::string& key) const;

  const TensorView* find(const std::string& name) const;
  // The tensor `name` with exactly `shape`; throws "<file>: <name>: got [..], expected [..]"
  // or "<file>: missing tensor <name>".
  const TensorView& tensor(const std::string& name, const Shape& shape) const;

 private:
  WeightsFile() = default;
  std::string path_;
  uint32_t version_ = 0;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, MetaValue> meta_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> by_name_;
};

// Builds a weights file in memory and writes it atomically (temp file + fsync + rename):
// on any error no file appears at `path`.
class WeightsWriter {
 public:
  void set_meta(const std::string& key, MetaValue value);
  // Copies `data` (numel(shape) floats). Throws on a duplicate name.
  void add_tensor(const std::string& name, const Shape& shape, const float* data);
  // Returns the number of bytes written.
  uint64_t write(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    Shape shape;
    std::vector<float> data;
  };
  std::map<std::string, MetaValue> meta_;
  std::vector<Entry> tensors_;
};

}  // namespace fg::weights
