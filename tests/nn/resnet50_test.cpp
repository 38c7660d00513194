#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "nn/resnet50.h"
#include "tests/nn/random_data.h"
#include "tests/nn/random_resnet50.h"

namespace fg::nn {
namespace {

constexpr int kInput = 32;
constexpr int kDim = 16;

TEST(ResNet50Lanes, WholeImagesPerThreadMatchOneThread) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("facegate-nn-resnet50-" + std::to_string(::getpid()) + ".fgw")).string();
  test::write_random_resnet50(path, kInput, kDim);
  const auto file = weights::WeightsFile::open(path);
  std::filesystem::remove(path);
  const ResNet50 net(file);
  std::mt19937 rng(3);
  // 2 lanes x 5 whole images (each lane's stages 3-4 in chunks of 4 and 1), then 1 image
  // split over both threads.
  const int batch = 11;
  const size_t image = 3 * kInput * kInput;
  const auto in = test::random_floats(batch * image, rng);

  std::vector<float> expect(batch * kDim);
  ThreadPool one(1);
  auto ws1 = net.make_workspace(1);
  for (int n = 0; n < batch; ++n)
    net.forward(in.data() + n * image, 1, expect.data() + n * kDim, *ws1, one);

  ThreadPool two(2);
  for (int lanes : {1, 2, 3}) {
    std::vector<float> got(batch * kDim);
    net.forward(in.data(), batch, got.data(), *net.make_workspace(lanes), two);
    // Every output is the same sum in the same order whichever thread computes it.
    EXPECT_EQ(got, expect) << "lanes " << lanes;
  }
}

}  // namespace
}  // namespace fg::nn
