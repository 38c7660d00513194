// JPEG to 8-bit BGR with libjpeg-turbo, pixel for pixel what OpenCV 4.6's
// cv::imdecode(bytes, IMREAD_COLOR) gives (the same library, driven the same way).
#pragma once

#include <string>

#include <opencv2/core.hpp>

namespace fg::apps::media {

// Decodes a whole JPEG held in memory, turned upright by its EXIF orientation. Gray and
// YCbCr/RGB files go through libjpeg's own colour conversion, CMYK/YCCK through OpenCV's
// formula. As in OpenCV, data cut short gives the rows decoded so far followed by copies of
// the last of them; when no row at all can be decoded (where OpenCV returns uninitialised
// rows), the image is refused. On failure returns an empty Mat and sets `why` (libjpeg's
// message, or what was missing). When the image decodes only in part (data cut short, or
// corrupt data libjpeg worked around), `damaged`, if given, says so. Never longjmps across
// C++ frames or aborts; the caller bounds the size beforehand.
cv::Mat decode_jpeg(const std::string& bytes, std::string& why, std::string* damaged = nullptr);

}  // namespace fg::apps::media
