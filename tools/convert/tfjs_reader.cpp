#include "tools/convert/tfjs_reader.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "common/count.h"
#include "weights/fgw.h"

namespace fg::convert {
namespace {

// All shards of one manifest together; far above real models (dlib's ResNet is 22 MB).
constexpr uint64_t kMaxShardBytes = uint64_t{1} << 30;

// A shard path from the manifest: a relative path inside the manifest's folder, nothing else
// (not "/dev/zero", not "../../somewhere").
void check_shard_path(const std::string& manifest, const std::string& name) {
  const std::filesystem::path p(name);
  bool up = false;
  for (const auto& part : p) up = up || part == "..";
  if (name.empty() || p.has_root_path() || up)
    throw ConvertError(manifest + ": shard path '" + name +
                       "' leaves the manifest's folder; expected a relative path inside it");
}

// Appends the shard at `path` to `bytes`; `path` must be a regular file and all shards together
// at most kMaxShardBytes.
void read_shard(const std::string& manifest, const std::string& path, std::vector<uint8_t>& bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status))
    throw ConvertError(manifest + ": names shard " + path + ", which cannot be opened (missing?)");
  if (!std::filesystem::is_regular_file(status))
    throw ConvertError(manifest + ": names shard " + path + ", which is not a regular file");
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxShardBytes - bytes.size())
    throw ConvertError(manifest + ": shard " + path + " brings the shards to " + std::to_string(bytes.size() + size) +
                       " bytes (limit " + std::to_string(kMaxShardBytes) + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConvertError(manifest + ": names shard " + path + ", which cannot be opened (missing?)");
  const size_t at = bytes.size();
  bytes.resize(at + size);
  in.read(reinterpret_cast<char*>(bytes.data() + at), std::streamsize(size));
  if (static_cast<uint64_t>(in.gcount()) != size || in.peek() != std::char_traits<char>::eof())
    throw ConvertError(manifest + ": shard " + path + " changed size while being read");
}

// The shape of weight `name`: every dimension a non-negative integer, and the element count at
// most `max_count` (what the remaining shard bytes can hold); counted without overflow.
int64_t checked_count(const std::string& manifest, const std::string& name, const nlohmann::json& dims,
                      uint64_t max_count, std::vector<int64_t>& shape) {
  if (!dims.is_array())
    throw ConvertError(manifest + ": " + name + ": shape is a JSON " + dims.type_name() + ", expected an array");
  uint64_t n = 1;
  bool zero = false, over = false;
  for (const auto& d : dims) {
    const bool ok = d.is_number_unsigned() ? d.get<uint64_t>() <= uint64_t(INT64_MAX)
                                           : d.is_number_integer() && d.get<int64_t>() >= 0;
    if (!ok)
      throw ConvertError(manifest + ": " + name + ": shape dimension " +
                         (d.is_number() ? d.dump() : "a JSON " + std::string(d.type_name())) +
                         ", expected a non-negative integer");
    const uint64_t v = d.get<uint64_t>();
    shape.push_back(static_cast<int64_t>(v));
    if (v == 0) {
      zero = true;
    } else if (over || n > max_count / v) {
      over = true;
    } else {
      n *= v;
    }
  }
  if (zero) return 0;
  return over ? -1 : static_cast<int64_t>(n);
}

size_t bytes_per_value(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "uint16") return 2;
  if (dtype == "uint8") return 1;
  return 0;
}

// Decodes `n` values stored as `dtype` at `p` (little-endian), then applies scale/min when
// `quantised`.
void decode(const uint8_t* p, int64_t n, const std::string& dtype, bool quantised, double scale, double min,
            std::vector<float>& out) {
  out.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double v;
    if (dtype == "uint8") {
      v = p[i];
    } else if (dtype == "uint16") {
      uint16_t q;
      std::memcpy(&q, p + 2 * i, 2);
      v = q;
    } else if (dtype == "int32") {
      int32_t q;
      std::memcpy(&q, p + 4 * i, 4);
      v = q;
    } else {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      v = f;
    }
    // As TF.js does it: in double (JavaScript numbers), rounded once into a Float32Array.
    out[i] = static_cast<float>(quantised ? v * scale + min : v);
  }
}

}  // namespace

TfjsWeights read_tfjs(const std::string& manifest_path) {
  namespace fs = std::filesystem;
  std::ifstream in(manifest_path, std::ios::binary);
  if (!in) throw ConvertError(manifest_path + ": cannot open");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ConvertError(manifest_path + ": not a TensorFlow.js weights manifest: " + e.what());
  }
  if (!manifest.is_array() || manifest.empty())
    throw ConvertError(manifest_path +
                       ": not a TensorFlow.js weights manifest: expected a non-empty JSON array of groups");
  const fs::path dir = fs::path(manifest_path).parent_path();
  TfjsWeights result;
  try {
    for (const auto& group : manifest) {
      std::vector<uint8_t> bytes;
      for (const auto& p : group.at("paths")) {
        const std::string name = p.get<std::string>();
        check_shard_path(manifest_path, name);
        const std::string shard = (dir / name).string();
        read_shard(manifest_path, shard, bytes);
        result.shards.push_back(shard);
      }
      size_t at = 0;
      for (const auto& w : group.at("weights")) {
        TfjsTensor t;
        t.name = w.at("name").get<std::string>();
        const std::string dtype = w.at("dtype").get<std::string>();
        if (dtype != "float32" && dtype != "int32")
          throw ConvertError(manifest_path + ": " + t.name + ": dtype '" + dtype + "', expected float32 or int32");
        std::string stored = dtype;
        double scale = 1, min = 0;
        const bool quantised = w.contains("quantization");
        if (quantised) {
          const auto& q = w.at("quantization");
          stored = q.at("dtype").get<std::string>();
          if (stored != "uint8" && stored != "uint16")
            throw ConvertError(manifest_path + ": " + t.name + ": quantisation '" + stored +
                               "', expected uint8 or uint16");
          scale = q.at("scale").get<double>();
          min = q.at("min").get<double>();
        }
        const size_t per_value = bytes_per_value(stored);
        const int64_t n = checked_count(manifest_path, t.name, w.at("shape"), (bytes.size() - at) / per_value, t.shape);
        if (n < 0)
          throw ConvertError(manifest_path + ": " + t.name + " " + weights::shape_str(t.shape) + " needs more than " +
                             fg::count(bytes.size() - at, "byte", "bytes") + " from byte " + std::to_string(at) +
                             " but the shards hold " + std::to_string(bytes.size()) + " (truncated shard?)");
        const size_t len = static_cast<size_t>(n) * per_value;
        if (bytes.size() - at < len)
          throw ConvertError(manifest_path + ": " + t.name + " " + weights::shape_str(t.shape) + " needs bytes " +
                             std::to_string(at) + ".." + std::to_string(at + len) + " but the shards hold " +
                             std::to_string(bytes.size()) + " (truncated shard?)");
        decode(bytes.data() + at, n, stored, quantised, scale, min, t.values);
        t.stored_as = stored;
        at += len;
        result.tensors.push_back(std::move(t));
      }
      if (at != bytes.size())
        throw ConvertError(manifest_path + ": the shards hold " + fg::count(bytes.size(), "byte", "bytes") +
                           ", the specs use " + std::to_string(at) +
                           " (manifest and shards from different versions?)");
    }
  } catch (const nlohmann::json::exception& e) {
    throw ConvertError(manifest_path + ": malformed TensorFlow.js weights manifest: " + e.what());
  }
  return result;
}

}  // namespace fg::convert
