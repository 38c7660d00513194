// facegate convert + facegate embed against PyTorch, on a random-weight ResNet-50 saved in
// every checkpoint variant the converter accepts (tests/e2e/make_resnet_checkpoint.py).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/test_env.h"

namespace {

using nlohmann::json;

class ResNet50Parity : public ::testing::TestWithParam<std::string> {};

struct Compared {
  double worst_cos = 1, worst_diff = 0;
  std::string worst_image;
};

// Converts the variant, embeds every reference image, compares image by image.
void check_variant(const std::string& variant, int threads, int batch) {
  const std::string fixture = fg::test::resnet_fixture();
  if (fixture.empty()) {
    if (fg::test::torch_python().empty())
      GTEST_SKIP() << "SKIPPED: python3-torch/torchvision missing, no PyTorch reference";
    FAIL() << "PyTorch is here but the fixture is not: run ctest, whose resnet_fixture test makes it";
  }
  const std::string bin = fg::test::facegate_binary();
  ASSERT_FALSE(bin.empty()) << "FACEGATE_BINARY not set";
  const std::string dir = fg::test::scratch_dir("parity-" + variant + std::to_string(threads));
  const std::string fgw = dir + "/model.fgw";
  const std::string ckpt = fixture + "/" + variant + ".pt";
  ASSERT_TRUE(std::filesystem::exists(ckpt)) << "fixture lacks " << ckpt;
  ASSERT_EQ(fg::test::run(bin + " convert " + fg::test::sh_quote(ckpt) + " -o " + fg::test::sh_quote(fgw) +
                          " > " + dir + "/convert.log 2>&1"),
            0)
      << fg::test::read_text(dir + "/convert.log");

  const json ref = json::parse(fg::test::read_text(fixture + "/" + variant + ".ref.json"));
  ASSERT_GE(ref.size(), 8u) << "the parity test needs at least 8 images";
  std::string cmd = bin + " embed --json --threads " + std::to_string(threads) + " --batch " +
                    std::to_string(batch) + " --model " + fg::test::sh_quote(fgw);
  for (auto it = ref.begin(); it != ref.end(); ++it) cmd += " " + fg::test::sh_quote(it.key());
  ASSERT_EQ(fg::test::run(cmd + " > " + dir + "/out.jsonl 2> " + dir + "/err.log"), 0)
      << fg::test::read_text(dir + "/err.log");

  std::istringstream lines(fg::test::read_text(dir + "/out.jsonl"));
  std::string line;
  size_t seen = 0;
  Compared c;
  while (std::getline(lines, line)) {
    const json got = json::parse(line);
    const std::string image = got.at("image");
    ASSERT_TRUE(ref.contains(image)) << "unexpected image " << image;
    ASSERT_TRUE(got.contains("embedding")) << image << ": " << line;
    const auto& a = got["embedding"];
    const auto& b = ref[image];
    ASSERT_EQ(a.size(), b.size()) << image;
    double dot = 0, na = 0, nb = 0, diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double x = a[i].get<double>(), y = b[i].get<double>();
      dot += x * y;
      na += x * x;
      nb += y * y;
      diff = std::max(diff, std::abs(x - y));
    }
    const double cos = dot / std::sqrt(na * nb);
    EXPECT_GE(cos, 0.99999) << variant << " " << image;
    EXPECT_LE(diff, 1e-4) << variant << " " << image;
    if (cos < c.worst_cos) c.worst_cos = cos;
    if (diff > c.worst_diff) {
      c.worst_diff = diff;
      c.worst_image = image;
    }
    ++seen;
  }
  EXPECT_EQ(seen, ref.size());
  std::printf("[ parity ] %s threads=%d: %zu images, worst cosine %.8f, worst max|diff| %.3g (%s)\n",
              variant.c_str(), threads, seen, c.worst_cos, c.worst_diff, c.worst_image.c_str());
  std::filesystem::remove_all(dir);
}

TEST_P(ResNet50Parity, MatchesPyTorch) { check_variant(GetParam(), 2, 8); }

INSTANTIATE_TEST_SUITE_P(Variants, ResNet50Parity,
                         ::testing::Values("trainer", "bare", "stripped", "module", "views", "legacy", "fp16",
                                           "bf16"));

TEST(ResNet50ParityThreads, OneThreadBatchOneMatchesPyTorch) { check_variant("trainer", 1, 1); }

}  // namespace
