#include "apps/image_size.h"

#include <cctype>
#include <cstring>

namespace fg::apps {
namespace {

using Bytes = const std::string&;

uint32_t be16(Bytes b, size_t p) { return uint32_t(uint8_t(b[p])) << 8 | uint8_t(b[p + 1]); }
uint32_t be32(Bytes b, size_t p) { return be16(b, p) << 16 | be16(b, p + 2); }
uint32_t le16(Bytes b, size_t p) { return uint32_t(uint8_t(b[p])) | uint32_t(uint8_t(b[p + 1])) << 8; }
uint32_t le24(Bytes b, size_t p) { return le16(b, p) | uint32_t(uint8_t(b[p + 2])) << 16; }
uint32_t le32(Bytes b, size_t p) { return le16(b, p) | le16(b, p + 2) << 16; }
bool starts(Bytes b, size_t p, const char* s) { return b.compare(p, std::strlen(s), s) == 0; }

std::optional<ImageSize> png(Bytes b) {
  if (b.size() < 24 || !starts(b, 12, "IHDR")) return std::nullopt;
  return ImageSize{be32(b, 16), be32(b, 20), "PNG"};
}

// Walks the marker segments up to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC).
std::optional<ImageSize> jpeg(Bytes b) {
  size_t p = 2;
  while (p + 4 <= b.size()) {
    if (uint8_t(b[p]) != 0xff) return std::nullopt;
    const uint8_t m = uint8_t(b[p + 1]);
    if (m == 0xff) {  // fill byte
      ++p;
      continue;
    }
    if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {  // no length
      p += 2;
      continue;
    }
    if (m == 0xda || m == 0xd9) return std::nullopt;  // scan data or end before any frame
    const size_t length = be16(b, p + 2);
    if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
      if (length < 7 || p + 9 > b.size()) return std::nullopt;
      return ImageSize{be16(b, p + 7), be16(b, p + 5), "JPEG"};
    }
    if (length < 2) return std::nullopt;
    p += 2 + length;
  }
  return std::nullopt;
}

std::optional<ImageSize> bmp(Bytes b) {
  if (b.size() < 26) return std::nullopt;
  const uint32_t header = le32(b, 14);
  if (header == 12) return ImageSize{le16(b, 18), le16(b, 20), "BMP"};
  const auto h = int32_t(le32(b, 22));  // negative: rows stored top-down
  return ImageSize{uint64_t(int32_t(le32(b, 18)) < 0 ? 0 : le32(b, 18)),
                   h < 0 ? uint64_t(-int64_t(h)) : uint64_t(h), "BMP"};
}

std::optional<ImageSize> webp(Bytes b) {
  if (b.size() < 30) return std::nullopt;
  if (starts(b, 12, "VP8 ")) return ImageSize{le16(b, 26) & 0x3fff, le16(b, 28) & 0x3fff, "WebP"};
  if (starts(b, 12, "VP8L")) {
    const uint32_t bits = le32(b, 21);
    return ImageSize{(bits & 0x3fff) + 1, (bits >> 14 & 0x3fff) + 1, "WebP"};
  }
  if (starts(b, 12, "VP8X")) return ImageSize{le24(b, 24) + uint64_t{1}, le24(b, 27) + uint64_t{1}, "WebP"};
  return std::nullopt;
}

// Classic TIFF: the first IFD's ImageWidth (256) and ImageLength (257).
std::optional<ImageSize> tiff(Bytes b) {
  const bool little = b[0] == 'I';
  auto u16 = [&](size_t p) { return little ? le16(b, p) : be16(b, p); };
  auto u32 = [&](size_t p) { return little ? le32(b, p) : be32(b, p); };
  const uint64_t ifd = u32(4);
  if (ifd + 2 > b.size()) return std::nullopt;
  const uint64_t n = u16(size_t(ifd));
  std::optional<uint64_t> width, height;
  for (uint64_t k = 0; k < n && ifd + 2 + 12 * (k + 1) <= b.size(); ++k) {
    const size_t e = size_t(ifd + 2 + 12 * k);
    const uint32_t tag = u16(e), type = u16(e + 2);
    const uint64_t value = type == 3 ? u16(e + 8) : type == 4 ? u32(e + 8) : UINT64_MAX;
    if (tag == 256) width = value;
    if (tag == 257) height = value;
  }
  if (!width || !height) return std::nullopt;
  return ImageSize{*width, *height, "TIFF"};
}

// P1..P6: whitespace-separated width and height after the magic, '#' comments allowed.
// P7 (PAM): WIDTH and HEIGHT header lines.
std::optional<ImageSize> pnm(Bytes b) {
  size_t p = 2;
  auto number = [&]() -> std::optional<uint64_t> {
    while (p < b.size() && (std::isspace(uint8_t(b[p])) || b[p] == '#')) {
      if (b[p] == '#') {
        while (p < b.size() && b[p] != '\n') ++p;
      } else {
        ++p;
      }
    }
    if (p >= b.size() || !std::isdigit(uint8_t(b[p]))) return std::nullopt;
    uint64_t v = 0;
    for (; p < b.size() && std::isdigit(uint8_t(b[p])); ++p) {
      if (v > (UINT64_MAX - 9) / 10) return std::nullopt;
      v = v * 10 + uint64_t(b[p] - '0');
    }
    return v;
  };
  if (b[1] != '7') {
    auto w = number();
    auto h = w ? number() : std::nullopt;
    if (!h) return std::nullopt;
    return ImageSize{*w, *h, "PNM"};
  }
  std::optional<uint64_t> width, height;
  while (p < b.size() && !(width && height)) {
    const size_t eol = b.find('\n', p);
    const std::string line = b.substr(p, eol == std::string::npos ? std::string::npos : eol - p);
    if (line.rfind("ENDHDR", 0) == 0) break;
    for (auto [key, out] : {std::pair{"WIDTH", &width}, std::pair{"HEIGHT", &height}}) {
      if (line.rfind(key, 0) == 0) {
        p += std::strlen(key);
        *out = number();
      }
    }
    if (eol == std::string::npos) break;
    p = eol + 1;
  }
  if (!width || !height) return std::nullopt;
  return ImageSize{*width, *height, "PNM"};
}

}  // namespace

std::optional<ImageSize> image_size(const std::string& b) {
  if (b.size() >= 8 && starts(b, 0, "\x89PNG\r\n\x1a\n")) return png(b);
  if (b.size() >= 3 && starts(b, 0, "\xff\xd8\xff")) return jpeg(b);
  if (b.size() >= 2 && starts(b, 0, "BM")) return bmp(b);
  if (b.size() >= 12 && starts(b, 0, "RIFF") && starts(b, 8, "WEBP")) return webp(b);
  if (b.size() >= 8 && (starts(b, 0, "II*") || starts(b, 0, "MM")) &&
      ((b[0] == 'I' && b[3] == 0) || (b[0] == 'M' && b[2] == 0 && b[3] == 42))) {
    return tiff(b);
  }
  if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' && std::isspace(uint8_t(b[2]))) return pnm(b);
  return std::nullopt;
}

}  // namespace fg::apps
