// The TensorFlow.js weights reader on small generated manifests: float32, uint8 and uint16
// values, and clear errors for a missing or short shard, bad JSON and unknown quantisation.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>

#include "tests/support/test_env.h"
#include "tools/convert/convert.h"
#include "tools/convert/tfjs_reader.h"

namespace fg::convert {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "(no error)";
}

class Tfjs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::scratch_dir(std::string("tfjs-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << bytes;
    return dir_ + "/" + name;
  }
  // Two float32, three uint8 (scale 0.5, min -1) and two uint16 (scale 0.25, min 2) values.
  std::string shard() const {
    std::string b(8 + 3 + 4, '\0');
    const float f[2] = {1.5f, -2.25f};
    std::memcpy(&b[0], f, 8);
    b[8] = 0, b[9] = 1, b[10] = static_cast<char>(255);
    const uint16_t q[2] = {4, 65535};
    std::memcpy(&b[11], q, 4);
    return b;
  }
  const char* manifest_ = R"([{"paths": ["w.bin"], "weights": [
    {"name": "a", "shape": [2], "dtype": "float32"},
    {"name": "b/q8", "shape": [3, 1], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}},
    {"name": "c", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": 0.25, "min": 2}}]}])";
  std::string dir_;
};

TEST_F(Tfjs, DequantisesUint8AndUint16) {
  write("w.bin", shard());
  const TfjsWeights w = read_tfjs(write("m.json", manifest_));
  ASSERT_EQ(w.tensors.size(), 3u);
  EXPECT_EQ(w.tensors[0].values, (std::vector<float>{1.5f, -2.25f}));
  EXPECT_EQ(w.tensors[1].name, "b/q8");
  EXPECT_EQ(w.tensors[1].shape, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(w.tensors[1].values, (std::vector<float>{-1.0f, -0.5f, 126.5f}));
  EXPECT_EQ(w.tensors[1].stored_as, "uint8");
  EXPECT_EQ(w.tensors[2].values, (std::vector<float>{3.0f, 16385.75f}));
}

TEST_F(Tfjs, MissingShardIsNamed) {
  const std::string e = error_of([&] { read_tfjs(write("m.json", manifest_)); });
  EXPECT_NE(e.find("names shard " + dir_ + "/w.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
}

TEST_F(Tfjs, ShortAndLongShardsAreErrors) {
  write("w.bin", shard().substr(0, 12));
  EXPECT_NE(error_of([&] { read_tfjs(write("m.json", manifest_)); }).find("truncated shard"), std::string::npos);
  write("w.bin", shard() + "xx");
  EXPECT_NE(error_of([&] { read_tfjs(write("m.json", manifest_)); }).find("different versions"), std::string::npos);
}

TEST_F(Tfjs, BadManifestsAreErrors) {
  EXPECT_NE(error_of([&] { read_tfjs(write("m.json", "{not json")); }).find("not a TensorFlow.js weights manifest"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_tfjs(write("m.json", "{}")); }).find("expected a non-empty JSON array"),
            std::string::npos);
  write("w.bin", shard());
  const std::string f16 = R"([{"paths": ["w.bin"], "weights": [
    {"name": "h", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}}]}])";
  EXPECT_NE(error_of([&] { read_tfjs(write("m.json", f16)); }).find("quantisation 'float16'"), std::string::npos);
}

TEST_F(Tfjs, OtherModelIsRefusedByTheDlibConverter) {
  write("w.bin", shard());
  const std::string e = error_of([&] { convert_dlib_resnet(write("m.json", manifest_), dir_ + "/out.fgw"); });
  EXPECT_NE(e.find("missing weight conv32_down/conv/filters [7,7,3,32]"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir_ + "/out.fgw"));
}

}  // namespace
}  // namespace fg::convert
