// The MTCNN weights for the detect tests: facenet-pytorch's pnet/rnet/onet.pt from the shared
// data folder, converted once per test process with our own converter.
#pragma once

#include <string>

#include "tests/support/test_env.h"
#include "tools/convert/convert.h"

namespace fg::test {

// Path of the converted mtcnn.fgw, or "" with `why` set when the shared data is missing.
inline std::string mtcnn_weights(std::string& why) {
  static const std::string data = data_dir();
  static const std::string path = [] {
    if (data.empty()) return std::string();
    const std::string dir = scratch_dir("mtcnn-weights");
    const std::string src = data + "/mtcnn/";
    convert::convert_mtcnn(src + "pnet.pt", src + "rnet.pt", src + "onet.pt", dir + "/mtcnn.fgw");
    return dir + "/mtcnn.fgw";
  }();
  if (path.empty()) why = "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
  return path;
}

}  // namespace fg::test
