#include "apps/media/exif_orientation.h"

#include <optional>

namespace fg::apps::media {
namespace {

enum : uint16_t {
  kOrientation = 0x112,
  kDescription = 0x10e, kMake = 0x10f, kModel = 0x110, kSoftware = 0x131, kDateTime = 0x132, kCopyright = 0x8298,
  kXResolution = 0x11a, kYResolution = 0x11b, kWhitePoint = 0x13e, kPrimaries = 0x13f, kYCbCrCoefficients = 0x211,
  kReferenceBlackWhite = 0x214,
};

// Bounds-checked reads; nullopt past the end, which ends the walk as OpenCV's exception does.
class TiffBytes {
 public:
  TiffBytes(const uint8_t* data, size_t size)
      // OpenCV reads little-endian only for "II"; anything else, even an invalid mark, as big.
      : data_(data), size_(size), little_(size > 1 && data[0] == 'I' && data[1] == 'I') {}

  std::optional<uint32_t> u16(uint64_t at) const {
    if (at + 1 >= size_) return std::nullopt;
    return little_ ? uint32_t(data_[at]) | uint32_t(data_[at + 1]) << 8 : uint32_t(data_[at]) << 8 | data_[at + 1];
  }
  std::optional<uint32_t> u32(uint64_t at) const {
    if (at + 3 >= size_) return std::nullopt;
    const uint32_t a = *u16(at), b = *u16(at + 2);
    return little_ ? a | b << 16 : a << 16 | b;
  }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  bool little_;
};

// Whether OpenCV's reader gets through the entry at `entry` (tag `tag`) without an error.
bool entry_parses(const TiffBytes& t, uint64_t entry, uint32_t tag) {
  // `count` unsigned rationals (two u32 each) at the offset stored in the entry.
  auto rationals = [&](int count) {
    const auto at = t.u32(entry + 8);
    if (!at) return false;
    for (int i = 0; i < count; ++i) {
      if (!t.u32(*at + 8 * uint64_t(i)) || !t.u32(*at + 8 * uint64_t(i) + 4)) return false;
    }
    return true;
  };
  switch (tag) {
    case kDescription: case kMake: case kModel: case kSoftware: case kDateTime: case kCopyright: {
      const auto count = t.u32(entry + 4);
      if (!count) return false;
      // OpenCV takes an inline string to start at byte 8 of the block, not of the entry.
      const auto at = *count > 4 ? t.u32(entry + 8) : std::optional<uint32_t>(8);
      return at && uint64_t(*at) + *count <= t.size();
    }
    case kXResolution: case kYResolution: return rationals(1);
    case kWhitePoint: return rationals(2);
    case kPrimaries: case kReferenceBlackWhite: return rationals(6);
    case kYCbCrCoefficients: return rationals(3);
    default: return true;  // the u16 tags (0x128, 0x213) are read where Orientation is
  }
}

}  // namespace

uint16_t exif_orientation(const uint8_t* tiff, size_t size) {
  const TiffBytes t(tiff, size);
  if (t.u16(2) != 0x2a) return 0;
  const auto ifd = t.u32(4);
  if (!ifd) return 0;
  const auto entries = t.u16(*ifd);
  if (!entries) return 0;
  for (uint64_t k = 0, entry = *ifd + uint64_t{2}; k < *entries; ++k, entry += 12) {
    const auto tag = t.u16(entry);
    if (!tag) return 0;
    if (*tag == kOrientation || *tag == 0x128 || *tag == 0x213) {
      const auto value = t.u16(entry + 8);
      if (!value) return 0;
      if (*tag == kOrientation) return uint16_t(*value);
      continue;
    }
    if (!entry_parses(t, entry, *tag)) return 0;
  }
  return 0;
}

void apply_exif_orientation(cv::Mat& img, uint16_t orientation) {
  if (orientation < 2 || orientation > 8) return;
  if (orientation >= 5) cv::transpose(img, img);
  switch (orientation) {
    case 2: case 6: cv::flip(img, img, 1); break;
    case 3: case 7: cv::flip(img, img, -1); break;
    case 4: case 8: cv::flip(img, img, 0); break;
    default: break;  // 5: the transpose alone
  }
}

}  // namespace fg::apps::media
