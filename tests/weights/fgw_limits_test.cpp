// The .fgw loader's limits (fgw.h): each crafted file is refused with a WeightsError that
// names the file and the limit, before anything of the declared size is allocated.
#include <gtest/gtest.h>
#include <gmock/gmock.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/test_env.h"
#include "weights/fgw.h"

namespace {

using fg::weights::WeightsError;
using fg::weights::WeightsFile;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string u64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string str(const std::string& s) { return u32(uint32_t(s.size())) + s; }

// A weights file laid out by hand: header, `tables` (metadata then tensor entries), padding,
// and a data section of `data_size` bytes left sparse (a hole costs no disk or memory).
std::string write_fgw(const std::string& name, uint64_t metas, uint64_t tensors, const std::string& tables,
                      uint64_t data_size) {
  static const std::string dir = fg::test::scratch_dir("fgw-limits");
  const std::string path = dir + "/" + name;
  const uint64_t data_offset = (40 + tables.size() + 63) / 64 * 64;
  std::string head = std::string("FGW\0", 4) + u32(1) + u64(metas) + u64(tensors) + u64(data_offset) + u64(data_size);
  std::string bytes = head + tables;
  bytes.resize(data_offset, '\0');
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  EXPECT_EQ(::truncate(path.c_str(), off_t(data_offset + data_size)), 0);
  return path;
}

std::string tensor_entry(const std::string& name, const std::vector<uint64_t>& dims, uint64_t offset = 0) {
  std::string e = str(name) + u32(0) + u32(uint32_t(dims.size()));
  for (uint64_t d : dims) e += u64(d);
  return e + u64(offset);
}

std::string open_error(const std::string& path) {
  try {
    WeightsFile::open(path);
  } catch (const WeightsError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error opening " << path;
  return "";
}

TEST(FgwLimits, VersionOneFilesWithoutAChecksumAreStillRead) {
  const std::string v1 = write_fgw("v1.fgw", 1, 1, str("arch") + u32(0) + str("old") + tensor_entry("w", {2}), 64);
  const WeightsFile f = WeightsFile::open(v1);
  EXPECT_EQ(f.version(), 1u);
  EXPECT_EQ(f.meta_string("arch"), "old");
  EXPECT_EQ(f.tensors().at(0).numel(), 2);
}

TEST(FgwLimits, TensorAndMetadataCountsAreLimited) {
  const std::string many = write_fgw("many.fgw", 0, fg::weights::kMaxTensors + 1, "", 0);
  EXPECT_EQ(open_error(many), many + ": header declares 65537 tensors (limit 65536)");
  const std::string metas = write_fgw("metas.fgw", fg::weights::kMaxMetaEntries + 1, 0, "", 0);
  EXPECT_EQ(open_error(metas), metas + ": header declares 4097 metadata entries (limit 4096)");
}

TEST(FgwLimits, TensorByteSizeIsLimited) {
  const uint64_t limit_floats = fg::weights::kMaxTensorBytes / 4;
  const std::string big =
      write_fgw("big.fgw", 0, 1, tensor_entry("fc.weight", {limit_floats + 16}), (limit_floats + 64) * 4);
  EXPECT_EQ(open_error(big), big + ": fc.weight: [268435472] is 1073741888 bytes, more than the limit of 1073741824");
  // Exactly at the limit is accepted (the data is a hole: nothing is read).
  const std::string edge = write_fgw("edge.fgw", 0, 1, tensor_entry("fc.weight", {1 << 14, 1 << 14}), limit_floats * 4);
  EXPECT_EQ(WeightsFile::open(edge).tensors().at(0).numel(), int64_t(limit_floats));
}

TEST(FgwLimits, MetadataFloatArrayCountCannotOverflow) {
  // 2^62 floats: n * 4 wraps to 0 in 64 bits, which once passed the bounds check and asked
  // std::vector for 2^62 floats (std::length_error, not a WeightsError).
  const std::string path = write_fgw("floats.fgw", 1, 0, str("mean") + u32(3) + u64(uint64_t{1} << 62), 0);
  EXPECT_EQ(open_error(path), path + ": metadata 'mean': 4611686018427387904 floats (limit 1048576)");
  const std::string short_array = write_fgw("short.fgw", 1, 0, str("mean") + u32(3) + u64(1000), 0);
  EXPECT_THAT(open_error(short_array), HasSubstr("truncated: metadata value"));
}

TEST(FgwLimits, NameAndStringLengthsAreLimited) {
  const std::string name = write_fgw("name.fgw", 0, 1, u32(5000) + std::string(5000, 'n'), 0);
  EXPECT_EQ(open_error(name), name + ": tensor name at byte 40 is 5000 bytes long (limit 4096)");
  const std::string key = write_fgw("key.fgw", 1, 0, u32(0xffffffff), 0);
  EXPECT_EQ(open_error(key), key + ": metadata key at byte 40 is 4294967295 bytes long (limit 4096)");
  const std::string value = write_fgw("value.fgw", 1, 0, str("note") + u32(0) + u32(2 << 20), 0);
  EXPECT_EQ(open_error(value), value + ": metadata value at byte 52 is 2097152 bytes long (limit 1048576)");
}

TEST(FgwLimits, HugeDimensionsAreRefused) {
  const std::string path = write_fgw("dims.fgw", 0, 1, tensor_entry("w", {0, uint64_t{1} << 63}), 64);
  EXPECT_EQ(open_error(path), path + ": w: shape larger than the data section");
}

TEST(FgwLimits, EveryTruncationIsAnError) {
  fg::weights::WeightsWriter w;
  w.set_meta("arch", std::string("tiny"));
  w.set_meta("mean", std::vector<float>{0.5f, 0.25f});
  std::vector<float> v(24, 1.f);
  w.add_tensor("a.weight", {2, 3, 4}, v.data());
  w.add_tensor("a.bias", {2}, v.data());
  const std::string dir = fg::test::scratch_dir("fgw-cut");
  const std::string good = dir + "/good.fgw";
  w.write(good);
  const std::string bytes = fg::test::read_text(good);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::string path = dir + "/cut.fgw";
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(cut));
    EXPECT_THAT(open_error(path), StartsWith(path + ": ")) << "cut at " << cut;
  }
}

}  // namespace
