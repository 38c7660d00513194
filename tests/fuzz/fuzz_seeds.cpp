// Writes the seed corpora of the fuzz targets with our own writers: usage
//   fuzz_seeds OUT_DIR [CHECKPOINT...]
// OUT_DIR/<target>/ receives small valid inputs; each CHECKPOINT given (a .pt file) is copied
// to checkpoint/ and, when it is a zip, its data.pkl to checkpoint_pickle/.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "index/index.h"
#include "tools/checkpoint/zip_reader.h"
#include "weights/fgw.h"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void fgw_seeds(const fs::path& dir) {
  fg::weights::WeightsWriter w;
  w.set_meta("arch", std::string("tiny"));
  w.set_meta("input_size", int64_t{112});
  w.set_meta("scale", 0.5);
  w.set_meta("mean", std::vector<float>{0.5f, 0.5f, 0.5f});
  std::vector<float> values(2 * 3 * 3 * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = float(i) * 0.25f;
  w.add_tensor("conv1.weight", {2, 3, 3, 3}, values.data());
  w.add_tensor("conv1.bias", {2}, values.data());
  w.add_tensor("scalar", {}, values.data());
  w.write((dir / "tiny.fgw").string());
  fg::weights::WeightsWriter empty;
  empty.write((dir / "empty.fgw").string());
}

void index_seeds(const fs::path& dir) {
  fg::index::Params p;
  p.dim = 4;
  p.m = 4;
  p.ef_construction = 16;
  p.threads = 1;
  fg::index::Index empty(p, {"model", "db", 1});
  empty.save((dir / "empty.fgi").string());
  fg::index::Index index(p, {"model", "db", 7});
  for (uint64_t label = 1; label <= 12; ++label) {
    std::vector<float> v{float(label % 3), float(label % 5) - 2.f, 1.f, float(label) * 0.1f};
    index.add(label, "person-" + std::to_string(label % 4), v);
  }
  index.save((dir / "twelve.fgi").string());
  index.remove(3);
  index.remove_identity("person-2");
  index.save((dir / "removed.fgi").string());
}

void chroma_seeds(const fs::path& dir) {
  const std::vector<std::pair<char, std::string>> bodies = {
      {0, R"({"id":"5f1c","name":"face_embeddings","metadata":{"hnsw:space":"cosine","model":"m"},)"
          R"("dimension":512,"configuration_json":{"hnsw":{"space":"cosine"}}})"},
      {1, "42"},
      {2, R"({"max_batch_size":5461})"},
      {3, R"({"ids":["a_0","b_1"],"metadatas":[{"mongo_id":"a","identity_name":"A"},null]})"},
      {4, R"({"ids":["a_0"],"metadatas":[{"mongo_id":"a","n":1}],"embeddings":[[0.5,-0.25,1e-3]]})"},
      {5, R"({"ids":[["a_0","b_1"]],"distances":[[0.1,0.7]],"metadatas":[[{"x":"y"},{}]]})"},
      {6, R"({"ids":[[],["c"]],"distances":[[],[2]],"metadatas":[[],[null]]})"},
      {7, R"({"message":"collection not found"})"},
      {8, R"({"nanosecond heartbeat":1730000000000000000})"},
  };
  for (const auto& [selector, body] : bodies) {
    write(dir / ("answer_" + std::to_string(int(selector))), std::string(1, selector) + body);
  }
}

// A tiny TFLite flatbuffer ("TFL3"), laid out by hand: every table is a vtable followed by its
// table, every field 4 bytes, every offset pointing forward, as read_tflite expects.
class TfliteBuilder {
 public:
  // A table whose fields are `present` slots; returns the position of each slot's 4 bytes.
  std::vector<size_t> table(const std::vector<bool>& present) {
    const size_t vtable = b_.size();
    u16(uint16_t(4 + 2 * present.size()));
    u16(uint16_t(4 + 4 * present.size()));
    for (size_t k = 0; k < present.size(); ++k) u16(present[k] ? uint16_t(4 + 4 * k) : 0);
    while (b_.size() % 4) b_.push_back('\0');
    const size_t table = b_.size();
    u32(uint32_t(table - vtable));
    std::vector<size_t> slots;
    for (size_t k = 0; k < present.size(); ++k) slots.push_back(table + 4 + 4 * k), u32(0);
    return slots;
  }
  // Points the offset at `ref` to what is appended next.
  void here(size_t ref) { set(ref, uint32_t(b_.size() - ref)); }
  void set(size_t at, uint32_t v) { std::memcpy(&b_[at], &v, 4); }
  // A vector of `n` offsets; returns the position of each.
  std::vector<size_t> offsets(size_t n) {
    u32(uint32_t(n));
    std::vector<size_t> at;
    for (size_t i = 0; i < n; ++i) at.push_back(b_.size()), u32(0);
    return at;
  }
  void bytes(const std::string& v) {
    u32(uint32_t(v.size()));
    b_ += v;
    while (b_.size() % 4) b_.push_back('\0');
  }
  void u16(uint16_t v) { b_.append(reinterpret_cast<const char*>(&v), 2); }
  void u32(uint32_t v) { b_.append(reinterpret_cast<const char*>(&v), 4); }
  std::string& data() { return b_; }

 private:
  std::string b_;
};

struct SeedTensor {
  std::string name;
  std::vector<int32_t> shape;
  int32_t type;
  uint32_t buffer;
};

std::string tflite_file(const std::vector<SeedTensor>& tensors, const std::vector<std::string>& buffers) {
  TfliteBuilder fb;
  fb.u32(0);  // root offset, set below
  fb.data() += "TFL3";
  fb.u32(0);  // keeps the model table's vtable off the identifier
  const auto model = fb.table({true, false, true, false, true});  // version, subgraphs, buffers
  fb.set(0, uint32_t(model[0] - 4));
  fb.set(model[0], 3);
  fb.here(model[4]);
  const auto buffer_refs = fb.offsets(buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    const bool has_data = !buffers[i].empty();
    const auto buffer = fb.table({has_data});
    fb.set(buffer_refs[i], uint32_t(buffer[0] - 4 - buffer_refs[i]));
    if (has_data) fb.here(buffer[0]), fb.bytes(buffers[i]);
  }
  fb.here(model[2]);
  const auto subgraph_refs = fb.offsets(1);
  const auto subgraph = fb.table({true});
  fb.set(subgraph_refs[0], uint32_t(subgraph[0] - 4 - subgraph_refs[0]));
  fb.here(subgraph[0]);
  const auto tensor_refs = fb.offsets(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto t = fb.table({true, true, true, true});  // shape, type, buffer, name
    fb.set(tensor_refs[i], uint32_t(t[0] - 4 - tensor_refs[i]));
    fb.set(t[1], uint32_t(tensors[i].type));
    fb.set(t[2], tensors[i].buffer);
    fb.here(t[0]);
    fb.u32(uint32_t(tensors[i].shape.size()));
    for (int32_t d : tensors[i].shape) fb.u32(uint32_t(d));
    fb.here(t[3]);
    fb.bytes(tensors[i].name);
  }
  return fb.data();
}

void tflite_seeds(const fs::path& dir) {
  std::string conv(2 * 3 * 4, '\0');
  for (size_t i = 0; i < conv.size() / 4; ++i) {
    const float v = float(i) * 0.5f - 1.f;
    std::memcpy(&conv[4 * i], &v, 4);
  }
  write(dir / "two_tensors.tflite", tflite_file({{"conv/weights", {2, 3}, 0, 1}, {"input", {1, 12, 12, 3}, 0, 0}},
                                                {"", conv}));
  write(dir / "int32.tflite", tflite_file({{"shape", {2}, 2, 1}}, {"", std::string("\x02\0\0\0\x03\0\0\0", 8)}));
  write(dir / "no_tensors.tflite", tflite_file({}, {""}));
}

void tfjs_seeds(const fs::path& dir) {
  // manifest JSON, a 0 byte, then the shard (see fuzz_tfjs.cpp).
  std::string shard(8 + 3 + 4 + 4, '\0');
  const float f[2] = {1.5f, -2.25f};
  std::memcpy(&shard[0], f, 8);
  shard[8] = 0, shard[9] = 1, shard[10] = char(255);
  const uint16_t q[2] = {4, 65535};
  std::memcpy(&shard[11], q, 4);
  const int32_t i = -7;
  std::memcpy(&shard[15], &i, 4);
  const std::string manifest =
      R"([{"paths":["shard.bin"],"weights":[)"
      R"({"name":"a","shape":[2],"dtype":"float32"},)"
      R"({"name":"b/q8","shape":[3,1],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1}},)"
      R"({"name":"c","shape":[2],"dtype":"float32","quantization":{"dtype":"uint16","scale":0.25,"min":2}},)"
      R"({"name":"d","shape":[],"dtype":"int32"}]}])";
  write(dir / "three_kinds", manifest + std::string(1, '\0') + shard);
  write(dir / "two_groups",
        R"([{"paths":["shard.bin"],"weights":[{"name":"a","shape":[2,2],"dtype":"float32"}]},)"
        R"({"paths":["shard.bin","shard.bin"],"weights":[{"name":"b","shape":[8],"dtype":"float32"}]}])" +
            std::string(1, '\0') + shard.substr(0, 16));
}

void checkpoint_seeds(const fs::path& out, const std::vector<std::string>& files) {
  for (const auto& file : files) {
    const std::string name = fs::path(file).filename().string();
    fs::copy_file(file, out / "checkpoint" / name, fs::copy_options::overwrite_existing);
    const std::string bytes = read(file);
    fg::ckpt::Bytes b{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
    if (!fg::ckpt::ZipReader::is_zip(b)) continue;
    try {
      fg::ckpt::ZipReader zip(b);
      if (const auto* entry = zip.find("data.pkl")) {
        std::vector<uint8_t> buffer;
        fg::ckpt::Bytes pkl = zip.read(*entry, buffer);
        write(out / "checkpoint_pickle" / (name + ".pkl"),
              std::string(reinterpret_cast<const char*>(pkl.data), pkl.size));
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fuzz_seeds: skipping %s: %s\n", file.c_str(), e.what());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR [CHECKPOINT...]\n");
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* t : {"fgw", "index", "chroma", "checkpoint", "checkpoint_pickle", "tflite", "tfjs"})
    fs::create_directories(out / t);
  try {
    fgw_seeds(out / "fgw");
    index_seeds(out / "index");
    chroma_seeds(out / "chroma");
    tflite_seeds(out / "tflite");
    tfjs_seeds(out / "tfjs");
    checkpoint_seeds(out, std::vector<std::string>(argv + 2, argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
