// The area resize behind the pyramid and the crops must be PyTorch's F.interpolate(mode="area")
// bit for bit: checked against a direct window average and, when torch is there, against torch.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "detect/pyramid.h"
#include "tests/support/test_env.h"

namespace fg::detect {
namespace {

cv::Mat random_rgb(int h, int w, uint64_t seed) {
  cv::Mat img(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(img, cv::RNG::UNIFORM, 0, 256);
  return img;
}

// Adaptive average pooling written out plainly: float bounds, float sum, / kh / kw.
std::vector<float> direct(const cv::Mat& rgb, int y0, int y1, int x0, int x1, int oh, int ow) {
  const int ih = y1 - y0, iw = x1 - x0;
  std::vector<float> out(size_t{3} * oh * ow);
  for (int c = 0; c < 3; ++c)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const int h0 = static_cast<int>(std::floor(float(oy * ih) / float(oh)));
        const int h1 = static_cast<int>(std::ceil(float((oy + 1) * ih) / float(oh)));
        const int w0 = static_cast<int>(std::floor(float(ox * iw) / float(ow)));
        const int w1 = static_cast<int>(std::ceil(float((ox + 1) * iw) / float(ow)));
        float sum = 0;
        for (int y = h0; y < h1; ++y)
          for (int x = w0; x < w1; ++x) sum += rgb.at<cv::Vec3b>(y0 + y, x0 + x)[c];
        out[(static_cast<size_t>(c) * oh + oy) * ow + ox] =
            (sum / float(h1 - h0) / float(w1 - w0) - 127.5f) * 0.0078125f;
      }
  return out;
}

TEST(PyramidScales, FollowTheReference) {
  // 12 / 20, times 0.709 while min(h, w) * scale >= 12: a 30-pixel side gives 18 and 12.76
  // (0.6 and 0.4254), then 9.05 stops.
  const auto s = pyramid_scales(30, 300, 20, 0.709);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0], 0.6);
  EXPECT_DOUBLE_EQ(s[1], 0.6 * 0.709);
  EXPECT_TRUE(pyramid_scales(19, 500, 20, 0.709).empty());
  EXPECT_EQ(pyramid_scales(20, 20, 20, 0.709).size(), 1u);
}

TEST(IntegralImage, ResizeEqualsDirectAverage) {
  const cv::Mat img = random_rgb(97, 131, 5);
  // Reused storage, larger than the table and full of another frame's sums: the table must
  // not depend on what was there.
  std::vector<uint32_t> storage(1 << 16, 0xdeadbeefu);
  const IntegralImage ii(img, storage);
  struct Case {
    int y0, y1, x0, x1, oh, ow;
  };
  // Downscales of the whole image (pyramid levels), crops shrunk and stretched (R/O-Net).
  const Case cases[] = {{0, 97, 0, 131, 59, 79}, {0, 97, 0, 131, 13, 17}, {0, 97, 0, 131, 97, 131},
                        {3, 60, 10, 90, 24, 24}, {90, 97, 120, 131, 48, 48}, {0, 1, 0, 1, 24, 24}};
  for (const Case& c : cases) {
    std::vector<float> got(size_t{3} * c.oh * c.ow);
    ii.resize_normalized(c.y0, c.y1, c.x0, c.x1, c.oh, c.ow, got.data());
    EXPECT_EQ(got, direct(img, c.y0, c.y1, c.x0, c.x1, c.oh, c.ow))
        << "region [" << c.y0 << "," << c.y1 << ")x[" << c.x0 << "," << c.x1 << ") to " << c.oh << "x" << c.ow;
  }
  std::vector<float> out(3 * 24 * 24);
  EXPECT_THROW(ii.resize_normalized(0, 98, 0, 10, 24, 24, out.data()), std::invalid_argument);
  EXPECT_THROW(ii.resize_normalized(5, 5, 0, 10, 24, 24, out.data()), std::invalid_argument);
}

TEST(IntegralImage, MatchesTorchAreaInterpolationBitForBit) {
  if (test::torch_python().empty()) GTEST_SKIP() << "SKIPPED: no Python with torch (set FACEGATE_PYTHON)";
  const std::string dir = test::scratch_dir("pyramid-torch");
  const int h = 211, w = 157;
  const cv::Mat img = random_rgb(h, w, 9);
  std::ofstream(dir + "/img.bin", std::ios::binary).write(reinterpret_cast<const char*>(img.data), img.total() * 3);
  // The reference's imresample on its channels-last float image, then its scaling.
  const int sizes[][2] = {{127, 95}, {90, 67}, {13, 12}, {300, 200}};
  const std::string script =
      "import sys, numpy as np, torch\n"
      "import torch.nn.functional as F\n"
      "d = sys.argv[1]\n"
      "x = torch.from_numpy(np.fromfile(d + '/img.bin', np.uint8).reshape(1, 211, 157, 3)).permute(0, 3, 1, "
      "2).float()\n"
      "for oh, ow in ((127, 95), (90, 67), (13, 12), (300, 200)):\n"
      "    y = (F.interpolate(x, size=(oh, ow), mode='area') - 127.5) * 0.0078125\n"
      "    y.contiguous().numpy().astype('<f4').tofile(f'{d}/out_{oh}x{ow}.bin')\n";
  std::ofstream(dir + "/ref.py") << script;
  ASSERT_EQ(test::run(test::torch_python() + " " + test::sh_quote(dir + "/ref.py") + " " + test::sh_quote(dir)), 0);
  std::vector<uint32_t> storage;
  const IntegralImage ii(img, storage);
  for (const auto& s : sizes) {
    std::vector<float> got(size_t{3} * s[0] * s[1]);
    ii.resize_normalized(0, h, 0, w, s[0], s[1], got.data());
    const std::string bytes =
        test::read_text(dir + "/out_" + std::to_string(s[0]) + "x" + std::to_string(s[1]) + ".bin");
    ASSERT_EQ(bytes.size(), got.size() * sizeof(float));
    std::vector<float> want(got.size());
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(want.data()));
    EXPECT_EQ(got, want) << s[0] << "x" << s[1];
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fg::detect
