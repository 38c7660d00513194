// The width and height an image file declares in its header, read without decoding, so that
// a decompression bomb (a small file declaring a huge image) is refused before OpenCV
// allocates the pixels. OpenCV 4.6's own cap (OPENCV_IO_MAX_IMAGE_PIXELS) is read once when
// the library loads, so the process cannot lower it for itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fg::apps {

struct ImageSize {
  uint64_t width = 0;
  uint64_t height = 0;
  const char* format = "";  // "JPEG", "PNG", "BMP", "WebP", "TIFF", "PNM"
};

// The declared size when `bytes` is a JPEG, PNG, BMP, WebP, TIFF or PNM/PAM file whose header
// can be read; nullopt for anything else (another format, or a header cut short).
std::optional<ImageSize> image_size(const std::string& bytes);

}  // namespace fg::apps
