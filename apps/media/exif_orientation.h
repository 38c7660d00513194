// The EXIF Orientation tag and turning an image upright by it, exactly as OpenCV 4.6's
// cv::imdecode(IMREAD_COLOR) does, so that natively decoded images match OpenCV's.
#pragma once

#include <cstddef>
#include <cstdint>

#include <opencv2/core.hpp>

namespace fg::apps::media {

// The Orientation (tag 0x112) of the first IFD of an EXIF block that starts at its TIFF
// header ("II*\0" / "MM\0*"); 0 when there is none. Read with OpenCV 4.6's rules, quirks
// included: IFD0 is walked in order and the walk stops at the first entry OpenCV cannot
// parse, so an Orientation after such an entry is not seen; the first Orientation wins.
uint16_t exif_orientation(const uint8_t* tiff, size_t size);

// Turns `img` upright for orientations 2..8 (mirrors and quarter turns); any other value
// leaves it as it is.
void apply_exif_orientation(cv::Mat& img, uint16_t orientation);

}  // namespace fg::apps::media
