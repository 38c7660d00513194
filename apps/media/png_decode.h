// PNG to 8-bit BGR with libpng, pixel for pixel what OpenCV 4.6's
// cv::imdecode(bytes, IMREAD_COLOR) gives (the same library, the same transformations).
#pragma once

#include <string>

#include <opencv2/core.hpp>

namespace fg::apps::media {

// Decodes a whole PNG held in memory: 16-bit samples keep their high byte, gray is spread to
// three channels, palettes are expanded, alpha (and tRNS) is dropped, not blended; turned
// upright by an eXIf chunk as OpenCV does. Any libpng error, a CRC error in a critical chunk
// or data cut short before IEND included, fails. On failure returns an empty Mat and sets
// `why` to libpng's message. Never longjmps across C++ frames or aborts; the caller bounds
// the size beforehand.
cv::Mat decode_png(const std::string& bytes, std::string& why);

}  // namespace fg::apps::media
