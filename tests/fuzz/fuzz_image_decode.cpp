// The native JPEG and PNG decoders of read_image (libjpeg-turbo, libpng, our EXIF reader) on
// hostile bytes. The first input byte picks the target: the bytes as they are, or a valid
// small JPEG / PNG (made once, with the same libraries) with the rest of the input XORed over
// it, or spliced in as its EXIF block, so mutations reach the scans and the metadata quickly.
// Any error must come back as a `why`, never as a crash, a leak or an abort.
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "apps/image_size.h"
#include "apps/media/jpeg_decode.h"
#include "apps/media/png_decode.h"
#include "tests/apps/image_files.h"

namespace {

// Fewer pixels than read_image allows, so that one run stays well inside the time limit.
constexpr uint64_t kMaxFuzzPixels = 4'000'000;

const std::string& base_jpeg() {
  static const std::string bytes = [] {
    std::vector<uint8_t> samples(24 * 17 * 3);
    for (size_t i = 0; i < samples.size(); ++i) samples[i] = uint8_t(i * 37 + (i >> 5));
    fg::test::JpegOptions o;
    o.progressive = true;
    return fg::test::encode_jpeg(samples, 24, 17, o);
  }();
  return bytes;
}

const std::string& base_png() {
  static const std::string bytes = [] {
    std::vector<std::vector<uint8_t>> rows(13, std::vector<uint8_t>(19));
    for (size_t y = 0; y < rows.size(); ++y) {
      for (size_t x = 0; x < rows[y].size(); ++x) rows[y][x] = uint8_t(x * 13 + y * 7);
    }
    fg::test::PngOptions o;
    o.colour_type = PNG_COLOR_TYPE_PALETTE;
    o.bit_depth = 4;
    o.interlaced = true;
    for (int i = 0; i < 16; ++i) o.palette.push_back({uint8_t(i * 16), uint8_t(255 - i * 9), uint8_t(i * 5)});
    o.palette_alpha = {0, 128, 255};
    return fg::test::encode_png(rows, 19, o);
  }();
  return bytes;
}

std::string xor_over(std::string base, const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    if (i < base.size()) {
      base[i] = char(base[i] ^ data[i]);
    } else {
      base += char(data[i]);
    }
  }
  return base;
}

void decode(const std::string& bytes) {
  const auto size = fg::apps::image_size(bytes);
  if (!size || size->width == 0 || size->height == 0 || size->width > kMaxFuzzPixels / size->height) return;
  std::string why;
  const std::string format = size->format;
  if (format == "JPEG") fg::apps::media::decode_jpeg(bytes, why);
  if (format == "PNG") fg::apps::media::decode_png(bytes, why);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 4;
  ++data;
  --size;
  switch (mode) {
    case 0: decode(std::string(reinterpret_cast<const char*>(data), size)); break;
    case 1: decode(xor_over(base_jpeg(), data, size)); break;
    case 2: decode(xor_over(base_png(), data, size)); break;
    default: {  // an APP1 segment of the input after SOI
      const size_t n = size < 0xfff0 ? size : 0xfff0;
      const std::string jpg = base_jpeg();
      std::string app1 = "\xff\xe1";
      app1 += char((n + 2) >> 8);
      app1 += char((n + 2) & 0xff);
      app1.append(reinterpret_cast<const char*>(data), n);
      decode(jpg.substr(0, 2) + app1 + jpg.substr(2));
    }
  }
  return 0;
}
