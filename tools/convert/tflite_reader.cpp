#include "tools/convert/tflite_reader.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "common/count.h"
#include "weights/fgw.h"

namespace fg::convert {
namespace {

// Field numbers in TFLite's schema.fbs (the vtable slot of each field, counted from 0).
constexpr int kModelSubgraphs = 2, kModelBuffers = 4;
constexpr int kSubgraphTensors = 0;
constexpr int kTensorShape = 0, kTensorType = 1, kTensorBuffer = 2, kTensorName = 3;
constexpr int kBufferData = 0;

// Every read goes through here, so a truncated or hostile file throws instead of reading
// past the end.
class Flatbuffer {
 public:
  Flatbuffer(std::vector<uint8_t> bytes, std::string path) : b_(std::move(bytes)), path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw ConvertError(path_ + ": not a valid TFLite file: " + what + " (file is " +
                       fg::count(b_.size(), "byte", "bytes") + "; truncated or another format?)");
  }

  template <typename T>
  T read(uint64_t at) const {
    if (at > b_.size() || b_.size() - at < sizeof(T))
      fail("read of " + fg::count(sizeof(T), "byte", "bytes") + " at " + std::to_string(at));
    T v;
    std::memcpy(&v, b_.data() + at, sizeof(T));
    return v;
  }

  uint64_t deref(uint64_t at) const { return at + read<uint32_t>(at); }

  // The position of field `slot` of the table at `table`, or 0 when absent.
  uint64_t field(uint64_t table, int slot) const {
    const int64_t vtable = static_cast<int64_t>(table) - read<int32_t>(table);
    if (vtable < 0) fail("vtable offset out of range at " + std::to_string(table));
    const uint16_t vsize = read<uint16_t>(vtable);
    const uint64_t entry = 4 + 2 * static_cast<uint64_t>(slot);
    if (entry + 2 > vsize) return 0;
    const uint16_t off = read<uint16_t>(vtable + entry);
    return off ? table + off : 0;
  }

  // A vector referenced by the offset at `ref`: {element count, position of element 0}.
  std::pair<uint64_t, uint64_t> vector(uint64_t ref, uint64_t elem_size) const {
    const uint64_t at = deref(ref);
    const uint64_t n = read<uint32_t>(at);
    if (at + 4 > b_.size() || n > (b_.size() - at - 4) / elem_size)
      fail("vector of " + fg::count(n, "element", "elements") + " at " + std::to_string(at) + " runs past the end");
    return {n, at + 4};
  }

  std::string string(uint64_t ref) const {
    const auto [n, at] = vector(ref, 1);
    return std::string(reinterpret_cast<const char*>(b_.data() + at), n);
  }

  // Adds `n` bytes about to be copied to `copied`. Buffers may point at the same bytes and
  // tensors at the same buffer, so a small file could otherwise ask for its size squared.
  uint64_t count_copy(uint64_t copied, uint64_t n) const {
    const uint64_t limit = 4 * static_cast<uint64_t>(b_.size()) + (uint64_t{1} << 24);
    if (n > limit - copied)
      fail("buffers and tensors hold " + std::to_string(copied + n) +
           " bytes, more than 4 times the file + 16777216 (" + std::to_string(limit) +
           ", limit: shared or overlapping buffers)");
    return copied + n;
  }

  const uint8_t* data(uint64_t at) const { return b_.data() + at; }
  size_t size() const { return b_.size(); }

 private:
  std::vector<uint8_t> b_;
  std::string path_;
};

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConvertError(path + ": cannot open");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::vector<TfliteTensor> read_tflite(const std::string& path) {
  Flatbuffer fb(read_all(path), path);
  if (fb.size() < 8 || std::memcmp(fb.data(4), "TFL3", 4) != 0) {
    std::string got = fb.size() < 8 ? "only " + fg::count(fb.size(), "byte", "bytes") : "identifier '" +
                                                    std::string(reinterpret_cast<const char*>(fb.data(4)), 4) + "'";
    throw ConvertError(path + ": not a TFLite file: " + got + ", expected identifier 'TFL3' at byte 4");
  }
  const uint64_t model = fb.deref(0);

  std::vector<std::vector<uint8_t>> buffers;
  uint64_t copied = 0;  // bytes of buffer and tensor data copied so far
  if (const uint64_t f = fb.field(model, kModelBuffers)) {
    const auto [n, at] = fb.vector(f, 4);
    buffers.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t buffer = fb.deref(at + 4 * i);
      if (const uint64_t d = fb.field(buffer, kBufferData)) {
        const auto [len, p] = fb.vector(d, 1);
        copied = fb.count_copy(copied, len);
        buffers[i].assign(fb.data(p), fb.data(p) + len);
      }
    }
  }

  const uint64_t sg_field = fb.field(model, kModelSubgraphs);
  if (!sg_field) fb.fail("no subgraphs");
  const auto [n_sg, sg_at] = fb.vector(sg_field, 4);
  if (n_sg == 0) fb.fail("no subgraphs");
  const uint64_t subgraph = fb.deref(sg_at);
  const uint64_t tensors_field = fb.field(subgraph, kSubgraphTensors);
  if (!tensors_field) fb.fail("subgraph 0 has no tensors");

  std::vector<TfliteTensor> out;
  const auto [n, at] = fb.vector(tensors_field, 4);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t t = fb.deref(at + 4 * i);
    TfliteTensor tensor;
    if (const uint64_t f = fb.field(t, kTensorName)) tensor.name = fb.string(f);
    if (const uint64_t f = fb.field(t, kTensorShape)) {
      const auto [dims, p] = fb.vector(f, 4);
      for (uint64_t k = 0; k < dims; ++k) tensor.shape.push_back(fb.read<int32_t>(p + 4 * k));
    }
    if (const uint64_t f = fb.field(t, kTensorType)) tensor.type = fb.read<int8_t>(f);
    if (const uint64_t f = fb.field(t, kTensorBuffer)) {
      const uint32_t b = fb.read<uint32_t>(f);
      if (b >= buffers.size())
        fb.fail("tensor " + tensor.name + " names buffer " + std::to_string(b) + " of " +
                std::to_string(buffers.size()));
      copied = fb.count_copy(copied, buffers[b].size());
      tensor.data = buffers[b];
    }
    out.push_back(std::move(tensor));
  }
  return out;
}

std::vector<float> tflite_floats(const TfliteTensor& t, const std::string& path) {
  if (t.type != static_cast<int8_t>(TfliteType::float32))
    throw ConvertError(path + ": " + t.name + ": type " + std::to_string(t.type) + ", expected float32 (0)");
  // The element count, checked against the data as it is multiplied (a shape's product can
  // overflow int64 long before anything is allocated).
  const uint64_t have = t.data.size() / sizeof(float);
  uint64_t n = 1;
  bool zero = false, over = false;
  for (int64_t d : t.shape) {
    if (d < 0)
      throw ConvertError(path + ": " + t.name + " " + weights::shape_str(t.shape) + ": dimension " + std::to_string(d) +
                         ", expected a non-negative size");
    if (d == 0) {
      zero = true;
    } else if (over || n > have / static_cast<uint64_t>(d)) {
      over = true;
    } else {
      n *= static_cast<uint64_t>(d);
    }
  }
  if (zero) n = 0;
  if ((over && !zero) || t.data.size() != n * sizeof(float))
    throw ConvertError(path + ": " + t.name + " " + weights::shape_str(t.shape) + ": " +
                       fg::count(t.data.size(), "byte", "bytes") + " of data, expected " +
                       (over && !zero ? "more than " + std::to_string(t.data.size())
                                      : std::to_string(n * sizeof(float))));
  std::vector<float> v(static_cast<size_t>(n));
  if (n) std::memcpy(v.data(), t.data.data(), t.data.size());  // an empty vector's data() may be null
  return v;
}

}  // namespace fg::convert
