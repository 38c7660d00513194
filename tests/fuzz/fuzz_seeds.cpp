// Writes the seed corpora of the fuzz targets with our own writers: usage
//   fuzz_seeds OUT_DIR [CHECKPOINT...]
// OUT_DIR/<target>/ receives small valid inputs; each CHECKPOINT given (a .pt file) is copied
// to checkpoint/ and, when it is a zip, its data.pkl to checkpoint_pickle/.
#include <cstdio>
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
        write(out / "checkpoint_pickle" / (name + ".pkl"), std::string(reinterpret_cast<const char*>(pkl.data), pkl.size));
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
  for (const char* t : {"fgw", "index", "chroma", "checkpoint", "checkpoint_pickle"}) fs::create_directories(out / t);
  try {
    fgw_seeds(out / "fgw");
    index_seeds(out / "index");
    chroma_seeds(out / "chroma");
    checkpoint_seeds(out, std::vector<std::string>(argv + 2, argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
