#include "apps/image_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "apps/image_size.h"
#include "apps/media/jpeg_decode.h"
#include "apps/media/plugin_loader.h"
#include "apps/media/png_decode.h"
#include "apps/utf8.h"

namespace fg::apps {

cv::Mat read_image(const std::string& path, std::string& why, std::string* damaged) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    why = fs::exists(path, ec) ? "not a regular file" : "no such file";
    return {};
  }
  const uintmax_t file_bytes = fs::file_size(path, ec);
  if (ec) {
    why = "cannot read: " + ec.message();
    return {};
  }
  if (file_bytes > kMaxImageFileBytes) {
    why = "cannot decode: file of " + std::to_string(file_bytes) + " bytes is over the limit of " +
          std::to_string(kMaxImageFileBytes);
    return {};
  }
  // Decoded from these bytes, the ones sized, so the file cannot change in between.
  std::string bytes(size_t(file_bytes), '\0');
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::string("cannot read: ") + std::strerror(errno);
    return {};
  }
  if (file_bytes == 0) {
    why = "empty file";
    return {};
  }
  in.read(bytes.data(), std::streamsize(bytes.size()));
  bytes.resize(size_t(in.gcount()));
  const auto size = image_size(bytes);
  if (!size) {
    why = "cannot decode: not an image, or not one of JPEG, PNG, BMP, WebP, TIFF, PNM";
    return {};
  }
  const std::string format = size->format;
  if (size->width == 0 || size->height == 0) {
    why = "cannot decode: " + format + " header declares an empty image";
    return {};
  }
  if (size->width > kMaxImagePixels / size->height) {
    why = "cannot decode: " + format + " header declares " + std::to_string(size->width) + "x" +
          std::to_string(size->height) + " pixels, over the limit of " + std::to_string(kMaxImagePixels) +
          " (refused before decoding)";
    return {};
  }
  // JPEG and PNG natively; the other formats through OpenCV, in the media plugin.
  std::string detail;
  cv::Mat img;
  try {
    if (format == "JPEG") {
      img = media::decode_jpeg(bytes, detail, damaged);
    } else if (format == "PNG") {
      img = media::decode_png(bytes, detail);
    } else {
      img = media::plugin("decode " + format).decode(bytes);
    }
  } catch (const media::PluginError& e) {
    why = std::string("cannot decode: ") + e.what();
    return {};
  } catch (const cv::Exception& e) {
    why = std::string("cannot decode: ") + e.what();
    return {};
  }
  if (img.empty()) {
    why = "cannot decode: corrupt or unsupported " + format + " data" + (detail.empty() ? "" : " (" + detail + ")");
  }
  return img;
}

cv::Mat read_image_warning(const char* command, const std::string& path, std::string& why) {
  std::string damaged;
  cv::Mat img = read_image(path, why, &damaged);
  if (!img.empty() && !damaged.empty())
    std::fprintf(stderr, "facegate %s: %s: warning: %s\n", command, printable(path).c_str(), damaged.c_str());
  return img;
}

}  // namespace fg::apps
