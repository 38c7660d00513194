// read_image's limits: images are sized from their header and refused before decoding when
// they declare more than kMaxImagePixels (decompression bombs), or are not a format we size.
#include "apps/image_io.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "apps/image_size.h"
#include "tests/support/test_env.h"

namespace {

using fg::apps::image_size;
using fg::apps::read_image;
using namespace std::string_literals;

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16 & 0xff), char(v >> 8 & 0xff), char(v & 0xff)}; }
std::string le16(uint32_t v) { return {char(v & 0xff), char(v >> 8 & 0xff)}; }
std::string le32(uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); }

std::string png_chunk(const std::string& type, const std::string& data) {
  const std::string td = type + data;
  return be32(uint32_t(data.size())) + td +
         be32(uint32_t(crc32(0, reinterpret_cast<const Bytef*>(td.data()), uInt(td.size()))));
}

// A valid PNG header declaring width x height RGB, with `rows` rows of zeros as its only data:
// a few kilobytes that would decode to width * height * 3 bytes.
std::string png_bomb(uint32_t width, uint32_t height, uint32_t rows) {
  std::string raw;
  for (uint32_t r = 0; r < rows; ++r) raw += std::string(1 + size_t(width) * 3, '\0');
  std::string z(compressBound(uLong(raw.size())), '\0');
  uLongf n = uLongf(z.size());
  compress2(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()), 9);
  z.resize(n);
  const std::string ihdr = be32(width) + be32(height) + std::string("\x08\x02\x00\x00\x00", 5);
  return "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr) + png_chunk("IDAT", z) + png_chunk("IEND", "");
}

std::string write(const std::string& name, const std::string& bytes) {
  static const std::string dir = fg::test::scratch_dir("image-io");
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

long max_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

TEST(ImageLimits, DecompressionBombsAreRefusedBeforeDecoding) {
  // 60000 x 60000 would be 10.8 GB of BGR; 20000 x 20000 (1.2 GB) is under OpenCV's own
  // default cap of 2^30 pixels, which setting OPENCV_IO_MAX_IMAGE_PIXELS from inside the
  // process cannot lower (OpenCV reads it once, when the library loads).
  const long before = max_rss_mb();
  for (uint32_t side : {60000u, 20000u, 10001u}) {
    const std::string path = write("bomb" + std::to_string(side) + ".png", png_bomb(side, side, 16));
    std::string why;
    const cv::Mat img = read_image(path, why);
    EXPECT_TRUE(img.empty());
    EXPECT_EQ(why, "cannot decode: PNG header declares " + std::to_string(side) + "x" + std::to_string(side) +
                       " pixels, over the limit of 100000000 (refused before decoding)");
  }
  EXPECT_LT(max_rss_mb() - before, 100) << "something allocated the pixels";
}

TEST(ImageLimits, ImagesUpToTheLimitStillDecode) {
  cv::Mat small(37, 53, CV_8UC3, cv::Scalar(10, 200, 30));
  for (const char* ext : {".png", ".jpg", ".bmp", ".webp", ".tiff", ".ppm"}) {
    std::vector<uchar> bytes;
    ASSERT_TRUE(cv::imencode(ext, small, bytes)) << ext;
    const std::string path = write(std::string("small") + ext, std::string(bytes.begin(), bytes.end()));
    std::string why;
    const cv::Mat img = read_image(path, why);
    ASSERT_FALSE(img.empty()) << ext << ": " << why;
    EXPECT_EQ(img.size(), small.size()) << ext;
    const cv::Mat ref = cv::imread(path, cv::IMREAD_COLOR);
    EXPECT_EQ(cv::norm(img, ref, cv::NORM_INF), 0) << ext << ": read_image differs from cv::imread";
  }
}

TEST(ImageLimits, ExifOrientationIsAppliedAsImreadDoes) {
  cv::Mat img(20, 40, CV_8UC3, cv::Scalar(0, 0, 0));
  img(cv::Rect(0, 0, 20, 20)).setTo(cv::Scalar(255, 255, 255));
  std::vector<uchar> jpg;
  cv::imencode(".jpg", img, jpg);
  // APP1 Exif with one IFD entry: Orientation (0x112) = 6, rotate 90 degrees clockwise.
  const std::string tiff = "II*\0"s + le32(8) + le16(1) + le16(0x112) + le16(3) + le32(1) + le32(6) + le32(0);
  const std::string app1 = "Exif\0\0"s + tiff;
  const std::string seg = "\xff\xe1"s + char((app1.size() + 2) >> 8) + char((app1.size() + 2) & 0xff) + app1;
  const std::string bytes = std::string(jpg.begin(), jpg.begin() + 2) + seg + std::string(jpg.begin() + 2, jpg.end());
  const std::string path = write("exif6.jpg", bytes);
  std::string why;
  const cv::Mat got = read_image(path, why);
  ASSERT_FALSE(got.empty()) << why;
  EXPECT_EQ(got.size(), cv::Size(20, 40));
  EXPECT_EQ(cv::norm(got, cv::imread(path, cv::IMREAD_COLOR), cv::NORM_INF), 0);
}

TEST(ImageLimits, HeadersOfEachFormatAreSized) {
  struct Case {
    std::string bytes;
    uint64_t width, height;
    const char* format;
  };
  const std::string sof = "\xff\xd8\xff\xe0\x00\x04\x00\x00"s + "\xff\xc2\x00\x11\x08"s + "\xfd\xe8" + "\xea\x60";
  const std::vector<Case> cases = {
      {png_bomb(70000, 2000, 1), 70000, 2000, "PNG"},
      {sof + std::string(12, '\0'), 60000, 65000, "JPEG"},  // progressive SOF2 after an APP0
      {"BM"s + std::string(12, '\0') + le32(40) + le32(30000) + le32(uint32_t(-40000)) + std::string(8, '\0'), 30000,
       40000, "BMP"},
      {"RIFF\0\0\0\0WEBPVP8X"s + std::string(8, '\0') + "\x3f\x9c\x00\x3f\x9c\x00xx"s, 40000, 40000, "WebP"},
      {"II*\0"s + le32(8) + le16(2) + le16(256) + le16(4) + le32(1) + le32(90000) + le16(257) + le16(3) + le32(1) +
           le32(20000), 90000, 20000, "TIFF"},
      {"MM\0*"s + be32(8) + "\x00\x01" + "\x01\x01\x00\x04" + be32(1) + be32(77), 0, 0, ""},  // no width: unsized
      {"P6\n# comment\n50000 40000\n255\n", 50000, 40000, "PNM"},
      {"P7\nWIDTH 12000\nHEIGHT 9000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n", 12000, 9000, "PNM"},
  };
  for (const auto& c : cases) {
    const auto size = image_size(c.bytes);
    if (!*c.format) {
      EXPECT_FALSE(size.has_value());
      continue;
    }
    ASSERT_TRUE(size.has_value()) << c.format;
    EXPECT_EQ(size->width, c.width) << c.format;
    EXPECT_EQ(size->height, c.height) << c.format;
    EXPECT_STREQ(size->format, c.format);
    std::string why;
    EXPECT_TRUE(read_image(write(std::string("big.") + c.format, c.bytes), why).empty());
    EXPECT_NE(why.find("over the limit of 100000000 (refused before decoding)"), std::string::npos) << why;
  }
}

TEST(ImageLimits, UnsizableAndCutHeadersAreNotImages) {
  const std::string png = png_bomb(64, 64, 64);
  for (size_t cut : {size_t{4}, size_t{8}, size_t{20}}) {
    std::string why;
    EXPECT_TRUE(read_image(write("cut.png", png.substr(0, cut)), why).empty());
    EXPECT_EQ(why, "cannot decode: not an image, or not one of JPEG, PNG, BMP, WebP, TIFF, PNM") << cut;
  }
  std::string why;
  EXPECT_TRUE(read_image(write("zero.png", ""), why).empty());
  EXPECT_EQ(why, "empty file");
  EXPECT_TRUE(read_image(write("anim.gif", "GIF89a\x10\x00\x10\x00"), why).empty());
  EXPECT_NE(why.find("not an image"), std::string::npos);
  // Over the file size limit: refused from its size (a sparse file; nothing is read).
  const std::string huge = write("huge.png", png);
  ASSERT_EQ(::truncate(huge.c_str(), off_t(fg::apps::kMaxImageFileBytes + 1)), 0);
  EXPECT_TRUE(read_image(huge, why).empty());
  EXPECT_EQ(why, "cannot decode: file of 268435457 bytes is over the limit of 268435456");
  EXPECT_TRUE(read_image(write("empty.png", png_bomb(0, 5, 0)), why).empty());
  EXPECT_EQ(why, "cannot decode: PNG header declares an empty image");
  // A header that fits but data that does not decode.
  EXPECT_TRUE(read_image(write("corrupt.png", png.substr(0, 60)), why).empty());
  EXPECT_EQ(why, "cannot decode: corrupt or unsupported PNG data (PNG input buffer is incomplete)");
}

}  // namespace
