#include "apps/image_io.h"

#include <filesystem>

#include <opencv2/imgcodecs.hpp>

namespace fg::apps {

cv::Mat read_image(const std::string& path, std::string& why) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    why = fs::exists(path, ec) ? "not a regular file" : "no such file";
    return {};
  }
  cv::Mat img;
  try {
    img = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    why = std::string("cannot decode: ") + e.what();
    return {};
  }
  if (img.empty()) why = "cannot decode: not an image, unsupported format or too large";
  return img;
}

}  // namespace fg::apps
