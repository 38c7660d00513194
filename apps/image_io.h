// Reading images from disk for the commands: one place that turns every way a file can fail
// to be an image into a short reason, so one bad file never stops a batch.
#pragma once

#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

namespace fg::apps {

// Images are refused, before any decoding, above these: 100 megapixels is above every
// camera's default resolution and keeps a decoded BGR image under 300 MB.
inline constexpr uint64_t kMaxImagePixels = 100'000'000;
inline constexpr uint64_t kMaxImageFileBytes = uint64_t{256} << 20;

// Decodes `path` as 8-bit BGR. On failure returns an empty Mat and sets `why` ("no such
// file", "not a regular file", "cannot decode: ..."). Only JPEG, PNG, BMP, WebP, TIFF and
// PNM/PAM files are decoded, and only when their header declares at most kMaxImagePixels.
// JPEG and PNG are decoded natively, exactly as cv::imdecode(IMREAD_COLOR) would; the other
// formats by OpenCV in the media plugin, and `why` names the plugin when it cannot be loaded.
// A JPEG that decodes only in part (cut short, or corrupt data worked around) is returned as
// OpenCV would return it, and `damaged`, if given, says what is wrong with it.
cv::Mat read_image(const std::string& path, std::string& why, std::string* damaged = nullptr);

// read_image for a command that goes on with a damaged image: says so on stderr as
// "facegate COMMAND: PATH: warning: ...".
cv::Mat read_image_warning(const char* command, const std::string& path, std::string& why);

}  // namespace fg::apps
