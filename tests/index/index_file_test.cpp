#include "index/index.h"

#include <zlib.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "tests/index/synthetic.h"
#include "tests/support/test_env.h"

namespace {

using namespace fg::index;

Params small_params() {
  Params p;
  p.dim = 8;
  p.m = 4;
  return p;
}

std::string saved_index(const std::string& name, size_t identities = 6) {
  const auto g = fg::test::make_gallery(identities, 2, 4, 8, 0.5f, 21);
  Index index(small_params(), Stamp{"model", "db", 3});
  index.add(g.entries);
  index.remove(g.entries[1].label);
  const std::string path = fg::test::scratch_dir(name) + "/i.fgi";
  index.save(path);
  return path;
}

std::string load_error(const std::string& path, const Params& p = small_params()) {
  try {
    Index::load(path, p);
  } catch (const IndexError& e) {
    return e.what();
  }
  return "(loaded)";
}

std::string slurp(const std::string& p) { return fg::test::read_text(p); }
void spit(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Rewrites the trailing CRC so that only the structural checks stand between the bytes and hnswlib.
void fix_crc(std::string& bytes) {
  const uint32_t crc = crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size() - 4);
  std::memcpy(&bytes[bytes.size() - 4], &crc, 4);
}

TEST(IndexFile, LoadsWhatWasSaved) {
  const std::string path = saved_index("file-ok");
  Index index = Index::load(path, small_params());
  EXPECT_EQ(index.deleted_count(), 1u);
  EXPECT_EQ(index.stamp().generation, 3u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(IndexFile, MissingOrTruncatedFilesSaySo) {
  const std::string path = saved_index("file-trunc");
  EXPECT_TRUE(has(load_error(path + ".nope"), "cannot open " + path + ".nope")) << load_error(path + ".nope");
  const std::string bytes = slurp(path);
  for (size_t n : {size_t(0), size_t(7), size_t(40), size_t(80), bytes.size() / 2, bytes.size() - 1}) {
    spit(path, bytes.substr(0, n));
    const std::string e = load_error(path);
    EXPECT_TRUE(has(e, "truncated")) << n << ": " << e;
  }
}

TEST(IndexFile, WrongMagicVersionOrDimAreNamed) {
  const std::string path = saved_index("file-header");
  const std::string bytes = slurp(path);
  std::string b = bytes;
  b[0] = 'X';
  spit(path, b);
  EXPECT_TRUE(has(load_error(path), "is not a facegate index (bad magic)")) << load_error(path);
  b = bytes;
  b[8] = 9;
  spit(path, b);
  EXPECT_TRUE(has(load_error(path), "is index file v9, this build reads v1")) << load_error(path);
  spit(path, bytes);
  Params p = small_params();
  p.dim = 16;
  EXPECT_TRUE(has(load_error(path, p), "holds dim 8, expected 16")) << load_error(path, p);
}

TEST(IndexFile, AnyFlippedByteIsCaught) {
  const std::string path = saved_index("file-flip", 3);
  const std::string bytes = slurp(path);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] = static_cast<char>(b[i] ^ 0x5a);
    spit(path, b);
    ASSERT_NE(load_error(path), "(loaded)") << "byte " << i << " of " << bytes.size();
  }
}

TEST(IndexFile, ABrokenGraphWithAValidChecksumNeverReachesHnswlib) {
  const std::string path = saved_index("file-graph", 3);
  const std::string bytes = slurp(path);
  // Header: 64 fixed bytes + "model" + "db" strings; then the graph's 96 fixed bytes; then
  // element 0's level-0 list: u16 count, u8 flags, u8 unused, then u32 neighbour ids.
  const size_t graph = 64 + 4 + 5 + 4 + 2;
  const size_t first_link = graph + 96 + 4;
  std::string b = bytes;
  const uint32_t far_away = 1u << 30;
  std::memcpy(&b[first_link], &far_away, 4);
  fix_crc(b);
  spit(path, b);
  EXPECT_TRUE(has(load_error(path), "element 0 links to 1073741824")) << load_error(path);

  b = bytes;
  const uint16_t too_many = 999;
  std::memcpy(&b[graph + 96], &too_many, 2);
  fix_crc(b);
  spit(path, b);
  EXPECT_TRUE(has(load_error(path), "element 0 has 999 links at level 0")) << load_error(path);

  b = bytes;
  const uint64_t huge = uint64_t(1) << 40;
  std::memcpy(&b[graph + 16], &huge, 8);  // element count
  fix_crc(b);
  spit(path, b);
  EXPECT_TRUE(has(load_error(path), "elements need")) << load_error(path);

  b = bytes;
  const uint64_t sdpe = 7;
  std::memcpy(&b[graph + 24], &sdpe, 8);
  fix_crc(b);
  spit(path, b);
  EXPECT_TRUE(has(load_error(path), "size_data_per_element is 7")) << load_error(path);
}

TEST(IndexFile, SaveReplacesAtomically) {
  const std::string path = saved_index("file-atomic");
  const auto before = slurp(path);
  Index index(small_params(), Stamp{"other", "db", 9});
  index.save(path);
  EXPECT_NE(slurp(path), before);
  EXPECT_EQ(Index::load(path, small_params()).stamp().model_id, "other");
  for (const auto& f : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    EXPECT_EQ(f.path().filename(), "i.fgi");  // no temp files left behind
}

}  // namespace
