#include "apps/media/png_decode.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include <png.h>

#include "apps/media/exif_orientation.h"

namespace fg::apps::media {
namespace {

struct Source {
  const std::string& bytes;
  size_t pos = 0;
  char message[256] = "";
};

// libpng's error callback must not return: it longjmps back to the setjmp of the phase that
// called into libpng. Each phase below is a function that holds no C++ object with a
// destructor, so the jump skips nothing that needs unwinding.
void on_error(png_structp png, png_const_charp message) {
  auto* src = static_cast<Source*>(png_get_error_ptr(png));
  std::snprintf(src->message, sizeof src->message, "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

void read_bytes(png_structp png, png_bytep out, size_t n) {
  auto* src = static_cast<Source*>(png_get_io_ptr(png));
  if (src->bytes.size() - src->pos < n) png_error(png, "PNG input buffer is incomplete");
  std::memcpy(out, src->bytes.data() + src->pos, n);
  src->pos += n;
}

struct Decoder {
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_infop end_info = nullptr;
  ~Decoder() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, end_info ? &end_info : nullptr);
  }
};

// Phase 1: the chunks before the image data.
bool read_header(Decoder& d) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  png_read_info(d.png, d.info);
  return true;
}

// Phase 2: the pixels into `rows` (one pointer per row of a BGR image of the PNG's size),
// then the chunks after them. OpenCV's transformations for a 3-channel 8-bit result.
bool read_pixels(Decoder& d, unsigned char** rows, size_t row_bytes) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  const int colour = png_get_color_type(d.png, d.info);
  const int depth = png_get_bit_depth(d.png, d.info);
  if (depth == 16) png_set_strip_16(d.png);
  png_set_strip_alpha(d.png);
  if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(d.png);
  if ((colour & PNG_COLOR_MASK_COLOR) == 0 && depth < 8) png_set_expand_gray_1_2_4_to_8(d.png);
  if (colour & PNG_COLOR_MASK_COLOR) {
    png_set_bgr(d.png);
  } else {
    png_set_gray_to_rgb(d.png);
  }
  png_set_interlace_handling(d.png);
  png_read_update_info(d.png, d.info);
  if (png_get_rowbytes(d.png, d.info) != row_bytes) png_error(d.png, "unexpected row layout after the transformations");
  png_read_image(d.png, rows);
  png_read_end(d.png, d.end_info);
  return true;
}

// The eXIf chunk before the image data, else the one after it, as OpenCV looks for it.
uint16_t orientation(const Decoder& d) {
  png_uint_32 size = 0;
  png_bytep exif = nullptr;
  if (png_get_valid(d.png, d.info, PNG_INFO_eXIf)) {
    png_get_eXIf_1(d.png, d.info, &size, &exif);
  } else if (png_get_valid(d.png, d.end_info, PNG_INFO_eXIf)) {
    png_get_eXIf_1(d.png, d.end_info, &size, &exif);
  }
  return exif && size > 0 ? exif_orientation(exif, size) : 0;
}

}  // namespace

cv::Mat decode_png(const std::string& bytes, std::string& why) {
  Source src{bytes};
  Decoder d;
  d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
  if (d.png) d.info = png_create_info_struct(d.png);
  if (d.png && d.info) d.end_info = png_create_info_struct(d.png);
  if (!d.end_info) {
    why = "libpng could not allocate its state";
    return {};
  }
  png_set_read_fn(d.png, &src, read_bytes);
  if (!read_header(d)) {
    why = src.message;
    return {};
  }
  cv::Mat img(int(png_get_image_height(d.png, d.info)), int(png_get_image_width(d.png, d.info)), CV_8UC3);
  std::vector<unsigned char*> rows(size_t(img.rows));
  for (int y = 0; y < img.rows; ++y) rows[size_t(y)] = img.ptr<unsigned char>(y);
  if (!read_pixels(d, rows.data(), size_t(img.cols) * 3)) {
    why = src.message;
    return {};
  }
  apply_exif_orientation(img, orientation(d));
  return img;
}

}  // namespace fg::apps::media
