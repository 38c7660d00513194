// P-, R- and O-Net on random inputs against a PyTorch forward of facenet-pytorch's state
// dicts (tests/detect/mtcnn_reference.py, Debian's torch): every output within 1e-4. Also
// checks that the converter copied every tensor exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <vector>

#include "nn/mtcnn.h"
#include "tests/detect/mtcnn_weights.h"

namespace fg::nn {
namespace {

constexpr double kTolerance = 1e-4;

void write_floats(const std::string& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::vector<float> read_floats(const std::string& path) {
  const std::string bytes = test::read_text(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.begin() + v.size() * sizeof(float), reinterpret_cast<char*>(v.data()));
  return v;
}

std::vector<float> uniform(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Max |got - want|, printed; fails on a size mismatch.
double max_diff(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  EXPECT_EQ(got.size(), want.size()) << what;
  double d = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    const double e = std::abs(double(got[i]) - want[i]);
    d = std::isnan(e) ? INFINITY : std::max(d, e);
  }
  std::printf("  %-16s max |diff| %.3g\n", what.c_str(), d);
  return d;
}

class MtcnnNets : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    weights_ = test::mtcnn_weights(why);
    if (weights_.empty()) GTEST_SKIP() << why;
    if (test::torch_python().empty()) GTEST_SKIP() << "SKIPPED: no Python with torch (set FACEGATE_PYTHON)";
    dir_ = test::scratch_dir("mtcnn-nets");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Writes the inputs, runs the reference, returns false (with a failure) if it did not run.
  bool run_reference(const std::string& shapes_json) {
    std::ofstream(dir_ + "/shapes.json") << shapes_json;
    const std::string cmd = test::torch_python() + " " +
                            test::sh_quote(test::source_dir() + "/tests/detect/mtcnn_reference.py") + " " +
                            test::sh_quote(test::data_dir() + "/mtcnn") + " " + test::sh_quote(dir_) + " 2>" +
                            test::sh_quote(dir_ + "/stderr");
    const int rc = test::run(cmd);
    EXPECT_EQ(rc, 0) << test::read_text(dir_ + "/stderr");
    return rc == 0;
  }

  std::string weights_, dir_;
};

TEST_F(MtcnnNets, MatchPyTorchForward) {
  const auto file = weights::WeightsFile::open(weights_);
  const Mtcnn net(file);
  ThreadPool pool(2);
  Mtcnn::Workspace ws;
  std::mt19937 rng(2024);

  // PNet on an odd-sized image, and on one wide and tall enough to be run in bands.
  struct Case {
    int h, w;
  };
  const Case cases[] = {{57, 83}, {420, 1010}};
  constexpr int kR = 7, kO = 5;
  for (const Case& c : cases) {
    SCOPED_TRACE("pnet input " + std::to_string(c.h) + "x" + std::to_string(c.w));
    std::printf("PNet input %dx%d, RNet batch %d, ONet batch %d:\n", c.h, c.w, kR, kO);
    const auto pin = uniform(size_t{3} * c.h * c.w, rng);
    const auto rin = uniform(size_t{kR} * 3 * 24 * 24, rng);
    const auto oin = uniform(size_t{kO} * 3 * 48 * 48, rng);
    write_floats(dir_ + "/pnet_in.bin", pin);
    write_floats(dir_ + "/rnet_in.bin", rin);
    write_floats(dir_ + "/onet_in.bin", oin);
    const std::string shapes = "{\"pnet\": [1,3," + std::to_string(c.h) + "," + std::to_string(c.w) +
                               "], \"rnet\": [" + std::to_string(kR) + ",3,24,24], \"onet\": [" + std::to_string(kO) +
                               ",3,48,48]}";
    if (!run_reference(shapes)) return;

    const int oh = Mtcnn::pnet_out_dim(c.h), ow = Mtcnn::pnet_out_dim(c.w);
    std::vector<float> pprob(2 * oh * ow), preg(4 * oh * ow);
    net.pnet(pin.data(), c.h, c.w, pprob.data(), preg.data(), ws, pool);
    EXPECT_LE(max_diff(pprob, read_floats(dir_ + "/pnet_prob.bin"), "pnet prob"), kTolerance);
    EXPECT_LE(max_diff(preg, read_floats(dir_ + "/pnet_reg.bin"), "pnet reg"), kTolerance);

    std::vector<float> rprob(2 * kR), rreg(4 * kR);
    net.rnet(rin.data(), kR, rprob.data(), rreg.data(), ws, pool);
    EXPECT_LE(max_diff(rprob, read_floats(dir_ + "/rnet_prob.bin"), "rnet prob"), kTolerance);
    EXPECT_LE(max_diff(rreg, read_floats(dir_ + "/rnet_reg.bin"), "rnet reg"), kTolerance);

    std::vector<float> oprob(2 * kO), oreg(4 * kO), omarks(10 * kO);
    net.onet(oin.data(), kO, oprob.data(), oreg.data(), omarks.data(), ws, pool);
    EXPECT_LE(max_diff(oprob, read_floats(dir_ + "/onet_prob.bin"), "onet prob"), kTolerance);
    EXPECT_LE(max_diff(oreg, read_floats(dir_ + "/onet_reg.bin"), "onet reg"), kTolerance);
    EXPECT_LE(max_diff(omarks, read_floats(dir_ + "/onet_landmarks.bin"), "onet landmarks"), kTolerance);
  }
}

TEST_F(MtcnnNets, ConverterCopiesEveryTensorExactly) {
  std::mt19937 rng(1);
  write_floats(dir_ + "/pnet_in.bin", uniform(3 * 12 * 12, rng));
  write_floats(dir_ + "/rnet_in.bin", uniform(3 * 24 * 24, rng));
  write_floats(dir_ + "/onet_in.bin", uniform(3 * 48 * 48, rng));
  if (!run_reference(R"({"pnet": [1,3,12,12], "rnet": [1,3,24,24], "onet": [1,3,48,48]})")) return;
  const auto file = weights::WeightsFile::open(weights_);
  EXPECT_EQ(file.meta_string("arch"), kMtcnnArch);
  EXPECT_EQ(file.tensors().size(), mtcnn_tensor_shapes().size());
  for (const auto& [name, shape] : mtcnn_tensor_shapes()) {
    const auto& t = file.tensor(name, shape);
    const std::vector<float> got(t.data, t.data + t.numel());
    EXPECT_EQ(got, read_floats(dir_ + "/state/" + name + ".bin")) << name;
  }
}

}  // namespace
}  // namespace fg::nn
