// facegate embed --detector takes the crop options the other face commands take (--align,
// --min-face): its embedding is the model's embedding of the crop detect --save-crops writes
// with the same options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/e2e/e2e_suite.h"

namespace {

namespace fs = std::filesystem;
using fg::test::sh_quote;
using nlohmann::json;

struct Suite {
  std::string data, dir, model, mtcnn;
};
Suite* g_suite = nullptr;

class EmbedDetect : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_suite = fg::test::new_suite<Suite>("embed-detect");
    if (g_suite) fg::test::convert_models(g_suite->data, g_suite->dir, g_suite->model, g_suite->mtcnn);
  }
  static void TearDownTestSuite() { fg::test::drop_suite(g_suite); }

  void SetUp() override {
    if (!g_suite) return fg::test::skip_or_fail_without_suite();
    dir_ = fg::test::test_scratch_dir("embed-detect-");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // The one JSON line `facegate embed ARGS --json` prints for one image.
  json embed(const std::string& args) {
    const fg::test::Result r = fg::test::run_facegate("embed --json --threads 2 --model " + sh_quote(g_suite->model) +
                                                          " " + args,
                                                      dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.empty() ? json() : json::parse(r.out);
  }

  std::string dir_;
};

double max_difference(const json& a, const json& b) {
  const auto x = a["embedding"].get<std::vector<float>>(), y = b["embedding"].get<std::vector<float>>();
  EXPECT_EQ(x.size(), y.size());
  double worst = 0;
  for (size_t k = 0; k < std::min(x.size(), y.size()); ++k) worst = std::max(worst, double(std::abs(x[k] - y[k])));
  return worst;
}

TEST_F(EmbedDetect, AlignAndMinFaceAreTheCropOfDetect) {
  const std::string photo = g_suite->data + "/faces/people/amy/amy1.png";
  std::vector<json> detected;
  for (const char* mode : {"box", "arcface"}) {
    SCOPED_TRACE(mode);
    const std::string crops = dir_ + "/crops-" + mode;
    const fg::test::Result r = fg::test::run_facegate("detect --detector " + sh_quote(g_suite->mtcnn) +
                                                          " --save-crops " + sh_quote(crops) + " --align " + mode +
                                                          " " + sh_quote(photo),
                                                      dir_);
    ASSERT_EQ(r.code, 0) << r.err;
    const json of_crop = embed(sh_quote(crops + "/amy1_1.png"));
    detected.push_back(
        embed("--detector " + sh_quote(g_suite->mtcnn) + " --align " + std::string(mode) + " " + sh_quote(photo)));
    ASSERT_TRUE(detected.back().contains("box")) << detected.back().dump();
    EXPECT_LE(max_difference(detected.back(), of_crop), 1e-5);
  }
  EXPECT_GT(max_difference(detected[0], detected[1]), 1e-3) << "--align changed nothing";

  const fg::test::Result none = fg::test::run_facegate("embed --json --model " + sh_quote(g_suite->model) +
                                                           " --detector " + sh_quote(g_suite->mtcnn) +
                                                           " --min-face 4000 " + sh_quote(photo),
                                                       dir_);
  EXPECT_EQ(none.code, 1) << none.err;
  EXPECT_NE(none.out.find("\"error\":\"no face found\""), std::string::npos) << none.out;

  const fg::test::Result usage =
      fg::test::run_facegate("embed --model " + sh_quote(g_suite->model) + " --align box " + sh_quote(photo), dir_);
  EXPECT_EQ(usage.code, 2);
  EXPECT_NE(usage.err.find("--align applies with --detector"), std::string::npos) << usage.err;
}

}  // namespace
