// Tests of the native PyTorch checkpoint reader. The Pickle.* and TorchFile.* cases need
// nothing outside the repository (Mtcnn.* needs the shared data folder); Checkpoints.* read
// files written at test time by Debian's PyTorch (make_checkpoints.py) and compare every
// value with what torch.load returns.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/support/test_env.h"
#include "tools/checkpoint/pickle.h"
#include "tools/checkpoint/torch_file.h"

namespace fg::ckpt {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Kind = Value::Kind;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::string_literals;

// ---- helpers ----------------------------------------------------------------------------

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t k = 0; k + 1 < hex.size(); k += 2) {
    out += char(std::stoi(hex.substr(k, 2), nullptr, 16));
  }
  return out;
}

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

std::string le32(uint32_t v) {
  return {char(v & 0xff), char(v >> 8 & 0xff), char(v >> 16 & 0xff), char(v >> 24 & 0xff)};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// Persistent ids resolve to storage "<key>" of float32, as torch's zip format would.
std::variant<StorageRef, ValuePtr> fake_storage(const Value& pid) {
  if (pid.kind == Kind::string) {
    auto v = std::make_shared<Value>();
    v->kind = Kind::string;
    v->s = "resolved:" + pid.s;
    return ValuePtr(v);
  }
  if (pid.kind != Kind::tuple || pid.items.size() < 3) throw CheckpointError("bad pid");
  return StorageRef{pid.items[2]->s, "float32", 0, 16};
}

Unpickled unpickle_str(const std::string& bytes) {
  return unpickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.pkl",
                  fake_storage);
}

// The error unpickling `bytes` raises; fails the test if there is none.
std::string unpickle_error(const std::string& bytes) {
  try {
    unpickle_str(bytes);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for pickle " << to_hex(bytes.substr(0, 64));
  return "";
}

std::string load_error(const std::string& path) {
  try {
    load_torch_file(path);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error loading " << path;
  return "";
}

// Loads `path` expecting success or a CheckpointError naming the file; anything else (or
// a crash) fails.
void load_or_checkpoint_error(const std::string& path) {
  try {
    load_torch_file(path);
  } catch (const CheckpointError& e) {
    EXPECT_THAT(e.what(), StartsWith(path + ": "));
  }
}

const Value& at(const Value& v, size_t k) { return *v.items.at(k); }

// ---- Pickle: the unpickler on its own ---------------------------------------------------

// {'ints': [1, -70000, 65535, 2**40, 2**64, -(2**64)], 'f': 1.5, 'u': ('é', None, True, False),
//  'od': OrderedDict(x=1), 'size': torch.Size([2, 3]), 'small': b'ab'} pickled by CPython 3.11,
// protocols 2 and 4.
const std::string kPickleP2 = from_hex(
    "80027d7100285804000000696e747371015d7102284b014a90eefeff4dffff8a060000000000018a09000000"
    "0000000000018a090000000000000000ff655801000000667103473ff8000000000000580100000075710428"
    "5802000000c3a971054e888974710658020000006f64710763636f6c6c656374696f6e730a4f726465726564"
    "446963740a710829527109580100000078710a4b0173580400000073697a65710b63746f7263680a53697a65"
    "0a710c4b024b0386710d85710e52710f5805000000736d616c6c7110635f636f646563730a656e636f64650a"
    "711158020000006162711258060000006c6174696e317113867114527115752e");
const std::string kPickleP4 = from_hex(
    "800495b0000000000000007d94288c04696e7473945d94284b014a90eefeff4dffff8a060000000000018a09"
    "0000000000000000018a090000000000000000ff658c016694473ff80000000000008c017594288c02c3a994"
    "4e888974948c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c"
    "0178944b01738c0473697a65948c05746f726368948c0453697a659493944b024b038694859452948c05736d"
    "616c6c944302616294752e");
// The same with a user's class instance (__main__.Cfg) and a collections.defaultdict, which a
// torch checkpoint never needs: CPython 3.11, protocol 2.
const std::string kPickleUserClass = from_hex(
    "80027d7100285804000000696e747371015d7102284b014a90eefeff4dffff8a060000000000018a09000000"
    "0000000000018a090000000000000000ff655801000000667103473ff8000000000000580100000075710428"
    "5802000000c3a971054e888974710658020000006f64710763636f6c6c656374696f6e730a4f726465726564"
    "446963740a710829527109580100000078710a4b01735803000000636667710b635f5f6d61696e5f5f0a4366"
    "670a710c2981710d7d710e2858050000006465707468710f4b3258040000006e616d65711058030000007235"
    "307111756258020000006464711263636f6c6c656374696f6e730a64656661756c74646963740a7113635f5f"
    "6275696c74696e5f5f0a6c6973740a711485711552711658010000006b71175d71184b016173580500000073"
    "6d616c6c7119635f636f646563730a656e636f64650a711a58020000006162711b58060000006c6174696e31"
    "711c86711d52711e752e");

void expect_cpython_object(const Value& root, int protocol) {
  SCOPED_TRACE("protocol " + std::to_string(protocol));
  ASSERT_EQ(root.kind, Kind::dict);
  ASSERT_EQ(root.entries.size(), 6u);
  const Value& ints = *root.get("ints");
  ASSERT_EQ(ints.kind, Kind::list);
  ASSERT_EQ(ints.items.size(), 6u);
  EXPECT_EQ(at(ints, 0).i, 1);
  EXPECT_EQ(at(ints, 1).i, -70000);
  EXPECT_EQ(at(ints, 2).i, 65535);
  EXPECT_EQ(at(ints, 3).i, int64_t{1} << 40);
  for (size_t k : {4, 5}) {
    ASSERT_EQ(at(ints, k).kind, Kind::object);
    EXPECT_EQ(at(ints, k).s, "builtins.int");
  }
  EXPECT_EQ(to_hex(at(at(ints, 4), 0).s), "000000000000000001");
  EXPECT_EQ(to_hex(at(at(ints, 5), 0).s), "0000000000000000ff");
  EXPECT_EQ(root.get("f")->kind, Kind::real);
  EXPECT_EQ(root.get("f")->d, 1.5);
  const Value& u = *root.get("u");
  ASSERT_EQ(u.kind, Kind::tuple);
  ASSERT_EQ(u.items.size(), 4u);
  EXPECT_EQ(at(u, 0).s, "\xc3\xa9");
  EXPECT_EQ(at(u, 1).kind, Kind::none);
  EXPECT_TRUE(at(u, 2).kind == Kind::boolean && at(u, 2).b);
  EXPECT_TRUE(at(u, 3).kind == Kind::boolean && !at(u, 3).b);
  const Value& od = *root.get("od");
  ASSERT_EQ(od.kind, Kind::dict);
  EXPECT_EQ(od.get("x")->i, 1);
  const Value& size = *root.get("size");
  ASSERT_EQ(size.kind, Kind::object);
  EXPECT_EQ(size.s, "torch.Size");
  ASSERT_EQ(size.items.size(), 1u);
  ASSERT_EQ(at(size, 0).kind, Kind::tuple);
  EXPECT_EQ(at(at(size, 0), 1).i, 3);
  EXPECT_EQ(size.get("x"), nullptr) << "get() reads dicts only";
  const Value& small = *root.get("small");  // protocol 2: _codecs.encode('ab', 'latin1')
  EXPECT_EQ(small.kind, Kind::bytes);
  EXPECT_EQ(small.s, "ab");
}

TEST(Pickle, ReadsWhatCPythonWrites) {
  for (auto [bytes, protocol] : {std::pair{kPickleP2, 2}, std::pair{kPickleP4, 4}}) {
    Unpickled u = unpickle_str(bytes);
    EXPECT_EQ(u.size, bytes.size());
    expect_cpython_object(*u.root, protocol);
  }
}

TEST(Pickle, RefusesAUsersClassAsCPythonWroteIt) {
  EXPECT_THAT(unpickle_error(kPickleUserClass),
              HasSubstr("global '__main__.Cfg' is refused: a checkpoint may only name torch's tensor, storage "
                        "and container globals (nothing is imported or executed) (at GLOBAL, byte 164)"));
  // Without the class, defaultdict is next.
  std::string no_class = kPickleUserClass;
  no_class.replace(no_class.find("__main__\nCfg"), 12, "torch\nSize");
  EXPECT_THAT(unpickle_error(no_class), HasSubstr("global 'collections.defaultdict' is refused"));
}

TEST(Pickle, ReadsLessCommonOpcodes) {
  const std::string p = "\x80\x02("
                        "T\x03\x00\x00\x00" "abc"                            // BINSTRING
                        "U\x02" "hi"                                         // SHORT_BINSTRING
                        "B\x02\x00\x00\x00\x00\xff"                          // BINBYTES
                        "\x8e\x01\x00\x00\x00\x00\x00\x00\x00" "z"           // BINBYTES8
                        "\x8d\x02\x00\x00\x00\x00\x00\x00\x00" "ok"          // BINUNICODE8
                        "\x8b\x02\x00\x00\x00\xff\x7f"                       // LONG4 32767
                        "\x8b\x00\x00\x00\x00"                               // LONG4 0
                        "\x8a\x01\xff"                                       // LONG1 -1
                        "J\xff\xff\xff\xff"                                  // BININT -1
                        "I01\nI00\nI-42\nL123L\n"                            // INT, LONG
                        "L-99999999999999999999999L\n"                       // LONG, > int64
                        "Vcaf\\u00e9 \\U0001d11e \\\\u0041\n"                // UNICODE
                        "t" "r\x00\x00\x01\x00" "j\x00\x00\x01\x00" "\x86."s;  // LONG_BINPUT/GET
  Unpickled u = unpickle_str(p);
  const Value& pair = *u.root;
  ASSERT_EQ(pair.kind, Kind::tuple);
  ASSERT_EQ(pair.items.size(), 2u);
  EXPECT_EQ(pair.items[0], pair.items[1]) << "memo keeps identity";
  const Value& t = at(pair, 0);
  ASSERT_EQ(t.items.size(), 15u);
  EXPECT_EQ(at(t, 0).s, "abc");
  EXPECT_EQ(at(t, 1).s, "hi");
  EXPECT_EQ(at(t, 2).kind, Kind::bytes);
  EXPECT_EQ(at(t, 2).s, std::string("\x00\xff", 2));
  EXPECT_EQ(at(t, 3).s, "z");
  EXPECT_EQ(at(t, 4).s, "ok");
  EXPECT_EQ(at(t, 5).i, 32767);
  EXPECT_EQ(at(t, 6).i, 0);
  EXPECT_EQ(at(t, 7).i, -1);
  EXPECT_EQ(at(t, 8).i, -1);
  EXPECT_TRUE(at(t, 9).kind == Kind::boolean && at(t, 9).b);
  EXPECT_TRUE(at(t, 10).kind == Kind::boolean && !at(t, 10).b);
  EXPECT_EQ(at(t, 11).i, -42);
  EXPECT_EQ(at(t, 12).i, 123);
  ASSERT_EQ(at(t, 13).kind, Kind::object);
  EXPECT_EQ(to_hex(at(at(t, 13), 0).s), "01008009b51e38fdd2ea");  // pickle.encode_long
  EXPECT_EQ(at(t, 14).s, "caf\xc3\xa9 \xf0\x9d\x84\x9e \\\\u0041");
}

TEST(Pickle, DictKeysReplaceLikePython) {
  // {1: 'x', True: 'y', 'a': 1, 'b': 2, 'a': 3} -> {1: 'y', 'a': 3, 'b': 2}
  Unpickled u = unpickle_str(
      "\x80\x02}(K\x01X\x01\x00\x00\x00xI01\nX\x01\x00\x00\x00y"
      "X\x01\x00\x00\x00" "aK\x01X\x01\x00\x00\x00" "bK\x02X\x01\x00\x00\x00" "aK\x03u."s);
  const Value& d = *u.root;
  ASSERT_EQ(d.entries.size(), 3u);
  EXPECT_EQ(d.entries[0].second->s, "y");
  EXPECT_EQ(d.entries[1].first->s, "a");
  EXPECT_EQ(d.get("a")->i, 3);
  EXPECT_EQ(d.get("b")->i, 2);
  EXPECT_EQ(d.get("c"), nullptr);
}

TEST(Pickle, KeepsAllowedGlobalsAsObjects) {
  // torch.Size() via NEWOBJ, then APPENDS 1, 2 and BUILD with a non-dict state 7; PERSID 'abc'.
  Unpickled u =
      unpickle_str("\x80\x02" "ctorch\nSize\n)\x81(K\x01K\x02" "eK\x07" "bPabc\n\x86."s);
  const Value& obj = at(*u.root, 0);
  ASSERT_EQ(obj.kind, Kind::object);
  EXPECT_EQ(obj.s, "torch.Size");
  ASSERT_EQ(obj.items.size(), 2u);
  EXPECT_EQ(at(obj, 1).i, 2);
  ASSERT_EQ(obj.entries.size(), 1u);
  EXPECT_EQ(obj.entries[0].first->s, "__setstate__");
  EXPECT_EQ(obj.entries[0].second->i, 7);
  EXPECT_EQ(at(*u.root, 1).s, "resolved:abc");
}

TEST(Pickle, RebuildsTensorsWithoutTheirValues) {
  // _rebuild_tensor_v2(persistent ('storage', FloatStorage, '5', 'cpu', 16), 2, (2, 3), (1, 2),
  // False, OrderedDict()), wrapped in _rebuild_parameter.
  const std::string p =
      "\x80\x02" "ctorch._utils\n_rebuild_parameter\n"
      "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
      "X\x01\x00\x00\x00" "5X\x03\x00\x00\x00" "cpuK\x10tQK\x02K\x02K\x03\x86K\x01K\x02\x86"
      "\x89" "ccollections\nOrderedDict\n)RtR\x88" "ccollections\nOrderedDict\n)R\x87R."s;
  Unpickled u = unpickle_str(p);
  ASSERT_EQ(u.root->kind, Kind::tensor);
  ASSERT_EQ(u.tensors.size(), 1u);
  const TensorView& v = u.tensors[0];
  EXPECT_EQ(v.tensor, u.root->tensor);
  EXPECT_EQ(v.tensor->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(v.stride, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(v.offset, 2);
  EXPECT_EQ(v.storage.key, "5");
  EXPECT_TRUE(v.tensor->values.empty());
}

TEST(Pickle, RejectsUnknownOpcodesNamingThem) {
  EXPECT_EQ(unpickle_error("\x80\x02\xff"), "test.pkl: unknown pickle opcode 0xff at byte 2");
  EXPECT_EQ(unpickle_error("\x80\x04\x8f."),
            "test.pkl: unsupported pickle opcode EMPTY_SET (0x8f) at byte 2");
  EXPECT_EQ(unpickle_error("\x80\x02N0."),
            "test.pkl: unsupported pickle opcode POP (0x30) at byte 3");
}

TEST(Pickle, RejectsMalformedPickles) {
  struct Case {
    std::string bytes, message;
  };
  const Case cases[] = {
      {"\x80\x06.", "pickle protocol 6 is newer than 5 (at PROTO, byte 0)"},
      {"\x80\x02R.", "stack underflow (at REDUCE, byte 2)"},
      {"\x80\x02(K\x01(R.", "stack underflow (at REDUCE, byte 6)"},
      {"\x80\x02h\x05.", "memo key 5 was never stored (at BINGET, byte 2)"},
      {"\x80\x02N", "truncated: pickle ends at byte 3 without a STOP opcode"},
      {"\x80\x02X\x10\x00\x00\x00" "ab"s, "truncated: needs 16 more bytes, 2 left (at BINUNICODE"},
      {"\x80\x02T\xff\xff\xff\xff", "negative length -1 (at BINSTRING"},
      {"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f", "truncated: needs 9223372036854775807"},
      {"\x80\x04\x95\x00\x01\x00\x00\x00\x00\x00\x00N."s, "frame runs past the end"},
      {"\x80\x02]K\x01K\x02s.", "cannot set an item on a list (at SETITEM"},
      {"\x80\x02)K\x01" "a.", "cannot append to a tuple (at APPEND"},
      {"\x80\x02K\x01)R.", "cannot call a int (at REDUCE"},
      {"\x80\x02" "ctorch\nSize\nK\x01R.", "arguments of torch.Size are a int, expected a tuple"},
      {"\x80\x02K\x01K\x02" "b.", "cannot BUILD a int"},
      {"\x80\x04K\x01K\x02\x93.", "STACK_GLOBAL needs two strings"},
      {"\x80\x02}K\x01K\x02u.", "no MARK to pop to"},
      {"\x80\x02" "c_codecs\nencode\nX\x02\x00\x00\x00\xe2\x82X\x06\x00\x00\x00latin1\x86R."s,
       "not latin-1"},
      {"\x80\x02}(K\x01u.", "SETITEMS with an odd number of items"},
      {"\x80\x02I12x\n.", "bad integer literal '12x' (at INT"},
      {"\x80\x02Vab\\u12\n.", "truncated \\u escape"},
      {"\x80\x02]q\x00h\x00" "a."s, "pickle contains a reference cycle (at STOP"},
      {"\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.", "OrderedDict called with arguments"},
      {"\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(K\x00K\x00))NtR."s,
       "first argument is a int, expected a storage"},
      {"\x80\x02" "ctorch._utils\n_rebuild_parameter\nK\x01\x85R.", "expects a tensor"},
  };
  for (const auto& c : cases) {
    std::string got = unpickle_error(c.bytes);
    EXPECT_THAT(got, HasSubstr(c.message));
    EXPECT_THAT(got, StartsWith("test.pkl: "));
  }
}

TEST(Pickle, BadTensorArgumentsAreErrors) {
  const std::string head =
      "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n("
      "(X\x07\x00\x00\x00storageK\x00X\x01\x00\x00\x00" "0K\x00K\x10tQ"s;
  EXPECT_THAT(unpickle_error(head + "J\xff\xff\xff\xffK\x02\x85K\x01\x85tR."),
              HasSubstr("tensor storage offset must be a non-negative int, got -1"));
  EXPECT_THAT(unpickle_error(head + "K\x00K\x02\x85K\x01K\x01\x86tR."s),
              HasSubstr("tensor size has 1 dimension but its stride has 2"));
  EXPECT_THAT(unpickle_error(head + "K\x00J\xfe\xff\xff\xff\x85K\x01\x85tR."s),
              HasSubstr("tensor size must be a non-negative int, got -2"));
  std::string huge = "(";
  for (int k = 0; k < 8; ++k) huge += "J\xff\xff\xff\x7f";
  huge += "t";
  EXPECT_THAT(unpickle_error(head + "K\x00"s + huge + huge + "tR."),
              HasSubstr("tensor element count overflows int64"));
}

TEST(Pickle, LimitsNestingAndSize) {
  // 100000 nested 1-tuples.
  std::string deep = "\x80\x02N" + std::string(100000, '\x85') + ".";
  EXPECT_THAT(unpickle_error(deep), HasSubstr("nested deeper than 512 levels"));
  std::string ok = "\x80\x02N" + std::string(kMaxPickleDepth - 1, '\x85') + ".";
  EXPECT_NO_THROW(unpickle_str(ok));
  EXPECT_THAT(unpickle_error("\x80\x02" + std::string(100000, '(')),
              HasSubstr("MARKs nested deeper"));

  // A chain of 200000 lists linked through the memo after they were made: deeper than any
  // recursive destructor survives. It must fail cleanly, and tear down without recursing.
  const uint32_t n = 200000;
  std::string chain = "\x80\x02";
  for (uint32_t k = 0; k < n; ++k) chain += "]r" + le32(k);
  for (uint32_t k = 0; k + 1 < n; ++k) chain += "j" + le32(k) + "j" + le32(k + 1) + "a";
  chain += "j" + le32(0) + ".";
  EXPECT_THAT(unpickle_error(chain), HasSubstr("nested deeper"));

  // A cycle through a dict, and a long cycle.
  EXPECT_THAT(unpickle_error("\x80\x02}q\x00K\x01h\x00s."s), HasSubstr("cycle"));
  std::string ring = "\x80\x02";
  for (uint32_t k = 0; k < 100; ++k) ring += "]r" + le32(k);
  for (uint32_t k = 0; k < 100; ++k) ring += "j" + le32(k) + "j" + le32((k + 1) % 100) + "a";
  EXPECT_THAT(unpickle_error(ring + "j" + le32(0) + "."), HasSubstr("cycle"));

  // Pushing more values than the limit (the same memoized None, so it stays cheap).
  std::string many = "\x80\x02Nq\x00"s;
  for (size_t k = 0; k < kMaxPickleValues; ++k) many += "h\x00"s;
  EXPECT_THAT(unpickle_error(many + "."), HasSubstr("values (limit)"));
}

TEST(Pickle, TruncatedAndMutatedPicklesNeverCrash) {
  for (const std::string& good : {kPickleP2, kPickleP4}) {
    for (size_t cut = 0; cut < good.size(); ++cut) unpickle_error(good.substr(0, cut));
  }
  std::mt19937 rng(7);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string bad = iter % 2 ? kPickleP2 : kPickleP4;
    int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % bad.size();
      switch (rng() % 3) {
        case 0: bad[pos] = char(rng()); break;
        case 1: bad.erase(pos, 1 + rng() % 8); break;
        default: bad.insert(pos, 1, char(rng())); break;
      }
      if (bad.empty()) bad = "x";
    }
    try {
      unpickle_str(bad);
    } catch (const CheckpointError&) {
    }
  }
}

// ---- TorchFile: files that are not checkpoints ------------------------------------------

class TorchFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::scratch_dir("torch_file"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    std::string path = dir_ + "/" + name;
    write_file(path, bytes);
    return path;
  }
  std::string dir_;
};

TEST_F(TorchFileTest, MissingEmptyAndDirectory) {
  EXPECT_EQ(load_error(dir_ + "/missing.pt"),
            dir_ + "/missing.pt: cannot open: No such file or directory");
  std::string empty = write("empty.pt", "");
  EXPECT_EQ(load_error(empty), empty + ": empty file");
  EXPECT_EQ(load_error(dir_), dir_ + ": not a regular file");
}

TEST_F(TorchFileTest, RandomBytesAreNotACheckpoint) {
  std::mt19937 rng(42);
  for (const std::string prefix : {"", "PK\x03\x04", "\x80\x02", "L"}) {
    for (size_t size : {1, 3, 22, 100, 4096, 100000}) {
      std::string bytes = prefix;
      while (bytes.size() < size) bytes += char(rng());
      std::string path = write("random.pt", bytes);
      std::string error = load_error(path);
      EXPECT_THAT(error, StartsWith(path + ": "));
    }
  }
  std::string text = write("text.pt", "hello, world\n");
  EXPECT_EQ(load_error(text), text +
                                  ": not a PyTorch checkpoint: starts with byte 0x68, expected a "
                                  "zip (PK\\3\\4) or a pickle (0x80)");
}

TEST(TensorsOf, FlattensStringKeyedTensorsAndRejectsNonDicts) {
  Value list;
  list.kind = Kind::list;
  EXPECT_THROW(tensors_of(list), CheckpointError);
  auto key = std::make_shared<Value>();
  key->kind = Kind::string;
  key->s = "w";
  auto t = std::make_shared<Value>();
  t->kind = Kind::tensor;
  t->tensor = std::make_shared<Tensor>(Tensor{{2, 0}, {}, "float32"});
  auto other = std::make_shared<Value>();
  Value dict;
  dict.kind = Kind::dict;
  dict.entries = {{key, t}, {other, t}, {key, other}};
  auto flat = tensors_of(dict);
  ASSERT_EQ(flat.size(), 1u);
  EXPECT_EQ(flat[0].first, "w");
  EXPECT_EQ(flat[0].second->numel(), 0);
  EXPECT_EQ(dict.get("w"), t);
}

// ---- Mtcnn: the real legacy files from facenet-pytorch ---------------------------------

struct Param {
  const char* name;
  std::vector<int64_t> shape;
};

// As torch.load reports them (see shared/data/mtcnn/SOURCE.txt).
const std::vector<std::pair<std::string, std::vector<Param>>> kMtcnnLayout = {
    {"pnet",
     {{"conv1.weight", {10, 3, 3, 3}}, {"conv1.bias", {10}}, {"prelu1.weight", {10}},
      {"conv2.weight", {16, 10, 3, 3}}, {"conv2.bias", {16}}, {"prelu2.weight", {16}},
      {"conv3.weight", {32, 16, 3, 3}}, {"conv3.bias", {32}}, {"prelu3.weight", {32}},
      {"conv4_1.weight", {2, 32, 1, 1}}, {"conv4_1.bias", {2}},
      {"conv4_2.weight", {4, 32, 1, 1}}, {"conv4_2.bias", {4}}}},
    {"rnet",
     {{"conv1.weight", {28, 3, 3, 3}}, {"conv1.bias", {28}}, {"prelu1.weight", {28}},
      {"conv2.weight", {48, 28, 3, 3}}, {"conv2.bias", {48}}, {"prelu2.weight", {48}},
      {"conv3.weight", {64, 48, 2, 2}}, {"conv3.bias", {64}}, {"prelu3.weight", {64}},
      {"dense4.weight", {128, 576}}, {"dense4.bias", {128}}, {"prelu4.weight", {128}},
      {"dense5_1.weight", {2, 128}}, {"dense5_1.bias", {2}},
      {"dense5_2.weight", {4, 128}}, {"dense5_2.bias", {4}}}},
    {"onet",
     {{"conv1.weight", {32, 3, 3, 3}}, {"conv1.bias", {32}}, {"prelu1.weight", {32}},
      {"conv2.weight", {64, 32, 3, 3}}, {"conv2.bias", {64}}, {"prelu2.weight", {64}},
      {"conv3.weight", {64, 64, 3, 3}}, {"conv3.bias", {64}}, {"prelu3.weight", {64}},
      {"conv4.weight", {128, 64, 2, 2}}, {"conv4.bias", {128}}, {"prelu4.weight", {128}},
      {"dense5.weight", {256, 1152}}, {"dense5.bias", {256}}, {"prelu5.weight", {256}},
      {"dense6_1.weight", {2, 256}}, {"dense6_1.bias", {2}},
      {"dense6_2.weight", {4, 256}}, {"dense6_2.bias", {4}},
      {"dense6_3.weight", {10, 256}}, {"dense6_3.bias", {10}}}},
};

const char* const kNoMtcnn = "no shared data folder with mtcnn/*.pt (set FACEGATE_DATA)";

std::string mtcnn_dir() {
  std::string data = test::data_dir();
  return !data.empty() && fs::exists(data + "/mtcnn/pnet.pt") ? data + "/mtcnn" : "";
}

TEST(Mtcnn, LegacyFilesLoadWithTorchNamesAndShapes) {
  const std::string dir = mtcnn_dir();
  if (dir.empty()) GTEST_SKIP() << kNoMtcnn;
  for (const auto& [net, params] : kMtcnnLayout) {
    SCOPED_TRACE(net);
    ValuePtr root = load_torch_file(dir + "/" + net + ".pt");
    auto tensors = tensors_of(*root);
    ASSERT_EQ(tensors.size(), params.size());
    for (size_t k = 0; k < params.size(); ++k) {
      EXPECT_EQ(tensors[k].first, params[k].name);
      EXPECT_EQ(tensors[k].second->shape, params[k].shape) << params[k].name;
      EXPECT_EQ(tensors[k].second->dtype, "float32");
      EXPECT_EQ(int64_t(tensors[k].second->values.size()), tensors[k].second->numel());
    }
  }
  // conv1.weight is stored with strides (1, 10, 30, 90): check the gather, as torch.load sees it.
  auto pnet = tensors_of(*load_torch_file(dir + "/pnet.pt"));
  const auto& w = pnet[0].second->values;
  EXPECT_EQ(w.front(), -0.08164715766906738f);
  EXPECT_EQ(w.back(), 0.5087199807167053f);
}

TEST(Mtcnn, TruncatedCopiesFailCleanly) {
  const std::string dir = mtcnn_dir();
  if (dir.empty()) GTEST_SKIP() << kNoMtcnn;
  const std::string bytes = read_file(dir + "/pnet.pt");
  const std::string scratch = test::scratch_dir("mtcnn_truncated");
  const std::string path = scratch + "/pnet_cut.pt";
  for (size_t cut = 0; cut < bytes.size(); cut += cut < 2000 ? 1 : 97) {
    write_file(path, bytes.substr(0, cut));
    std::string error = load_error(path);
    EXPECT_THAT(error, StartsWith(path + ": "));
  }
  write_file(path, bytes.substr(0, bytes.size() - 1));
  EXPECT_THAT(load_error(path), HasSubstr("truncated: storage"));
  fs::remove_all(scratch);
}

// ---- Checkpoints: files written by PyTorch at test time ---------------------------------

// make_checkpoints.py, run once per test process.
struct Fixtures {
  Fixtures() {
    std::string python = test::torch_python();
    if (python.empty()) {
      skip = "no python3 with torch and torchvision (set FACEGATE_PYTHON)";
      return;
    }
    dir = test::scratch_dir("checkpoints");
    std::string script = test::source_dir() + "/tests/tools/make_checkpoints.py";
    std::string log = dir + "/make_checkpoints.log";
    std::string cmd = python + " '" + script + "' '" + dir + "'";
    if (!mtcnn_dir().empty()) cmd += " '" + mtcnn_dir() + "'";
    if (test::run(cmd + " >'" + log + "' 2>&1") != 0) {
      error = "make_checkpoints.py failed:\n" + read_file(log);
      return;
    }
    manifest = json::parse(read_file(dir + "/manifest.json"));
    std::string bin = read_file(dir + "/values.bin");
    values.resize(bin.size() / sizeof(float));
    std::memcpy(values.data(), bin.data(), values.size() * sizeof(float));
  }
  ~Fixtures() {
    if (!dir.empty()) fs::remove_all(dir);
  }
  std::string dir, skip, error;
  json manifest;
  std::vector<float> values;
};

const Fixtures& fixtures() {
  static const Fixtures f;
  return f;
}

class Checkpoints : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fixtures().skip.empty()) GTEST_SKIP() << fixtures().skip;
    ASSERT_TRUE(fixtures().error.empty()) << fixtures().error;
  }
  static std::string path(const std::string& name) { return fixtures().dir + "/" + name; }

  // Compares a loaded tree with the manifest's encoding of what torch.load returned.
  static void expect_tree(const Value& v, const json& j, const std::string& where) {
    SCOPED_TRACE(where);
    if (j.is_null()) {
      EXPECT_EQ(v.kind, Kind::none);
      return;
    }
    if (j.is_boolean()) {
      ASSERT_EQ(v.kind, Kind::boolean);
      {
      EXPECT_EQ(v.b, j.get<bool>());
      return;
    }
    }
    if (j.is_number_integer()) {
      ASSERT_EQ(v.kind, Kind::integer);
      {
      EXPECT_EQ(v.i, j.get<int64_t>());
      return;
    }
    }
    if (j.is_number_float()) {
      ASSERT_EQ(v.kind, Kind::real);
      {
      EXPECT_EQ(v.d, j.get<double>());
      return;
    }
    }
    if (j.is_string()) {
      ASSERT_EQ(v.kind, Kind::string);
      {
      EXPECT_EQ(v.s, j.get<std::string>());
      return;
    }
    }
    ASSERT_TRUE(j.is_object() && j.size() == 1) << j.dump();
    const std::string& type = j.begin().key();
    const json& body = j.begin().value();
    if (type == "bigint") {
      ASSERT_EQ(v.kind, Kind::object);
      ASSERT_EQ(v.s, "builtins.int");
      {
      EXPECT_EQ(to_hex(at(v, 0).s), body.get<std::string>());
      return;
    }
    }
    if (type == "bytes") {
      ASSERT_EQ(v.kind, Kind::bytes);
      {
      EXPECT_EQ(to_hex(v.s), body.get<std::string>());
      return;
    }
    }
    if (type == "list" || type == "tuple") {
      ASSERT_EQ(v.kind, type == "list" ? Kind::list : Kind::tuple);
      ASSERT_EQ(v.items.size(), body.size());
      for (size_t k = 0; k < body.size(); ++k) {
        expect_tree(*v.items[k], body[k], where + "[" + std::to_string(k) + "]");
      }
      return;
    }
    if (type == "dict") {
      ASSERT_EQ(v.kind, Kind::dict);
      ASSERT_EQ(v.entries.size(), body.size());
      for (size_t k = 0; k < body.size(); ++k) {
        const json& k_json = body[k][0];
        const std::string key = k_json.is_string() ? k_json.get<std::string>() : k_json.dump();
        expect_tree(*v.entries[k].first, body[k][0], where + " key " + key);
        expect_tree(*v.entries[k].second, body[k][1], where + "." + key);
      }
      return;
    }
    ASSERT_EQ(type, "tensor");
    ASSERT_EQ(v.kind, Kind::tensor);
    const Tensor& t = *v.tensor;
    EXPECT_EQ(t.dtype, body["dtype"].get<std::string>());
    ASSERT_EQ(t.shape, body["shape"].get<std::vector<int64_t>>());
    const size_t offset = body["offset"], count = body["count"];
    ASSERT_EQ(t.values.size(), count);
    ASSERT_LE(offset + count, fixtures().values.size());
    const float* want = fixtures().values.data() + offset;
    size_t bad = 0, first = 0;
    for (size_t k = 0; k < count; ++k) {
      float a = t.values[k], b = want[k];
      bool same = std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b));
      if (!same && bad++ == 0) first = k;
    }
    EXPECT_EQ(bad, 0u) << bad << " of " << count << " values differ; first at " << first << ": got "
                       << t.values[first] << ", torch says " << want[first];
  }

  static void expect_matches_torch(const std::string& name) {
    SCOPED_TRACE(name);
    const json& files = fixtures().manifest.at("files");
    ASSERT_TRUE(files.contains(name)) << "not in manifest";
    ValuePtr root;
    try {
      root = load_torch_file(path(name));
    } catch (const CheckpointError& e) {
      FAIL() << e.what();
    }
    expect_tree(*root, files.at(name), "<root>");
  }

  // Loading the file must fail with a one-line message that names it and contains `what`.
  static void expect_rejected(const std::string& name, const std::string& what) {
    std::string error = load_error(path(name));
    EXPECT_THAT(error, StartsWith(path(name) + ": "));
    EXPECT_THAT(error, HasSubstr(what)) << error;
    EXPECT_THAT(error, Not(HasSubstr("\n")));
  }
};

TEST_F(Checkpoints, StateDictMatchesTorch) {
  for (const char* name : {"state_dict.pt", "legacy_state_dict.pt"}) {
    expect_matches_torch(name);
    auto tensors = tensors_of(*load_torch_file(path(name)));
    const json& entries = fixtures().manifest["files"][name]["dict"];
    ASSERT_EQ(tensors.size(), entries.size());
    for (size_t k = 0; k < tensors.size(); ++k) EXPECT_EQ(tensors[k].first, entries[k][0]);
  }
}

TEST_F(Checkpoints, NestedObjectsAndOptimizerStateMatchTorch) {
  for (const char* name : {"nested.pt", "legacy_nested.pt", "nested_p1.pt", "nested_p3.pt",
                           "nested_p4.pt", "nested_p5.pt"}) {
    expect_matches_torch(name);
  }
  ValuePtr root = load_torch_file(path("nested.pt"));
  ValuePtr state = root->get("optimizer")->get("state");
  ValuePtr momentum = state->entries.at(0).second->get("momentum_buffer");
  ASSERT_TRUE(momentum && momentum->kind == Kind::tensor);
  EXPECT_EQ(momentum->tensor->shape, (std::vector<int64_t>{4, 3, 3, 3}));
}

TEST_F(Checkpoints, DtypesConvertExactlyToFloat32) {
  for (const char* name : {"dtypes.pt", "legacy_dtypes.pt"}) expect_matches_torch(name);
}

TEST_F(Checkpoints, NonContiguousViewsGatherLikeTorch) {
  for (const char* name : {"views.pt", "legacy_views.pt", "legacy_views_p1.pt",
                           "legacy_views_p3.pt", "legacy_views_p4.pt", "legacy_views_p5.pt",
                           "crafted_ok.pt"}) {
    expect_matches_torch(name);
  }
}

TEST_F(Checkpoints, DeflatedZip64AndByteorderArchivesLoad) {
  for (const char* name : {"views_deflated.pt", "views_zip64.pt", "views_byteorder.pt"}) {
    expect_matches_torch(name);
  }
  expect_rejected("byteorder_big.pt", "byteorder is 'big'; only 'little' is supported");
}

TEST_F(Checkpoints, MtcnnMatchesTorchLoad) {
  if (mtcnn_dir().empty()) GTEST_SKIP() << kNoMtcnn;
  for (const char* net : {"pnet", "rnet", "onet"}) {
    SCOPED_TRACE(net);
    const json& expected = fixtures().manifest["mtcnn"][net];
    expect_tree(*load_torch_file(mtcnn_dir() + "/" + net + ".pt"), expected, "<root>");
  }
}

TEST_F(Checkpoints, BrokenCheckpointsAreRejected) {
  expect_rejected("no_data_pkl.zip", "not a PyTorch checkpoint: the zip has no <archive>/data.pkl");
  expect_rejected("unknown_opcode.pt",
                  "data.pkl: unsupported pickle opcode EMPTY_SET (0x8f) at byte");
  expect_rejected("view_past_storage.pt",
                  "tensor 'w' (size [3,2], stride [2,1], offset 0) runs past its storage '0' of 4 "
                  "elements");
  expect_rejected("offset_past_storage.pt",
                  "tensor 'w' (size [2], stride [1], offset 3) runs past its storage '0' of 4 "
                  "elements");
  expect_rejected("storage_short.pt",
                  "tensor 'w': its storage '0' holds 4 float32 elements, fewer than the 8");
  expect_rejected("storage_missing.pt", "storage '1' has no data/1 in the zip");
}

TEST_F(Checkpoints, TruncatedFilesAreRejected) {
  const std::string cut_path = path("cut.pt");
  for (const char* name : {"state_dict.pt", "legacy_state_dict.pt", "views_zip64.pt",
                           "views_deflated.pt", "legacy_nested.pt"}) {
    SCOPED_TRACE(name);
    const std::string bytes = read_file(path(name));
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      write_file(cut_path, bytes.substr(0, cut));
      std::string error = load_error(cut_path);
      ASSERT_THAT(error, StartsWith(cut_path + ": ")) << "cut at " << cut;
    }
  }
  write_file(cut_path, read_file(path("state_dict.pt")).substr(0, 1000));
  EXPECT_THAT(load_error(cut_path),
              HasSubstr("truncated: zip end-of-central-directory record not found"));
}

TEST_F(Checkpoints, CorruptedBytesNeverCrash) {
  const std::string bad_path = path("corrupt.pt");
  std::mt19937 rng(1234);
  for (const char* name : {"legacy_nested.pt", "legacy_views_p4.pt", "nested.pt",
                           "views_deflated.pt", "views_zip64.pt"}) {
    const std::string good = read_file(path(name));
    for (int iter = 0; iter < 300; ++iter) {
      std::string bad = good;
      for (int e = 1 + int(rng() % 3); e > 0; --e) bad[rng() % bad.size()] = char(rng());
      write_file(bad_path, bad);
      load_or_checkpoint_error(bad_path);
    }
  }
}

}  // namespace
}  // namespace fg::ckpt
