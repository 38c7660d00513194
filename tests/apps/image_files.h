// Test images made byte by byte with libjpeg and libpng (not OpenCV), so that every variant
// the decoders must handle can be produced: gray/CMYK/YCCK JPEGs, chroma subsampling,
// progressive scans; PNGs of every colour type and bit depth, palettes with tRNS, Adam7.
#pragma once

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <png.h>

namespace fg::test {

struct JpegOptions {
  int components = 3;                // of the samples given: 1 gray, 3 RGB, 4 CMYK
  J_COLOR_SPACE stored = JCS_YCbCr;  // colour space in the file (JCS_GRAYSCALE, JCS_YCbCr, JCS_RGB, JCS_CMYK, JCS_YCCK)
  int h_sampling = 2, v_sampling = 2;  // of the first component
  bool progressive = false;
  int quality = 90;
};

struct JpegTestError {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

// `samples`: width * height * components bytes, row by row.
inline std::string encode_jpeg(const std::vector<uint8_t>& samples, int width, int height, const JpegOptions& o) {
  jpeg_compress_struct c{};
  JpegTestError err{};
  c.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = [](j_common_ptr cinfo) { std::longjmp(reinterpret_cast<JpegTestError*>(cinfo->err)->jump, 1); };
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&c);
    throw std::runtime_error("libjpeg failed to encode the test image");
  }
  jpeg_create_compress(&c);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &out, &size);
  c.image_width = JDIMENSION(width);
  c.image_height = JDIMENSION(height);
  c.input_components = o.components;
  c.in_color_space = o.components == 1 ? JCS_GRAYSCALE : o.components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_colorspace(&c, o.stored);
  jpeg_set_quality(&c, o.quality, TRUE);
  c.comp_info[0].h_samp_factor = o.h_sampling;
  c.comp_info[0].v_samp_factor = o.v_sampling;
  if (o.progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row =
        const_cast<JSAMPROW>(samples.data() + size_t(c.next_scanline) * size_t(width) * size_t(o.components));
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::string bytes(reinterpret_cast<const char*>(out), size);
  jpeg_destroy_compress(&c);
  std::free(out);
  return bytes;
}

struct PngOptions {
  int colour_type = PNG_COLOR_TYPE_RGB;
  int bit_depth = 8;
  bool interlaced = false;
  std::vector<png_color> palette;       // PNG_COLOR_TYPE_PALETTE
  std::vector<uint8_t> palette_alpha;   // tRNS of a palette
  bool transparent_colour = false;      // tRNS of gray / RGB: the colour of pixel (0, 0)
};

// `rows`: packed rows as PNG stores them (samples big-endian at 16 bits, sub-byte depths
// packed), height rows of the right length for the colour type and depth.
inline std::string encode_png(const std::vector<std::vector<uint8_t>>& rows, int width, const PngOptions& o) {
  std::string bytes;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("libpng failed to encode the test image");
  }
  png_set_write_fn(
      png, &bytes, [](png_structp p, png_bytep data, size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<const char*>(data), n);
      },
      nullptr);
  png_set_IHDR(png, info, png_uint_32(width), png_uint_32(rows.size()), o.bit_depth, o.colour_type,
               o.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!o.palette.empty()) png_set_PLTE(png, info, o.palette.data(), int(o.palette.size()));
  if (!o.palette_alpha.empty()) {
    png_set_tRNS(png, info, o.palette_alpha.data(), int(o.palette_alpha.size()), nullptr);
  }
  if (o.transparent_colour) {
    png_color_16 c{};
    const uint8_t* p = rows[0].data();
    const bool wide = o.bit_depth == 16;
    auto sample = [&](int i) {
      return wide ? png_uint_16(p[2 * i] << 8 | p[2 * i + 1]) : png_uint_16(p[i] >> (8 - o.bit_depth));
    };
    if (o.colour_type == PNG_COLOR_TYPE_GRAY) {
      c.gray = sample(0);
    } else {
      c.red = sample(0), c.green = sample(1), c.blue = sample(2);
    }
    png_set_tRNS(png, info, nullptr, 0, &c);
  }
  std::vector<png_bytep> pointers;
  for (const auto& r : rows) pointers.push_back(const_cast<png_bytep>(r.data()));
  png_set_rows(png, info, pointers.data());
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return bytes;
}

}  // namespace fg::test
