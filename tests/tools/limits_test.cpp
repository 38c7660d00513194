// The checkpoint reader's limits (tools/checkpoint/limits.h) and its refusal of every global a
// torch checkpoint does not use. Inputs are crafted here byte by byte; nothing outside the
// repository is needed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tools/checkpoint/limits.h"
#include "tools/checkpoint/pickle.h"
#include "tools/checkpoint/torch_file.h"
#include "tools/checkpoint/zip_reader.h"

namespace fg::ckpt {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::string_literals;

std::string le16(uint32_t v) { return {char(v & 0xff), char(v >> 8 & 0xff)}; }
std::string le32(uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); }
std::string le64(uint64_t v) { return le32(uint32_t(v)) + le32(uint32_t(v >> 32)); }

std::variant<StorageRef, ValuePtr> float_storage(const Value& pid) {
  if (pid.kind != Value::Kind::tuple || pid.items.size() < 3) throw CheckpointError("bad pid");
  return StorageRef{pid.items[2]->s, "float32", 0, 16};
}

std::string unpickle_error(const std::string& bytes) {
  try {
    unpickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.pkl", float_storage);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

std::string load_error(const std::string& file) {
  try {
    load_torch_bytes(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "test.pt");
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

// ---- a zip writer whose every field can lie --------------------------------------------

struct Entry {
  std::string name, data;
  bool deflate = false;
  std::optional<uint64_t> declared_size{};      // the central directory's, else the real one
  std::optional<uint32_t> local_size{};         // the local header's, else the central one
  std::optional<uint32_t> offset_of_entry{};    // point at another entry's local header
};

std::string deflate_raw(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string make_zip(const std::vector<Entry>& entries) {
  std::string out, central;
  std::vector<uint32_t> offsets;
  for (const Entry& e : entries) {
    const std::string body = e.deflate ? deflate_raw(e.data) : e.data;
    const uint32_t crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(e.data.data()), e.data.size()));
    const uint64_t size = e.declared_size.value_or(e.data.size());
    const uint32_t method = e.deflate ? 8 : 0;
    offsets.push_back(uint32_t(out.size()));
    const uint32_t local = e.local_size.value_or(uint32_t(size));
    out += le32(0x04034b50) + le16(20) + le16(0) + le16(method) + le32(0) + le32(crc) +
           le32(e.local_size ? local : uint32_t(body.size())) + le32(local) + le16(uint32_t(e.name.size())) +
           le16(0) + e.name + body;
    const uint32_t offset = e.offset_of_entry ? offsets.at(*e.offset_of_entry) : offsets.back();
    const bool zip64 = size >= 0xffffffff;
    const std::string extra = zip64 ? le16(1) + le16(8) + le64(size) : "";
    central += le32(0x02014b50) + le16(45) + le16(45) + le16(0) + le16(method) + le32(0) + le32(crc) +
               le32(uint32_t(body.size())) + le32(zip64 ? 0xffffffff : uint32_t(size)) +
               le16(uint32_t(e.name.size())) + le16(uint32_t(extra.size())) + le16(0) + le16(0) + le16(0) +
               le32(0) + le32(offset) + e.name + extra;
  }
  const uint32_t cd_offset = uint32_t(out.size());
  out += central;
  out += le32(0x06054b50) + le16(0) + le16(0) + le16(uint32_t(entries.size())) + le16(uint32_t(entries.size())) +
         le32(uint32_t(central.size())) + le32(cd_offset) + le16(0);
  return out;
}

std::string read_entry_error(const std::string& zip_bytes, size_t index, size_t first_read = SIZE_MAX) {
  Bytes file{reinterpret_cast<const uint8_t*>(zip_bytes.data()), zip_bytes.size()};
  ZipReader zip(file);
  std::vector<uint8_t> buffer;
  if (first_read != SIZE_MAX) zip.read(zip.entries().at(first_read), buffer);
  try {
    zip.read(zip.entries().at(index), buffer);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error reading entry " << index;
  return "";
}

// A data.pkl: {'t0': tensor, 't1': tensor, ...}, each _rebuild_tensor_v2 of storage '0'
// (4 floats) with the given size and stride.
std::string tensors_pickle(int count, const std::string& size_tuple, const std::string& stride_tuple) {
  std::string p = "\x80\x02}(";
  for (int k = 0; k < count; ++k) {
    const std::string key = "t" + std::to_string(k);
    p += "X" + le32(uint32_t(key.size())) + key;
    p += "ctorch._utils\n_rebuild_tensor_v2\n(";
    p += "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQ"s;
    p += "K\x00"s + size_tuple + stride_tuple + "\x89" "ccollections\nOrderedDict\n)RtR"s;
  }
  return p + "u.";
}

std::string checkpoint(const std::string& pkl) {
  return make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", std::string(16, '\x01')}});
}

// ---- unknown globals --------------------------------------------------------------------

TEST(Limits, UnknownGlobalsAreRefusedBeforeAnythingCallsThem) {
  const std::string marker = (std::filesystem::temp_directory_path() / "facegate_pickle_ran").string();
  std::filesystem::remove(marker);
  const std::string cmd = "touch " + marker;
  const std::vector<std::pair<std::string, std::string>> cases = {
      // GLOBAL + REDUCE, as pickle protocol 0-2 write os.system('touch ...')
      {"\x80\x02" "cos\nsystem\n(X" + le32(uint32_t(cmd.size())) + cmd + "tR.", "global 'os.system' is refused"},
      {"\x80\x02" "cposix\nsystem\n(X" + le32(uint32_t(cmd.size())) + cmd + "tR.", "global 'posix.system'"},
      // STACK_GLOBAL (protocol 4): builtins.eval
      {"\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93\x8c\x01" "1\x85R."s, "global 'builtins.eval' is refused"},
      {"\x80\x02" "c__builtin__\neval\n.", "global '__builtin__.eval'"},
      {"\x80\x02" "cbuiltins\ngetattr\n.", "global 'builtins.getattr'"},
      {"\x80\x02" "ctorch\nload\n.", "global 'torch.load'"},
      {"\x80\x02" "cnumpy.core.multiarray\nscalar\n.", "global 'numpy.core.multiarray.scalar'"},
      {"\x80\x02" "ccollections\ndefaultdict\n.", "global 'collections.defaultdict'"},
      {"\x80\x02" "ctorch.nn.modules.conv\nConv2d\n.", "global 'torch.nn.modules.conv.Conv2d'"},
      // A storage-like name in another module is not a storage type.
      {"\x80\x02" "cos\nFloatStorage\n.", "global 'os.FloatStorage'"},
      {"\x80\x02" "ctorch\nos.system Storage\n.", "is refused"},
  };
  for (const auto& [bytes, message] : cases) {
    std::string got = unpickle_error(bytes);
    EXPECT_THAT(got, HasSubstr(message));
    EXPECT_THAT(got, HasSubstr("GLOBAL, byte")) << "refused when named, not when called";
  }
  EXPECT_FALSE(std::filesystem::exists(marker)) << "something was executed";

  // The same refusal through a whole checkpoint names the file.
  EXPECT_THAT(load_error(checkpoint(cases[0].first)),
              AllOf(StartsWith("test.pt: data.pkl: global 'os.system' is refused"), HasSubstr("nothing is imported")));
}

TEST(Limits, TheGlobalsTorchCheckpointsUseAreAllowed) {
  for (const char* g : {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
                        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
                        "torch._tensor._rebuild_from_type_v2", "torch.nn.parameter.Parameter", "torch.Tensor",
                        "torch.Size", "_codecs.encode", "builtins.bytes", "__builtin__.bytes"}) {
    const std::string s = g;
    const size_t dot = s.rfind('.');
    EXPECT_TRUE(is_allowed_global(s.substr(0, dot), s.substr(dot + 1))) << g;
  }
  EXPECT_TRUE(is_allowed_global("torch", "FloatStorage"));
  EXPECT_TRUE(is_allowed_global("torch.cuda", "HalfStorage"));
  EXPECT_TRUE(is_allowed_global("torch", "UntypedStorage"));
  EXPECT_TRUE(is_allowed_global("torch", "float16"));
  EXPECT_FALSE(is_allowed_global("torch", "Storage.."));
  EXPECT_FALSE(is_allowed_global("subprocess", "Popen"));
}

// ---- pickle machine ---------------------------------------------------------------------

TEST(Limits, HugeMemoIndicesAreErrorsNotAllocations) {
  EXPECT_THAT(unpickle_error("\x80\x02j\xff\xff\xff\xff."s),
              HasSubstr("memo key 4294967295 was never stored (at LONG_BINGET"));
  // Storing under a huge index allocates one entry, not four billion.
  EXPECT_THAT(unpickle_error("\x80\x02Nr\xff\xff\xff\xffj\xfe\xff\xff\xff."s),
              HasSubstr("memo key 4294967294 was never stored"));
}

TEST(Limits, MemoSizeIsLimited) {
  const std::string many = "\x80\x04N" + std::string(kMaxPickleMemo + 1, '\x94') + ".";
  EXPECT_THAT(unpickle_error(many),
              HasSubstr("memo holds more than " + std::to_string(kMaxPickleMemo) + " entries (limit)"));
  const std::string ok = "\x80\x04N" + std::string(kMaxPickleMemo, '\x94') + ".";
  EXPECT_NO_THROW(unpickle(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), "test.pkl", float_storage));
}

TEST(Limits, DeepNestingIsLimited) {
  // 1000 nested lists built with MARK ... LIST-free opcodes: EMPTY_LIST + APPEND chains.
  std::string deep = "\x80\x02";
  for (int k = 0; k < 1000; ++k) deep += "]";
  for (int k = 0; k < 999; ++k) deep += "a";
  EXPECT_THAT(unpickle_error(deep + "."), HasSubstr("nested deeper than " + std::to_string(kMaxPickleDepth)));
}

// ---- tensors ----------------------------------------------------------------------------

TEST(Limits, TensorElementCountIsLimited) {
  // (2^15, 2^14) = 2^29 elements > 2^28; the storage check would come later.
  const std::string size = "(J\x00\x80\x00\x00J\x00\x40\x00\x00t"s, stride = "(K\x00K\x00t"s;
  EXPECT_THAT(unpickle_error(tensors_pickle(1, size, stride)),
              HasSubstr("tensor of 536870912 elements is larger than the limit of 268435456"));
  const std::string ok_size = "(J\x00\x40\x00\x00J\x00\x40\x00\x00t"s;  // exactly 2^28: only the budget stops it
  EXPECT_THAT(load_error(checkpoint(tensors_pickle(1, ok_size, stride))),
              HasSubstr("limit: overlapping or repeating views"));
}

TEST(Limits, TensorCountIsLimited) {
  // kMaxTensors + 1 tensors sharing one memoized argument tuple.
  std::string p = "\x80\x02]("
                  "ctorch._utils\n_rebuild_tensor_v2\nq\x00"
                  "((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQ"
                  "K\x00K\x01\x85K\x01\x85\x89" "ccollections\nOrderedDict\n)Rtq\x01R"s;
  for (size_t k = 0; k < kMaxTensors; ++k) p += "h\x00h\x01R"s;
  EXPECT_THAT(unpickle_error(p + "e."), HasSubstr("more than " + std::to_string(kMaxTensors) + " tensors (limit)"));
}

TEST(Limits, RepeatingViewsCannotMultiplyMemory) {
  // 8 views of 2^22 elements each with stride 0 over a storage of 4 floats: 32M elements
  // from a file of a few hundred bytes. The 5th passes 4 x 4 + 2^24.
  const std::string size = "(J\x00\x00\x40\x00t"s, stride = "(K\x00t"s;
  EXPECT_THAT(load_error(checkpoint(tensors_pickle(8, size, stride))),
              AllOf(StartsWith("test.pt: tensor 't4': the tensors so far hold 20971520 elements"),
                    HasSubstr("limit: overlapping or repeating views")));
  // Four of them fit (the limit leaves room for small broadcast views).
  EXPECT_NO_THROW(load_torch_bytes(
      reinterpret_cast<const uint8_t*>(checkpoint(tensors_pickle(4, size, stride)).data()),
      checkpoint(tensors_pickle(4, size, stride)).size(), "test.pt"));
}

// ---- zip --------------------------------------------------------------------------------

TEST(Limits, ZipEntrySizeIsLimited) {
  const std::string zip = make_zip({{"archive/data/0", "abc", true, kMaxZipEntryBytes + 1}});
  EXPECT_THAT(read_entry_error(zip, 0),
              HasSubstr("zip entry 'archive/data/0' is 2147483649 bytes uncompressed (limit 2147483648)"));
}

TEST(Limits, ZipBombRatiosAreRefusedBeforeInflating) {
  const std::string zip = make_zip({{"archive/data/0", std::string(1000, 'x'), true, uint64_t{100} << 20}});
  EXPECT_THAT(read_entry_error(zip, 0), HasSubstr("declares 104857600 bytes from"));
  EXPECT_THAT(read_entry_error(zip, 0), HasSubstr("more than deflate can expand (corrupt file or a zip bomb)"));
}

TEST(Limits, DeclaredAndActualSizesMustAgree) {
  const std::string data(1000, 'z');
  EXPECT_THAT(read_entry_error(make_zip({{"a/x", data, true, 999}}), 0),
              HasSubstr("does not match its size (1000 bytes inflated, 999 declared)"));
  EXPECT_THAT(read_entry_error(make_zip({{"a/x", data, true, 1001}}), 0),
              HasSubstr("does not match its size (1000 bytes inflated, 1001 declared)"));
  EXPECT_THAT(read_entry_error(make_zip({{"a/x", data, false, 999}}), 0),
              HasSubstr("is stored but its sizes differ (1000 vs 999)"));
  EXPECT_THAT(read_entry_error(make_zip({{"a/x", data, false, std::nullopt, 5}}), 0),
              HasSubstr("its local header says 5 bytes (5 compressed), the central directory 1000 (1000)"));
}

TEST(Limits, OverlappingZipEntriesAreRefused) {
  // Two central directory entries naming the same bytes: the classic way to multiply one
  // deflate stream. Reading the same entry twice stays fine.
  const std::string data(4096, 'q');
  const std::string zip =
      make_zip({{"a/data.pkl", data, true}, {"a/data/0", data, true, std::nullopt, std::nullopt, 0}});
  EXPECT_THAT(read_entry_error(zip, 1, 0), HasSubstr("zip entry 'a/data/0' overlaps the bytes of another entry"));
  Bytes file{reinterpret_cast<const uint8_t*>(zip.data()), zip.size()};
  ZipReader reader(file);
  std::vector<uint8_t> buffer;
  EXPECT_NO_THROW(reader.read(reader.entries()[0], buffer));
  EXPECT_NO_THROW(reader.read(reader.entries()[0], buffer));
}

TEST(Limits, TruncatedZipsAndPicklesAreErrorsAtEveryCut) {
  const std::string good = checkpoint(tensors_pickle(2, "(K\x02t"s, "(K\x01t"s));
  ASSERT_NO_THROW(load_torch_bytes(reinterpret_cast<const uint8_t*>(good.data()), good.size(), "test.pt"));
  for (size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_THAT(load_error(good.substr(0, cut)), StartsWith("test.pt: ")) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace fg::ckpt
