#include "weights/fgw.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "tests/support/test_env.h"

namespace {

using fg::weights::WeightsError;
using fg::weights::WeightsFile;
using fg::weights::WeightsWriter;

std::string write_sample(const std::string& dir) {
  WeightsWriter w;
  w.set_meta("arch", std::string("test-net"));
  w.set_meta("input_size", int64_t{112});
  w.set_meta("scale", 0.5);
  w.set_meta("mean", std::vector<float>{1.f, 2.f, 3.f});
  std::vector<float> a(3 * 5 * 7), b(13);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i) * 0.25f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = -static_cast<float>(i);
  w.add_tensor("layer1.0.conv1.weight", {3, 5, 7}, a.data());
  w.add_tensor("layer1.0.conv1.bias", {13}, b.data());
  const std::string path = dir + "/sample.fgw";
  w.write(path);
  return path;
}

std::string slurp(const std::string& p) { return fg::test::read_text(p); }
void spit(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const WeightsError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Fgw, RoundTripsMetadataAndTensors) {
  const std::string dir = fg::test::scratch_dir("fgw-roundtrip");
  const auto f = WeightsFile::open(write_sample(dir));
  EXPECT_EQ(f.version(), fg::weights::kVersion);
  EXPECT_EQ(f.meta_string("arch"), "test-net");
  EXPECT_EQ(f.meta_int("input_size"), 112);
  EXPECT_EQ(f.meta_real("scale"), 0.5);
  EXPECT_EQ(f.meta_floats("mean"), (std::vector<float>{1.f, 2.f, 3.f}));
  ASSERT_EQ(f.tensors().size(), 2u);
  const auto& t = f.tensor("layer1.0.conv1.weight", {3, 5, 7});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 64, 0u);
  EXPECT_EQ(t.data[0], 0.f);
  EXPECT_EQ(t.data[104], 26.f);
  const auto& b = f.tensor("layer1.0.conv1.bias", {13});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data) % 64, 0u);
  EXPECT_EQ(b.data[12], -12.f);
}

TEST(Fgw, ShapeMismatchSaysGotAndExpected) {
  const std::string dir = fg::test::scratch_dir("fgw-shape");
  const auto f = WeightsFile::open(write_sample(dir));
  EXPECT_NE(error_of([&] { f.tensor("layer1.0.conv1.weight", {3, 5, 1}); })
                .find("layer1.0.conv1.weight: got [3,5,7], expected [3,5,1]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { f.tensor("fc.weight", {2}); }).find("missing tensor fc.weight"), std::string::npos);
  EXPECT_NE(error_of([&] { f.meta_int("arch"); }).find("metadata 'arch': got string, expected int"),
            std::string::npos);
}

TEST(Fgw, RejectsBadMagicFutureVersionAndTruncation) {
  const std::string dir = fg::test::scratch_dir("fgw-bad");
  const std::string path = write_sample(dir);
  const std::string good = slurp(path);

  std::string bad = good;
  bad[0] = 'X';
  spit(path, bad);
  EXPECT_NE(error_of([&] { WeightsFile::open(path); }).find("bad magic"), std::string::npos);

  bad = good;
  bad[4] = 7;
  spit(path, bad);
  EXPECT_NE(error_of([&] { WeightsFile::open(path); }).find("file is v7, this build reads v1..v2"), std::string::npos);

  for (size_t cut = 0; cut < good.size(); cut += 7) {
    spit(path, good.substr(0, cut));
    const std::string e = error_of([&] { WeightsFile::open(path); });
    EXPECT_NE(e.find("truncated"), std::string::npos) << "cut " << cut << ": " << e;
    EXPECT_NE(e.find(path), std::string::npos) << e;
  }
}

TEST(Fgw, TheChecksumCatchesAnyChangedByteAndBytesAddedAfterTheData) {
  const std::string dir = fg::test::scratch_dir("fgw-checksum");
  const std::string path = write_sample(dir);
  const std::string good = slurp(path);
  ASSERT_EQ(WeightsFile::open(path).version(), 2u);
  const size_t in_meta = good.find("test-net") + 2;
  ASSERT_NE(good.find("test-net"), std::string::npos);
  uint64_t data_offset = 0;
  std::memcpy(&data_offset, good.data() + 24, 8);
  ASSERT_EQ(good[data_offset - 1], '\0') << "padding before the data";
  // A metadata letter, the checksum itself, padding before the data, a weight's low bit.
  for (size_t at : {in_meta, size_t{40}, size_t(data_offset - 1), size_t(data_offset + 4)}) {
    std::string bad = good;
    bad[at] ^= 1;
    spit(path, bad);
    const std::string e = error_of([&] { WeightsFile::open(path); });
    EXPECT_NE(e.find(path + ": checksum mismatch: the contents give CRC-32C "), std::string::npos) << at << ": " << e;
    EXPECT_NE(e.find("convert it again"), std::string::npos) << e;
  }
  spit(path, good + "x");
  EXPECT_NE(error_of([&] { WeightsFile::open(path); }).find("bytes were added after it"), std::string::npos);
  std::string reserved = good;
  reserved[44] = 1;
  spit(path, reserved);
  EXPECT_NE(error_of([&] { WeightsFile::open(path); }).find("reserved field is not zero"), std::string::npos);
  spit(path, good);
  EXPECT_NO_THROW(WeightsFile::open(path));
}

TEST(Fgw, RejectsDuplicateTensorNames) {
  WeightsWriter w;
  float x = 1;
  w.add_tensor("a", {1}, &x);
  EXPECT_THROW(w.add_tensor("a", {1}, &x), WeightsError);
}

TEST(Fgw, FailedWriteLeavesNoFile) {
  WeightsWriter w;
  float x = 1;
  w.add_tensor("a", {1}, &x);
  const std::string dir = fg::test::scratch_dir("fgw-nowrite");
  EXPECT_THROW(w.write(dir + "/no/such/dir/out.fgw"), WeightsError);
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

}  // namespace
