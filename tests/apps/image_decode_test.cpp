// The native JPEG and PNG decoders of read_image against cv::imdecode(IMREAD_COLOR) of the
// same bytes, which they replace: every pixel must be equal, on the shared photos and on
// generated files of each variant (colour spaces, subsampling, bit depths, palettes, tRNS,
// interlacing, EXIF orientations, data cut short).
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "apps/image_io.h"
#include "tests/apps/image_files.h"
#include "tests/support/test_env.h"

namespace {

using fg::apps::read_image;
using namespace std::string_literals;

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16 & 0xff), char(v >> 8 & 0xff), char(v & 0xff)}; }
std::string le16(uint32_t v) { return {char(v & 0xff), char(v >> 8 & 0xff)}; }
std::string le32(uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); }
std::string be16(uint32_t v) { return {char(v >> 8 & 0xff), char(v & 0xff)}; }

std::string png_chunk(const std::string& type, const std::string& data) {
  const std::string td = type + data;
  return be32(uint32_t(data.size())) + td +
         be32(uint32_t(crc32(0, reinterpret_cast<const Bytef*>(td.data()), uInt(td.size()))));
}

// Deterministic bytes with structure (gradients) and noise, so that subsampling and
// upsampling have something to get wrong.
std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t s = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    v[i] = uint8_t((i * 7 / 3) + (s >> 27));
  }
  return v;
}

std::string write(const std::string& name, const std::string& bytes) {
  static const std::string dir = fg::test::scratch_dir("image-decode");
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

cv::Mat imdecode(const std::string& bytes) {
  return cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8U, const_cast<char*>(bytes.data())), cv::IMREAD_COLOR);
}

// read_image must give exactly what cv::imdecode gives, or fail where it fails.
void expect_as_opencv(const std::string& name, const std::string& bytes) {
  std::string why;
  const cv::Mat got = read_image(write(name, bytes), why);
  const cv::Mat want = imdecode(bytes);
  ASSERT_EQ(got.empty(), want.empty()) << name << ": read_image says: " << (why.empty() ? "ok" : why);
  if (want.empty()) return;
  ASSERT_EQ(got.type(), CV_8UC3) << name;
  ASSERT_EQ(got.size(), want.size()) << name;
  EXPECT_EQ(cv::norm(got, want, cv::NORM_INF), 0) << name << ": pixels differ from cv::imdecode";
}

std::string jpeg(int width, int height, const fg::test::JpegOptions& o, uint32_t seed = 1) {
  return fg::test::encode_jpeg(pattern(size_t(width) * size_t(height) * size_t(o.components), seed), width, height, o);
}

TEST(NativeDecode, SharedPhotosDecodeAsOpenCvDoes) {
  const std::string data = fg::test::data_dir();
  if (data.empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
  int count = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data + "/faces")) {
    const std::string ext = e.path().extension().string();
    if (ext != ".jpg" && ext != ".jpeg" && ext != ".png") continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    expect_as_opencv(e.path().filename().string(), bytes);
    ++count;
  }
  EXPECT_GT(count, 0) << "no JPEG or PNG under " << data << "/faces";
}

TEST(NativeDecode, JpegColourSpacesAndSubsampling) {
  using fg::test::JpegOptions;
  for (const auto& [w, h] : {std::pair{37, 53}, std::pair{64, 48}, std::pair{1, 1}}) {
    const std::string size = std::to_string(w) + "x" + std::to_string(h);
    expect_as_opencv("ycc420-" + size + ".jpg", jpeg(w, h, {}));
    expect_as_opencv("ycc422-" + size + ".jpg", jpeg(w, h, {3, JCS_YCbCr, 2, 1}));
    expect_as_opencv("ycc444-" + size + ".jpg", jpeg(w, h, {3, JCS_YCbCr, 1, 1}));
    expect_as_opencv("ycc440-" + size + ".jpg", jpeg(w, h, {3, JCS_YCbCr, 1, 2}));
    expect_as_opencv("progressive-" + size + ".jpg", jpeg(w, h, {3, JCS_YCbCr, 2, 2, true}));
    expect_as_opencv("rgb-" + size + ".jpg", jpeg(w, h, {3, JCS_RGB, 1, 1}));
    expect_as_opencv("gray-" + size + ".jpg", jpeg(w, h, {1, JCS_GRAYSCALE, 1, 1}));
    expect_as_opencv("gray-progressive-" + size + ".jpg", jpeg(w, h, {1, JCS_GRAYSCALE, 1, 1, true}));
    expect_as_opencv("cmyk-" + size + ".jpg", jpeg(w, h, {4, JCS_CMYK, 1, 1}));
    expect_as_opencv("ycck-" + size + ".jpg", jpeg(w, h, {4, JCS_YCCK, 2, 2}));
    expect_as_opencv("low-quality-" + size + ".jpg", jpeg(w, h, {3, JCS_YCbCr, 2, 2, false, 5}));
  }
}

TEST(NativeDecode, JpegCutShortGivesOpenCvsRows) {
  const std::string full = jpeg(64, 160, {});
  for (size_t cut : {full.size() - 2, full.size() * 3 / 4, full.size() / 2}) {
    const std::string bytes = full.substr(0, cut);
    std::string why;
    EXPECT_FALSE(read_image(write("cut.jpg", bytes), why).empty()) << cut << ": " << why;
    expect_as_opencv("cut" + std::to_string(cut) + ".jpg", bytes);
  }
  // Cut in the headers, and in a progressive file (its scans are needed before any row): both fail.
  expect_as_opencv("cut-header.jpg", full.substr(0, 300));
  const std::string progressive = jpeg(64, 160, {3, JCS_YCbCr, 2, 2, true});
  expect_as_opencv("cut-progressive.jpg", progressive.substr(0, progressive.size() - 2));
  // Cut right after the scan header: OpenCV hands back uninitialised rows; we refuse.
  const size_t sos = full.find("\xff\xda"s);
  ASSERT_NE(sos, std::string::npos);
  std::string why;
  EXPECT_TRUE(read_image(write("no-rows.jpg", full.substr(0, sos + 20)), why).empty());
  EXPECT_EQ(why, "cannot decode: corrupt or unsupported JPEG data (no row could be decoded (data cut short?))");
}

TEST(NativeDecode, JpegDamageIsReportedWithTheImage) {
  const std::string full = jpeg(64, 160, {});
  std::string why, damaged;
  EXPECT_FALSE(read_image(write("whole.jpg", full), why, &damaged).empty()) << why;
  EXPECT_EQ(damaged, "");
  const std::string cut = full.substr(0, full.size() / 2);
  EXPECT_FALSE(read_image(write("half.jpg", cut), why, &damaged).empty()) << why;
  EXPECT_EQ(damaged.rfind("JPEG data ends at row ", 0), 0u) << damaged;
  expect_as_opencv("half.jpg", cut);
  // Cut, then closed with an end-of-image marker: libjpeg fills the rest and warns.
  damaged.clear();
  const std::string closed = cut + "\xff\xd9"s;
  EXPECT_FALSE(read_image(write("closed.jpg", closed), why, &damaged).empty()) << why;
  EXPECT_EQ(damaged.rfind("corrupt JPEG data, decoded as libjpeg could (", 0), 0u) << damaged;
  expect_as_opencv("closed.jpg", closed);
}

// A JPEG with an APP1 segment made of `prefix` + `tiff` right after SOI (after `before`).
std::string with_app1(const std::string& jpg, const std::string& tiff, const std::string& prefix = "Exif\0\0"s,
                      const std::string& before = "") {
  auto segment = [](const std::string& d) { return "\xff\xe1"s + be16(uint32_t(d.size() + 2)) + d; };
  return jpg.substr(0, 2) + before + segment(prefix + tiff) + jpg.substr(2);
}

// A TIFF header and IFD0 with the given 12-byte entries (little-endian unless `big`).
std::string tiff(const std::vector<std::string>& entries, bool big = false) {
  std::string t =
      big ? "MM\0*"s + be32(8) + be16(uint32_t(entries.size())) : "II*\0"s + le32(8) + le16(uint32_t(entries.size()));
  for (const auto& e : entries) t += e;
  return t + std::string(4, '\0');
}
std::string short_entry(uint32_t tag, uint32_t value, bool big = false) {
  return big ? be16(tag) + be16(3) + be32(1) + be16(value) + be16(0) : le16(tag) + le16(3) + le32(1) + le32(value);
}

TEST(NativeDecode, ExifOrientationsTurnAsOpenCvTurns) {
  const std::string jpg = jpeg(40, 24, {});
  for (uint32_t o = 0; o <= 9; ++o) {
    expect_as_opencv("exif" + std::to_string(o) + ".jpg", with_app1(jpg, tiff({short_entry(0x112, o)})));
    expect_as_opencv("exif-mm" + std::to_string(o) + ".jpg", with_app1(jpg, tiff({short_entry(0x112, o, true)}, true)));
  }
  const std::string six = tiff({short_entry(0x112, 6)});
  // OpenCV's quirks, kept: only the first APP1 counts; its 6-byte prefix is not checked; an
  // entry it cannot parse (a string running past the block) ends the walk before Orientation.
  expect_as_opencv("exif-after-xmp.jpg", with_app1(jpg, six, "Exif\0\0"s, "\xff\xe1\x00\x08xmp\0\0\0"s));
  expect_as_opencv("exif-odd-prefix.jpg", with_app1(jpg, six, "XXXXXX"));
  expect_as_opencv("exif-bad-make.jpg",
                   with_app1(jpg, tiff({le16(0x10f) + le16(2) + le32(4000) + le32(30), short_entry(0x112, 6)})));
  expect_as_opencv("exif-good-make.jpg",
                   with_app1(jpg, tiff({le16(0x10f) + le16(2) + le32(3) + le32(0), short_entry(0x112, 6)})));
  expect_as_opencv("exif-bad-resolution.jpg",
                   with_app1(jpg, tiff({le16(0x11a) + le16(5) + le32(1) + le32(9999), short_entry(0x112, 8)})));
  expect_as_opencv("exif-two-orientations.jpg", with_app1(jpg, tiff({short_entry(0x112, 3), short_entry(0x112, 6)})));
  expect_as_opencv("exif-cut-ifd.jpg", with_app1(jpg, six.substr(0, 19)));
  expect_as_opencv("exif-no-tiff.jpg", with_app1(jpg, "", "Exif\0\0"s));
  expect_as_opencv("exif-gray.jpg", with_app1(jpeg(40, 24, {1, JCS_GRAYSCALE, 1, 1}), six));
  expect_as_opencv("exif-cmyk.jpg", with_app1(jpeg(40, 24, {4, JCS_CMYK, 1, 1}), tiff({short_entry(0x112, 7)})));
}

fg::test::PngOptions png_options(int colour_type, int bit_depth, bool interlaced) {
  fg::test::PngOptions o;
  o.colour_type = colour_type;
  o.bit_depth = bit_depth;
  o.interlaced = interlaced;
  return o;
}

// One PNG of `width` x `height` random rows of the given type.
std::string png(int width, int height, fg::test::PngOptions o, uint32_t seed = 3) {
  const int channels = o.colour_type == PNG_COLOR_TYPE_RGB         ? 3
                       : o.colour_type == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
                       : o.colour_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                                                                    : 1;
  const size_t row_bytes = (size_t(width) * size_t(channels) * size_t(o.bit_depth) + 7) / 8;
  std::vector<std::vector<uint8_t>> rows;
  for (int y = 0; y < height; ++y) rows.push_back(pattern(row_bytes, seed + uint32_t(y)));
  if (o.colour_type == PNG_COLOR_TYPE_PALETTE) {
    const auto colours = pattern(size_t(3) << o.bit_depth, seed + 99);
    for (size_t i = 0; i < colours.size() / 3; ++i)
      o.palette.push_back({colours[3 * i], colours[3 * i + 1], colours[3 * i + 2]});
  }
  return fg::test::encode_png(rows, width, o);
}

TEST(NativeDecode, PngEveryColourTypeAndDepth) {
  using Opt = fg::test::PngOptions;
  for (bool adam7 : {false, true}) {
    const std::string i = adam7 ? "-interlaced" : "";
    for (int depth : {1, 2, 4, 8, 16}) {
      expect_as_opencv("gray" + std::to_string(depth) + i + ".png",
                       png(37, 23, png_options(PNG_COLOR_TYPE_GRAY, depth, adam7)));
    }
    for (int depth : {1, 2, 4, 8}) {
      expect_as_opencv("palette" + std::to_string(depth) + i + ".png",
                       png(37, 23, png_options(PNG_COLOR_TYPE_PALETTE, depth, adam7)));
      Opt trns = png_options(PNG_COLOR_TYPE_PALETTE, depth, adam7);
      trns.palette_alpha = pattern(size_t(1) << (depth - 1), 7);  // alpha for the first half of the entries
      expect_as_opencv("palette-trns" + std::to_string(depth) + i + ".png", png(37, 23, trns));
    }
    for (int depth : {8, 16}) {
      const std::string d = std::to_string(depth) + i;
      expect_as_opencv("gray-alpha" + d + ".png", png(37, 23, png_options(PNG_COLOR_TYPE_GRAY_ALPHA, depth, adam7)));
      expect_as_opencv("rgb" + d + ".png", png(37, 23, png_options(PNG_COLOR_TYPE_RGB, depth, adam7)));
      expect_as_opencv("rgba" + d + ".png", png(37, 23, png_options(PNG_COLOR_TYPE_RGB_ALPHA, depth, adam7)));
      Opt gray_key = png_options(PNG_COLOR_TYPE_GRAY, depth, adam7);
      gray_key.transparent_colour = true;
      expect_as_opencv("gray-trns" + d + ".png", png(37, 23, gray_key));
      Opt rgb_key = png_options(PNG_COLOR_TYPE_RGB, depth, adam7);
      rgb_key.transparent_colour = true;
      expect_as_opencv("rgb-trns" + d + ".png", png(37, 23, rgb_key));
    }
  }
  expect_as_opencv("one-pixel.png", png(1, 1, png_options(PNG_COLOR_TYPE_RGB, 8, true)));
}

TEST(NativeDecode, PngExifAndDamage) {
  const std::string p = png(40, 24, png_options(PNG_COLOR_TYPE_RGB, 8, false));
  const size_t after_ihdr = 8 + 25, iend = p.size() - 12;
  // eXIf before the image data, after it, and both (the first wins, as in OpenCV).
  expect_as_opencv("exif-before.png", p.substr(0, after_ihdr) + png_chunk("eXIf", tiff({short_entry(0x112, 6)})) +
                                          p.substr(after_ihdr));
  expect_as_opencv("exif-after.png",
                   p.substr(0, iend) + png_chunk("eXIf", tiff({short_entry(0x112, 3)})) + p.substr(iend));
  expect_as_opencv("exif-both.png", p.substr(0, after_ihdr) + png_chunk("eXIf", tiff({short_entry(0x112, 5)})) +
                                        p.substr(after_ihdr, iend - after_ihdr) +
                                        png_chunk("eXIf", tiff({short_entry(0x112, 7)})) + p.substr(iend));
  expect_as_opencv("exif-bad-order.png",
                   p.substr(0, after_ihdr) + png_chunk("eXIf", "XY" + tiff({short_entry(0x112, 6)}).substr(2)) +
                       p.substr(after_ihdr));
  // Damage: no IEND, a CRC error in IDAT, trailing bytes after IEND, data cut in IDAT.
  expect_as_opencv("no-iend.png", p.substr(0, iend));
  std::string crc = p;
  crc[iend - 1] = char(crc[iend - 1] ^ 1);
  expect_as_opencv("bad-crc.png", crc);
  expect_as_opencv("trailing.png", p + "junk");
  expect_as_opencv("cut-idat.png", p.substr(0, p.size() / 2));
  std::string why;
  EXPECT_TRUE(read_image(write("cut.png", p.substr(0, p.size() / 2)), why).empty());
  EXPECT_EQ(why, "cannot decode: corrupt or unsupported PNG data (PNG input buffer is incomplete)");
}

}  // namespace
