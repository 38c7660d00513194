// dlib's ResNet face descriptor from face-api.js's TensorFlow.js weights
// (face_recognition_model-weights_manifest.json + .bin): dequantised, each layer's affine
// "scale" folded into its conv, kernels re-laid out from TF's HWIO to OIHW.
#include <filesystem>
#include <map>
#include <set>

#include "nn/dlib_resnet.h"
#include "tools/convert/convert.h"
#include "tools/convert/sha256.h"
#include "tools/convert/tfjs_reader.h"
#include "weights/fgw.h"

namespace fg::convert {
namespace {

constexpr const char* kConverterVersion = "facegate-convert 1";

// "conv64_down.conv1" -> "conv64_down/conv1": face-api's weight-map prefix of one of our convs.
std::string tfjs_prefix(std::string name) {
  for (char& c : name)
    if (c == '.') c = '/';
  return name;
}

class Source {
 public:
  Source(TfjsWeights w, std::string path) : path_(std::move(path)) {
    for (auto& t : w.tensors) {
      const std::string name = t.name;
      if (!tensors_.emplace(name, std::move(t)).second) throw ConvertError(path_ + ": duplicate weight " + name);
    }
  }
  // The tensor `name` with exactly `shape`.
  const TfjsTensor& get(const std::string& name, const weights::Shape& shape) {
    auto it = tensors_.find(name);
    if (it == tensors_.end())
      throw ConvertError(path_ + ": missing weight " + name + " " + weights::shape_str(shape) +
                         " (expected face-api's face_recognition_model manifest)");
    if (it->second.shape != shape)
      throw ConvertError(path_ + ": " + name + ": got " + weights::shape_str(it->second.shape) + ", expected " +
                         weights::shape_str(shape));
    used_.insert(name);
    return it->second;
  }
  void check_all_used() const {
    for (const auto& [name, t] : tensors_)
      if (!used_.count(name))
        throw ConvertError(path_ + ": unexpected weight " + name + " " + weights::shape_str(t.shape) +
                           " (not part of dlib's ResNet descriptor; another face-api model?)");
  }
  size_t size() const { return tensors_.size(); }

 private:
  std::string path_;
  std::map<std::string, TfjsTensor> tensors_;
  std::set<std::string> used_;
};

}  // namespace

Summary convert_dlib_resnet(const std::string& manifest, const std::string& output) {
  Summary summary;
  summary.output = output;
  summary.arch = nn::kDlibResNetArch;
  TfjsWeights tfjs = read_tfjs(manifest);
  const std::vector<std::string> shards = tfjs.shards;
  size_t quantised = 0;
  for (const auto& t : tfjs.tensors) quantised += t.stored_as != "float32";
  Source src(std::move(tfjs), manifest);
  summary.tensors_read = src.size();

  weights::WeightsWriter out;
  const auto shapes = nn::DlibResNet::tensor_shapes();
  for (size_t k = 0; k < shapes.size(); ++k) {
    const auto& [name, shape] = shapes[k];
    if (name == "fc.weight") {
      const int64_t n_out = shape[0], n_in = shape[1];
      const TfjsTensor& fc = src.get("fc", {n_in, n_out});
      std::vector<float> w(fc.values.size());
      for (int64_t o = 0; o < n_out; ++o)
        for (int64_t i = 0; i < n_in; ++i) w[o * n_in + i] = fc.values[i * n_out + o];
      out.add_tensor(name, shape, w.data());
      summary.parameters += static_cast<int64_t>(w.size());
      ++summary.tensors_written;
      continue;
    }
    if (name.size() < 7 || name.compare(name.size() - 7, 7, ".weight") != 0) continue;  // biases: with their weight
    const std::string layer = name.substr(0, name.size() - 7);
    const std::string p = tfjs_prefix(layer);
    const int64_t o_n = shape[0], i_n = shape[1], kh = shape[2], kw = shape[3];
    const TfjsTensor& filters = src.get(p + "/conv/filters", {kh, kw, i_n, o_n});
    const TfjsTensor& bias = src.get(p + "/conv/bias", {o_n});
    const TfjsTensor& scale = src.get(p + "/scale/weights", {o_n});
    const TfjsTensor& shift = src.get(p + "/scale/biases", {o_n});
    // (conv(x) + bias) * scale + shift == conv'(x) + bias' with conv' = conv * scale per
    // output channel and bias' = bias * scale + shift.
    std::vector<float> w(static_cast<size_t>(o_n * i_n * kh * kw)), b(static_cast<size_t>(o_n));
    for (int64_t o = 0; o < o_n; ++o) {
      const float s = scale.values[o];
      b[o] = bias.values[o] * s + shift.values[o];
      for (int64_t i = 0; i < i_n; ++i)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x)
            w[((o * i_n + i) * kh + y) * kw + x] = filters.values[((y * kw + x) * i_n + i) * o_n + o] * s;
    }
    out.add_tensor(layer + ".weight", shape, w.data());
    out.add_tensor(layer + ".bias", {o_n}, b.data());
    summary.parameters += static_cast<int64_t>(w.size() + b.size());
    summary.tensors_written += 2;
  }
  src.check_all_used();
  out.set_meta("arch", summary.arch);
  out.set_meta("input_size", int64_t{nn::DlibResNet::kInputSize});
  out.set_meta("embedding_dim", int64_t{nn::DlibResNet::kDim});
  // face-api's FaceRecognitionNet: (RGB - mean) / 255.
  out.set_meta("mean", std::vector<float>{122.782f, 117.001f, 104.298f});
  out.set_meta("std", std::vector<float>{255.0f, 255.0f, 255.0f});
  out.set_meta("colour_order", std::string("rgb"));
  out.set_meta("alignment", std::string("dlib-chip"));
  out.set_meta("converter_version", std::string(kConverterVersion));
  out.set_meta("source_format", std::string("tfjs"));
  // The weights are in the shard(s); the manifest only describes them.
  std::string shard_sha;
  for (const auto& s : shards) shard_sha += (shard_sha.empty() ? "" : ",") + sha256_file(s);
  out.set_meta("source_sha256", shard_sha);
  out.set_meta("manifest_sha256", sha256_file(manifest));
  out.set_meta("source_name", std::filesystem::path(manifest).filename().string());
  summary.bytes_written = out.write(output);
  summary.detail = "embedding 128, input 150x150, " + std::to_string(quantised) +
                   (quantised == 1 ? " tensor dequantised" : " tensors dequantised");
  return summary;
}

}  // namespace fg::convert
