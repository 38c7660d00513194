// OpenCV's IO libraries (imgcodecs, videoio, highgui) are loaded only with the media plugin,
// and the plugin only when something needs it: this program links fg_app but not those
// libraries, and looks at its own /proc/self/maps. The tests run in this order in one
// process too (the plugin, once loaded, stays), and each alone under CTest.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "apps/image_io.h"
#include "tests/apps/image_files.h"
#include "tests/support/test_env.h"

namespace {

using fg::apps::read_image;

const char* const kOpenCvIo[] = {"libopencv_imgcodecs", "libopencv_videoio", "libopencv_highgui"};

std::string maps() { return fg::test::read_text("/proc/self/maps"); }

std::string write(const std::string& name, const std::string& bytes) {
  static const std::string dir = fg::test::scratch_dir("media-plugin");
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

std::string le16(uint32_t v) { return {char(v & 0xff), char(v >> 8 & 0xff)}; }
std::string le32(uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); }

// A 3x2 24-bit BMP; pixel (x, y) is B = 10x, G = 100y, R = 7.
std::string bmp() {
  std::string rows;
  for (int y = 1; y >= 0; --y) {  // bottom-up
    for (int x = 0; x < 3; ++x) rows += {char(10 * x), char(100 * y), char(7)};
    rows += std::string(3, '\0');  // rows are padded to 4 bytes
  }
  const std::string info = le32(40) + le32(3) + le32(2) + le16(1) + le16(24) + le32(0) + le32(uint32_t(rows.size())) +
                           le32(2835) + le32(2835) + le32(0) + le32(0);
  return "BM" + le32(uint32_t(14 + info.size() + rows.size())) + le32(0) + le32(14 + uint32_t(info.size())) + info +
         rows;
}

TEST(MediaPlugin, JpegAndPngLoadNoOpenCvIo) {
  const std::vector<uint8_t> samples(16 * 8 * 3, 128);
  std::string why;
  EXPECT_FALSE(read_image(write("a.jpg", fg::test::encode_jpeg(samples, 16, 8, {})), why).empty()) << why;
  const std::vector<std::vector<uint8_t>> rows(8, std::vector<uint8_t>(16 * 3, 77));
  EXPECT_FALSE(read_image(write("a.png", fg::test::encode_png(rows, 16, {})), why).empty()) << why;
  const std::string m = maps();
  for (const char* lib : kOpenCvIo) EXPECT_EQ(m.find(lib), std::string::npos) << lib << " is loaded";
  EXPECT_EQ(m.find("libfacegate_media"), std::string::npos) << "the media plugin is loaded";
}

TEST(MediaPlugin, MissingPluginIsAClearError) {
  if (maps().find("libfacegate_media") != std::string::npos) GTEST_SKIP() << "SKIPPED: the plugin is already loaded";
  const std::string missing = "/nonexistent/libfacegate_media.so";
  ::setenv("FACEGATE_MEDIA_PLUGIN", missing.c_str(), 1);
  std::string why;
  const cv::Mat img = read_image(write("missing.bmp", bmp()), why);
  ::unsetenv("FACEGATE_MEDIA_PLUGIN");
  EXPECT_TRUE(img.empty());
  EXPECT_EQ(why.rfind("cannot decode: the media plugin " + missing +
                          " (needed to decode BMP) did not load: " + missing + ": cannot open shared object file",
                      0),
            0u)
      << why;
}

TEST(MediaPlugin, OtherFormatsGoThroughThePlugin) {
  std::string why;
  const cv::Mat img = read_image(write("small.bmp", bmp()), why);
  ASSERT_EQ(img.size(), cv::Size(3, 2)) << why;
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) EXPECT_EQ(img.at<cv::Vec3b>(y, x), cv::Vec3b(uchar(10 * x), uchar(100 * y), 7));
  }
  const std::string m = maps();
  EXPECT_NE(m.find("libfacegate_media"), std::string::npos);
  EXPECT_NE(m.find("libopencv_imgcodecs"), std::string::npos);
}

TEST(MediaPlugin, FacegateLinksNoOpenCvIo) {
  const std::string bin = fg::test::facegate_binary();
  ASSERT_FALSE(bin.empty()) << "no facegate binary (FACEGATE_BINARY)";
  const std::string dir = fg::test::scratch_dir("media-plugin-ldd");
  ASSERT_EQ(fg::test::run("ldd " + fg::test::sh_quote(bin) + " > " + dir + "/ldd 2>&1"), 0);
  const std::string ldd = fg::test::read_text(dir + "/ldd");
  EXPECT_NE(ldd.find("libopencv_core"), std::string::npos) << ldd;
  for (const char* lib : kOpenCvIo) EXPECT_EQ(ldd.find(lib), std::string::npos) << bin << " needs " << lib;
}

// The install rule puts the plugin where the installed binary looks for it, and `facegate
// version` names that file rather than the build tree's.
TEST(MediaPlugin, InstalledBinaryFindsTheInstalledPlugin) {
  const std::string dir = fg::test::scratch_dir("media-plugin-install");
  const std::string prefix = dir + "/prefix";
  ASSERT_EQ(fg::test::run("cmake --install " + fg::test::sh_quote(FG_TEST_BUILD_DIR) + " --prefix " +
                          fg::test::sh_quote(prefix) + " > " + dir + "/install.log 2>&1"),
            0)
      << fg::test::read_text(dir + "/install.log");
  const std::string plugin = prefix + "/lib/facegate/libfacegate_media.so";
  ASSERT_EQ(fg::test::run("env -u FACEGATE_MEDIA_PLUGIN " + fg::test::sh_quote(prefix + "/bin/facegate") +
                          " version > " + dir + "/version 2>&1"),
            0);
  const std::string version = fg::test::read_text(dir + "/version");
  EXPECT_NE(version.find("media plugin: " + plugin + "\n"), std::string::npos) << version;
  std::filesystem::remove_all(dir);
}

}  // namespace
