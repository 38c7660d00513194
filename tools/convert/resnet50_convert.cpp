#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "nn/resnet50.h"
#include "tools/checkpoint/torch_file.h"
#include "tools/convert/convert.h"
#include "tools/convert/sha256.h"
#include "weights/fgw.h"

namespace fg::convert {
namespace {

using TensorPtr = std::shared_ptr<const ckpt::Tensor>;
constexpr int kStages[4] = {3, 4, 6, 3};
constexpr int kPlanes[4] = {64, 128, 256, 512};
constexpr int kFeatures = 2048;
constexpr int kInputSize = 112;
constexpr double kBnEps = 1e-5;  // torch's BatchNorm default; the trainer does not change it
constexpr const char* kConverterVersion = "facegate-convert 1";

std::string shape_str(const std::vector<int64_t>& s) { return weights::shape_str(s); }

// The checkpoint's state dict with keys in one canonical form: `backbone.<torchvision key>`
// and `head.<key>`, whatever prefixes the file used.
class StateDict {
 public:
  StateDict(const std::string& path, const ckpt::Value& state, Summary& summary) : path_(path) {
    size_t batches_tracked = 0;
    for (auto& [key, t] : ckpt::tensors_of(state)) {
      ++summary.tensors_read;
      std::string k = key;
      while (k.rfind("module.", 0) == 0) k = k.substr(7);
      if (k.rfind("loss_head.", 0) == 0) {
        summary.ignored.push_back(key + " " + shape_str(t->shape) + " (training loss head)");
        continue;
      }
      if (k.size() > 20 && k.compare(k.size() - 20, 20, ".num_batches_tracked") == 0) {
        ++batches_tracked;
        continue;
      }
      if (k.rfind("backbone.backbone.", 0) == 0 || k.rfind("backbone.head.", 0) == 0) k = k.substr(9);
      if (k.rfind("conv1.", 0) == 0 || k.rfind("bn1.", 0) == 0 || k.rfind("layer", 0) == 0 ||
          k.rfind("fc.", 0) == 0) {
        k = "backbone." + k;
      }
      if (!tensors_.emplace(k, Entry{key, t}).second) {
        throw ConvertError(path_ + ": key '" + key + "' appears twice once prefixes are removed");
      }
    }
    if (batches_tracked) {
      summary.ignored.push_back(std::to_string(batches_tracked) + " num_batches_tracked counter" +
                                (batches_tracked == 1 ? "" : "s"));
    }
  }

  bool has(const std::string& k) const { return tensors_.count(k) != 0; }
  const std::vector<int64_t>& shape_of(const std::string& k) const { return tensors_.at(k).tensor->shape; }

  // The tensor at canonical key `k` with shape `shape`; marks it used.
  const ckpt::Tensor& take(const std::string& k, const std::vector<int64_t>& shape) {
    auto it = tensors_.find(k);
    if (it == tensors_.end()) throw ConvertError(path_ + ": missing tensor " + k + " " + shape_str(shape));
    const ckpt::Tensor& t = *it->second.tensor;
    if (t.shape != shape) {
      throw ConvertError(path_ + ": " + it->second.original + ": got " + shape_str(t.shape) + ", expected " +
                         shape_str(shape));
    }
    used_.insert(k);
    return t;
  }

  // Every tensor the network did not consume is an error: the Python loader's strict=False
  // silently dropped such tensors, we refuse them.
  void check_all_used() const {
    for (const auto& [k, e] : tensors_) {
      if (!used_.count(k)) {
        throw ConvertError(path_ + ": unexpected tensor " + e.original + " " + shape_str(e.tensor->shape) +
                           " (not part of resnet50 + ArcFace head)");
      }
    }
  }

  // Blocks per stage, as the keys show them: [3,4,6,3] for resnet50.
  std::vector<int> stage_depths() const {
    std::vector<int> depths;
    for (int s = 1; s <= 4; ++s) {
      int n = 0;
      while (has("backbone.layer" + std::to_string(s) + "." + std::to_string(n) + ".conv1.weight")) ++n;
      depths.push_back(n);
    }
    return depths;
  }

  std::string any_key() const { return tensors_.empty() ? "(none)" : tensors_.begin()->second.original; }

 private:
  struct Entry {
    std::string original;
    TensorPtr tensor;
  };
  std::string path_;
  std::map<std::string, Entry> tensors_;
  std::set<std::string> used_;
};

std::vector<double> bn_scale(const ckpt::Tensor& gamma, const ckpt::Tensor& var) {
  std::vector<double> s(var.values.size());
  for (size_t i = 0; i < s.size(); ++i) s[i] = gamma.values[i] / std::sqrt(double(var.values[i]) + kBnEps);
  return s;
}

// conv followed by BatchNorm2d -> one conv with bias, folded in double precision.
void fold_conv_bn(StateDict& sd, weights::WeightsWriter& out, const std::string& conv, const std::string& bn,
                  const std::string& name, int in_c, int out_c, int k, Summary& summary) {
  const auto& w = sd.take("backbone." + conv + ".weight", {out_c, in_c, k, k});
  const std::vector<int64_t> vec{out_c};
  const auto& gamma = sd.take("backbone." + bn + ".weight", vec);
  const auto& beta = sd.take("backbone." + bn + ".bias", vec);
  const auto& mean = sd.take("backbone." + bn + ".running_mean", vec);
  const auto& var = sd.take("backbone." + bn + ".running_var", vec);
  const std::vector<double> scale = bn_scale(gamma, var);
  const size_t per_out = static_cast<size_t>(in_c) * k * k;
  std::vector<float> fw(w.values.size()), fb(out_c);
  for (int o = 0; o < out_c; ++o) {
    for (size_t j = 0; j < per_out; ++j) fw[o * per_out + j] = static_cast<float>(w.values[o * per_out + j] * scale[o]);
    fb[o] = static_cast<float>(beta.values[o] - mean.values[o] * scale[o]);
  }
  out.add_tensor(name + ".weight", {out_c, in_c, k, k}, fw.data());
  out.add_tensor(name + ".bias", {out_c}, fb.data());
  summary.parameters += static_cast<int64_t>(fw.size() + fb.size());
  summary.tensors_written += 2;
}

// BN1d(2048) -> Linear(2048 -> dim, no bias) -> BN1d(dim, affine=False) -> one affine map.
void fold_head(StateDict& sd, weights::WeightsWriter& out, int dim, Summary& summary) {
  const std::vector<int64_t> f{kFeatures}, d{dim};
  const auto& g1 = sd.take("head.bn1.weight", f);
  const auto& b1 = sd.take("head.bn1.bias", f);
  const auto& m1 = sd.take("head.bn1.running_mean", f);
  const auto& v1 = sd.take("head.bn1.running_var", f);
  const auto& w = sd.take("head.fc.weight", {dim, kFeatures});
  const auto& m2 = sd.take("head.bn2.running_mean", d);
  const auto& v2 = sd.take("head.bn2.running_var", d);
  // affine=False in the trainer; honour gamma/beta should a checkpoint carry them.
  const ckpt::Tensor* g2 = sd.has("head.bn2.weight") ? &sd.take("head.bn2.weight", d) : nullptr;
  const ckpt::Tensor* b2 = sd.has("head.bn2.bias") ? &sd.take("head.bn2.bias", d) : nullptr;

  const std::vector<double> s1 = bn_scale(g1, v1);
  std::vector<double> shift1(kFeatures);
  for (int i = 0; i < kFeatures; ++i) shift1[i] = b1.values[i] - m1.values[i] * s1[i];
  std::vector<float> fw(static_cast<size_t>(dim) * kFeatures), fb(dim);
  for (int o = 0; o < dim; ++o) {
    const double s2 = (g2 ? g2->values[o] : 1.0) / std::sqrt(double(v2.values[o]) + kBnEps);
    double acc = 0;
    for (int i = 0; i < kFeatures; ++i) {
      const double wi = w.values[static_cast<size_t>(o) * kFeatures + i];
      fw[static_cast<size_t>(o) * kFeatures + i] = static_cast<float>(wi * s1[i] * s2);
      acc += wi * shift1[i];
    }
    fb[o] = static_cast<float>((acc - m2.values[o]) * s2 + (b2 ? b2->values[o] : 0.0));
  }
  out.add_tensor("head.fc.weight", {dim, kFeatures}, fw.data());
  out.add_tensor("head.fc.bias", {dim}, fb.data());
  summary.parameters += static_cast<int64_t>(fw.size() + fb.size());
  summary.tensors_written += 2;
}

std::string depths_str(const std::vector<int>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

void check_architecture(const std::string& path, const ckpt::Value& root, const StateDict& sd) {
  if (auto cfg = root.get("config")) {
    if (auto bb = cfg->get("backbone"); bb && bb->kind == ckpt::Value::Kind::string && bb->s != "resnet50") {
      throw ConvertError(path + ": unknown architecture: config.backbone is '" + bb->s +
                         "', facegate converts resnet50");
    }
  }
  const std::vector<int> depths = sd.stage_depths();
  if (depths[0] == 0) {
    throw ConvertError(path + ": unknown architecture: no ResNet layers (backbone.layer1.*) found; first key is '" +
                       sd.any_key() + "'");
  }
  if (!sd.has("backbone.layer1.0.conv3.weight")) {
    throw ConvertError(path + ": unknown architecture: basic blocks " + depths_str(depths) +
                       " (resnet18/34), facegate converts resnet50 bottlenecks [3,4,6,3]");
  }
  if (depths != std::vector<int>{3, 4, 6, 3}) {
    throw ConvertError(path + ": unknown architecture: bottleneck stages " + depths_str(depths) +
                       ", expected resnet50's [3,4,6,3]");
  }
  if (!sd.has("head.fc.weight")) {
    throw ConvertError(path + ": missing tensor backbone.head.fc.weight (the embedding head)");
  }
}

}  // namespace

Summary convert_resnet50(const std::string& path, const std::string& output) {
  Summary summary;
  summary.output = output;
  const ckpt::ValuePtr root = ckpt::load_torch_file(path);
  if (root->kind != ckpt::Value::Kind::dict) {
    throw ConvertError(path + ": not a checkpoint: the pickled object is not a dict");
  }
  ckpt::ValuePtr state = root;
  for (const char* key : {"model_state", "state_dict", "model"}) {
    if (auto v = root->get(key); v && v->kind == ckpt::Value::Kind::dict) {
      state = v;
      for (const auto& [k, v2] : root->entries) {
        if (k->kind == ckpt::Value::Kind::string && k->s != key &&
            (v2->kind == ckpt::Value::Kind::dict || v2->kind == ckpt::Value::Kind::list)) {
          summary.ignored.push_back(k->s + " (not needed at inference)");
        }
      }
      break;
    }
  }
  StateDict sd(path, *state, summary);
  check_architecture(path, *root, sd);

  const std::vector<int64_t>& fc = sd.shape_of("head.fc.weight");
  if (fc.size() != 2 || fc[0] < 1 || fc[0] > 65536 || fc[1] != kFeatures) {
    throw ConvertError(path + ": head.fc.weight: got " + shape_str(fc) + ", expected [embedding_dim," +
                       std::to_string(kFeatures) + "]");
  }
  const int dim = static_cast<int>(fc[0]);
  weights::WeightsWriter out;
  fold_conv_bn(sd, out, "conv1", "bn1", "conv1", 3, 64, 7, summary);
  int in_c = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const int planes = kPlanes[stage];
    for (int i = 0; i < kStages[stage]; ++i) {
      const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(i) + ".";
      fold_conv_bn(sd, out, p + "conv1", p + "bn1", p + "conv1", in_c, planes, 1, summary);
      fold_conv_bn(sd, out, p + "conv2", p + "bn2", p + "conv2", planes, planes, 3, summary);
      fold_conv_bn(sd, out, p + "conv3", p + "bn3", p + "conv3", planes, planes * 4, 1, summary);
      if (i == 0) {
        fold_conv_bn(sd, out, p + "downsample.0", p + "downsample.1", p + "downsample.0", in_c, planes * 4, 1,
                     summary);
      }
      in_c = planes * 4;
    }
  }
  fold_head(sd, out, dim, summary);
  sd.check_all_used();

  summary.arch = nn::kResNet50Arch;
  out.set_meta("arch", summary.arch);
  out.set_meta("input_size", int64_t{kInputSize});
  out.set_meta("embedding_dim", int64_t{dim});
  out.set_meta("mean", std::vector<float>{127.5f, 127.5f, 127.5f});
  out.set_meta("std", std::vector<float>{127.5f, 127.5f, 127.5f});
  out.set_meta("colour_order", std::string("rgb"));
  out.set_meta("alignment", std::string("box"));
  out.set_meta("converter_version", std::string(kConverterVersion));
  out.set_meta("source_sha256", sha256_file(path));
  out.set_meta("source_name", std::filesystem::path(path).filename().string());
  summary.bytes_written = out.write(output);
  summary.detail = "embedding " + std::to_string(dim) + ", input " + std::to_string(kInputSize) + "x" +
                   std::to_string(kInputSize) + " RGB";
  return summary;
}

}  // namespace fg::convert
