#include <map>
#include <memory>
#include <set>
#include <vector>

#include "nn/mtcnn.h"
#include "tools/checkpoint/torch_file.h"
#include "tools/convert/convert.h"
#include "tools/convert/mtcnn_writer.h"
#include "weights/fgw.h"

namespace fg::convert {
namespace {

// One net's state_dict names and shapes, in state_dict order.
std::vector<std::pair<std::string, weights::Shape>> expected_of(const std::string& net) {
  std::vector<std::pair<std::string, weights::Shape>> e;
  for (const auto& [name, shape] : nn::mtcnn_tensor_shapes())
    if (name.compare(0, net.size() + 1, net + ".") == 0) e.emplace_back(name.substr(net.size() + 1), shape);
  return e;
}

// Which net a state dict's conv1.weight (its first tensor) belongs to, for a hint when the
// files were given in the wrong order; "" when it matches none.
std::string net_of(const weights::Shape& conv1) {
  for (const char* net : kMtcnnNets)
    if (expected_of(net).front().second == conv1) return net;
  return "";
}

// Copies one net's state dict into `out` under "<net>.<name>"; strict about names and shapes.
void add_net(const std::string& net, const std::string& path, weights::WeightsWriter& out, Summary& summary) {
  const ckpt::ValuePtr root = ckpt::load_torch_file(path);
  if (root->kind != ckpt::Value::Kind::dict)
    throw ConvertError(path + ": not a state_dict: the pickled object is not a dict");
  const auto tensors = ckpt::tensors_of(*root);  // file order, kept in the output
  std::map<std::string, std::shared_ptr<const ckpt::Tensor>> state(tensors.begin(), tensors.end());
  summary.tensors_read += tensors.size();
  const auto expected = expected_of(net);
  std::set<std::string> known;
  for (const auto& [name, shape] : expected) {
    known.insert(name);
    auto it = state.find(name);
    if (it == state.end()) throw ConvertError(path + ": missing tensor " + name + " " + weights::shape_str(shape) +
                                              " (expected the " + net + " state_dict of facenet-pytorch)");
    if (it->second->shape != shape) {
      std::string hint;
      if (name == "conv1.weight") {
        const std::string other = net_of(it->second->shape);
        if (!other.empty() && other != net)
          hint = " (this looks like " + other + ".pt, given in the " + net + " place)";
      }
      throw ConvertError(path + ": " + name + ": got " + weights::shape_str(it->second->shape) + ", expected " +
                         weights::shape_str(shape) + hint);
    }
  }
  for (const auto& [name, t] : tensors) {
    if (!known.count(name))
      throw ConvertError(path + ": unexpected tensor " + name + " " + weights::shape_str(t->shape) + " (not part of " +
                         net + ")");
    out.add_tensor(net + "." + name, t->shape, t->values.data());
    summary.parameters += t->numel();
    ++summary.tensors_written;
  }
}

}  // namespace

Summary convert_mtcnn(const std::string& pnet, const std::string& rnet, const std::string& onet,
                      const std::string& output) {
  weights::WeightsWriter out;
  Summary summary = write_mtcnn({pnet, rnet, onet}, add_net, out, output);
  summary.detail = "P-, R- and O-Net for facegate detect";
  return summary;
}

}  // namespace fg::convert
