#include "tools/convert/tfjs_reader.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "weights/fgw.h"

namespace fg::convert {
namespace {

std::vector<uint8_t> read_shard(const std::string& manifest, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConvertError(manifest + ": names shard " + path + ", which cannot be opened (missing?)");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
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
    throw ConvertError(manifest_path + ": not a TensorFlow.js weights manifest: expected a non-empty JSON array of groups");
  const fs::path dir = fs::path(manifest_path).parent_path();
  TfjsWeights result;
  try {
    for (const auto& group : manifest) {
      std::vector<uint8_t> bytes;
      for (const auto& p : group.at("paths")) {
        const std::string shard = (dir / p.get<std::string>()).string();
        const auto b = read_shard(manifest_path, shard);
        bytes.insert(bytes.end(), b.begin(), b.end());
        result.shards.push_back(shard);
      }
      size_t at = 0;
      for (const auto& w : group.at("weights")) {
        TfjsTensor t;
        t.name = w.at("name").get<std::string>();
        for (const auto& d : w.at("shape")) t.shape.push_back(d.get<int64_t>());
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
            throw ConvertError(manifest_path + ": " + t.name + ": quantisation '" + stored + "', expected uint8 or uint16");
          scale = q.at("scale").get<double>();
          min = q.at("min").get<double>();
        }
        const int64_t n = weights::numel(t.shape);
        if (n < 0) throw ConvertError(manifest_path + ": " + t.name + ": bad shape " + weights::shape_str(t.shape));
        const size_t len = static_cast<size_t>(n) * bytes_per_value(stored);
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
        throw ConvertError(manifest_path + ": the shards hold " + std::to_string(bytes.size()) + " bytes, the specs use " +
                           std::to_string(at) + " (manifest and shards from different versions?)");
    }
  } catch (const nlohmann::json::exception& e) {
    throw ConvertError(manifest_path + ": malformed TensorFlow.js weights manifest: " + e.what());
  }
  return result;
}

}  // namespace fg::convert
