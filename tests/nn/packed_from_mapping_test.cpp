#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "nn/resnet50.h"
#include "tests/nn/random_data.h"
#include "tests/nn/random_resnet50.h"

namespace fg::nn {
namespace {

constexpr int kInput = 32;  // the smallest input ResNet50 accepts: a fast forward
constexpr int kDim = 16;

// A ResNet-50 weights file with random (small) values; removed with the fixture.
class PackedFromMapping : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("facegate-nn-mapping-" + std::to_string(::getpid()) + ".fgw")).string();
    test::write_random_resnet50(path_, kInput, kDim);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::vector<float> embed(const ResNet50& net) {
    std::mt19937 rng(9);
    const auto in = test::random_floats(3 * kInput * kInput, rng);
    std::vector<float> out(kDim);
    ThreadPool pool(1);
    net.forward(in.data(), 1, out.data(), *net.make_workspace(), pool);
    return out;
  }

  std::string path_;
};

// Resident KiB of the mapping that holds `p`, from /proc/self/smaps (-1 if not found).
long resident_kib_of_mapping(const void* p) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) {
      inside = lo <= addr && addr < hi;
      continue;
    }
    long kib = 0;
    if (inside && std::sscanf(line.c_str(), "Rss: %ld kB", &kib) == 1) return kib;
  }
  return -1;
}

TEST_F(PackedFromMapping, NetworkRunsAfterItsFileIsClosed) {
  auto file = std::make_unique<weights::WeightsFile>(weights::WeightsFile::open(path_));
  const ResNet50 while_open(*file);
  const auto expect = embed(while_open);
  const ResNet50 net(*file);
  file.reset();  // unmapped: any pointer the network kept into it would now fault
  EXPECT_EQ(embed(net), expect);
}

TEST_F(PackedFromMapping, LoadLeavesTheFilesPagesOutOfTheResidentSet) {
  const auto file = weights::WeightsFile::open(path_);
  const auto& big = file.tensor("layer4.0.conv2.weight", {512, 512, 3, 3});
  // Reading every tensor makes the mapping resident, as packing does: the measure works.
  volatile float sink = 0;
  for (const auto& t : file.tensors())
    for (int64_t i = 0; i < t.numel(); i += 1024) sink = sink + t.data[i];
  ASSERT_GT(resident_kib_of_mapping(big.data), 80 * 1024) << "KiB resident after reading all";
  const ResNet50 net(file);
  // What stays is the header, the tables and the partial pages at tensor edges.
  EXPECT_LT(resident_kib_of_mapping(big.data), 2048) << "KiB still resident after packing";
}

TEST_F(PackedFromMapping, ViewsStillReadTheFileAfterRelease) {
  const auto file = weights::WeightsFile::open(path_);
  const auto& w = file.tensor("layer3.1.conv1.weight", {256, 1024, 1, 1});
  const std::vector<float> before(w.data, w.data + w.numel());
  const ResNet50 net(file);  // releases the pages of every tensor it packed
  EXPECT_EQ(std::vector<float>(w.data, w.data + w.numel()), before);
}

}  // namespace
}  // namespace fg::nn
