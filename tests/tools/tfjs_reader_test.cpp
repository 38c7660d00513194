// The TensorFlow.js weights reader on small generated manifests: float32, uint8 and uint16
// values, and clear errors for a missing or short shard, bad JSON and unknown quantisation.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>

#include "tests/support/test_env.h"
#include "tests/tools/convert_error.h"
#include "tools/convert/convert.h"
#include "tools/convert/tfjs_reader.h"

namespace fg::convert {
namespace {

namespace fs = std::filesystem;

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

// Found by fuzz_tfjs: a fractional or huge dimension was converted to int64 (undefined
// behaviour), and a shape's product overflowed so the byte count could wrap past the check.
TEST_F(Tfjs, HugeNegativeOrFractionalShapesAreErrors) {
  write("w.bin", shard());
  auto manifest = [](const std::string& shape) {
    return R"([{"paths": ["w.bin"], "weights": [{"name": "h", "shape": )" + shape + R"(, "dtype": "float32"}]}])";
  };
  std::string e = error_of([&] { read_tfjs(write("m.json", manifest("[4294967296, 4294967296, 4294967296]"))); });
  EXPECT_NE(e.find("h [4294967296,4294967296,4294967296] needs more than 15 bytes from byte 0"), std::string::npos)
      << e;
  EXPECT_NE(e.find("truncated shard"), std::string::npos) << e;
  e = error_of([&] { read_tfjs(write("m.json", manifest("[4611686018427387904, 4]"))); });  // 2^64 bytes
  EXPECT_NE(e.find("needs more than 15 bytes"), std::string::npos) << e;
  e = error_of([&] { read_tfjs(write("m.json", manifest("[1e300]"))); });
  EXPECT_NE(e.find("h: shape dimension 1e+300, expected a non-negative integer"), std::string::npos) << e;
  e = error_of([&] { read_tfjs(write("m.json", manifest("[2, -1]"))); });
  EXPECT_NE(e.find("shape dimension -1, expected a non-negative integer"), std::string::npos) << e;
  e = error_of([&] { read_tfjs(write("m.json", manifest("[[2]]"))); });
  EXPECT_NE(e.find("shape dimension a JSON array, expected a non-negative integer"), std::string::npos) << e;
  e = error_of([&] { read_tfjs(write("m.json", manifest("\"2x2\""))); });
  EXPECT_NE(e.find("h: shape is a JSON string, expected an array"), std::string::npos) << e;
}

// A manifest names shards inside its own folder only: not /dev/zero (read forever), not a
// file elsewhere, not a directory.
TEST_F(Tfjs, ShardPathsStayInTheManifestsFolder) {
  write("w.bin", shard());
  auto manifest = [](const std::string& path) {
    return R"([{"paths": [")" + path + R"("], "weights": [{"name": "a", "shape": [2], "dtype": "float32"}]}])";
  };
  for (const std::string path : {"/dev/zero", "../w.bin", "sub/../../w.bin", ""}) {
    const std::string e = error_of([&] { read_tfjs(write("m.json", manifest(path))); });
    EXPECT_NE(e.find("shard path '" + path + "' leaves the manifest's folder; expected a relative path inside it"),
              std::string::npos) << e;
  }
  fs::create_directories(dir_ + "/sub");
  const std::string e = error_of([&] { read_tfjs(write("m.json", manifest("sub"))); });
  EXPECT_NE(e.find("names shard " + dir_ + "/sub, which is not a regular file"), std::string::npos) << e;
}

TEST_F(Tfjs, OtherModelIsRefusedByTheDlibConverter) {
  write("w.bin", shard());
  const std::string e = error_of([&] { convert_dlib_resnet(write("m.json", manifest_), dir_ + "/out.fgw"); });
  EXPECT_NE(e.find("missing weight conv32_down/conv/filters [7,7,3,32]"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir_ + "/out.fgw"));
}

}  // namespace
}  // namespace fg::convert
