#include "apps/media/jpeg_decode.h"

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <string>
#include <vector>

#include <jpeglib.h>

#include "apps/media/exif_orientation.h"

namespace fg::apps::media {
namespace {

// libjpeg reports fatal errors through error_exit, which must not return: it longjmps back
// to the setjmp of the phase that called into libjpeg. Each phase below is a function that
// holds no C++ object with a destructor, so the jump skips nothing that needs unwinding.
struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  char first_warning[JMSG_LENGTH_MAX];
};

void on_fatal_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (corrupt data libjpeg works around) are counted by libjpeg and not printed; the
// first one (the only one libjpeg passes on at trace level 0) is kept for the caller.
void on_output_message(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->first_warning);
}

// A memory source that suspends (returns FALSE) at the end of the data instead of inventing
// an end-of-image marker, as OpenCV's does: that decides which rows a cut file yields.
void source_noop(j_decompress_ptr) {}
boolean source_fill(j_decompress_ptr) { return FALSE; }
void source_skip(j_decompress_ptr cinfo, long count) {
  jpeg_source_mgr* src = cinfo->src;
  if (count <= 0) return;
  const size_t n = size_t(count) < src->bytes_in_buffer ? size_t(count) : src->bytes_in_buffer;
  src->next_input_byte += n;
  src->bytes_in_buffer -= n;
}

struct Decoder {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  jpeg_source_mgr source{};
  bool created = false;
  ~Decoder() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// Phase 1: the headers, up to the first scan, with APP1 (EXIF) markers kept.
bool read_header(Decoder& d, const std::string& bytes) {
  d.cinfo.err = jpeg_std_error(&d.err.pub);
  d.err.pub.error_exit = on_fatal_error;
  d.err.pub.output_message = on_output_message;
  if (setjmp(d.err.jump)) return false;
  jpeg_create_decompress(&d.cinfo);
  d.created = true;
  d.source.init_source = source_noop;
  d.source.fill_input_buffer = source_fill;
  d.source.skip_input_data = source_skip;
  d.source.resync_to_restart = jpeg_resync_to_restart;
  d.source.term_source = source_noop;
  d.source.next_input_byte = reinterpret_cast<const JOCTET*>(bytes.data());
  d.source.bytes_in_buffer = bytes.size();
  d.cinfo.src = &d.source;
  jpeg_save_markers(&d.cinfo, JPEG_APP0 + 1, 0xffff);
  if (jpeg_read_header(&d.cinfo, TRUE) != JPEG_HEADER_OK) {
    std::snprintf(d.err.message, sizeof d.err.message, "no image: the headers are cut short, or tables only");
    return false;
  }
  return true;
}

// Phase 2: the pixels, into `out` (rows x cols BGR, allocated by the caller). `cmyk_row`
// holds one row of 4 channels for CMYK/YCCK files. Returns the number of rows decoded, or -1
// on a fatal error.
long read_pixels(Decoder& d, cv::Mat& out, unsigned char* cmyk_row) {
  j_decompress_ptr cinfo = &d.cinfo;
  volatile long rows = 0;
  if (setjmp(d.err.jump)) return -1;
  const bool cmyk = cinfo->num_components == 4;
  cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGR;
  if (!jpeg_start_decompress(cinfo)) {
    std::snprintf(d.err.message, sizeof d.err.message, "data ends before the last scan");
    return -1;
  }
  if (cinfo->output_width != unsigned(out.cols) || cinfo->output_height != unsigned(out.rows) ||
      cinfo->output_components != (cmyk ? 4 : 3)) {
    std::snprintf(d.err.message, sizeof d.err.message, "unexpected output layout");
    return -1;
  }
  while (cinfo->output_scanline < cinfo->output_height) {
    const long y = long(cinfo->output_scanline);
    JSAMPROW row = cmyk ? cmyk_row : out.ptr<JSAMPLE>(int(y));
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) break;  // suspended: the data ends here
    if (cmyk) {
      // OpenCV's CMYK conversion (libjpeg hands over Adobe's inverted CMYK).
      unsigned char* bgr = out.ptr<unsigned char>(int(y));
      for (int x = 0; x < out.cols; ++x, bgr += 3) {
        const int c = cmyk_row[4 * x], m = cmyk_row[4 * x + 1], ye = cmyk_row[4 * x + 2], k = cmyk_row[4 * x + 3];
        bgr[0] = (unsigned char)(k - ((255 - ye) * k >> 8));
        bgr[1] = (unsigned char)(k - ((255 - m) * k >> 8));
        bgr[2] = (unsigned char)(k - ((255 - c) * k >> 8));
      }
    }
    rows = y + 1;
  }
  return rows;
}

}  // namespace

cv::Mat decode_jpeg(const std::string& bytes, std::string& why, std::string* damaged) {
  Decoder d;
  if (!read_header(d, bytes)) {
    why = d.err.message;
    return {};
  }
  uint16_t orientation = 0;
  // OpenCV reads the first APP1 only, and skips its first 6 bytes ("Exif\0\0") unchecked.
  for (jpeg_saved_marker_ptr m = d.cinfo.marker_list; m; m = m->next) {
    if (m->marker != JPEG_APP0 + 1) continue;
    if (m->data_length > 6) orientation = exif_orientation(m->data + 6, m->data_length - 6);
    break;
  }
  cv::Mat img(int(d.cinfo.image_height), int(d.cinfo.image_width), CV_8UC3);
  std::vector<unsigned char> cmyk_row(d.cinfo.num_components == 4 ? size_t(d.cinfo.image_width) * 4 : 0);
  const long rows = read_pixels(d, img, cmyk_row.data());
  if (rows <= 0) {
    why = rows < 0 ? d.err.message : "no row could be decoded (data cut short?)";
    return {};
  }
  if (damaged) {
    if (rows < img.rows)
      *damaged = "JPEG data ends at row " + std::to_string(rows) + " of " + std::to_string(img.rows) +
                 " (the rows below repeat the last one)";
    else if (d.err.pub.num_warnings > 0)
      *damaged = std::string("corrupt JPEG data, decoded as libjpeg could (") + d.err.first_warning + ")";
  }
  for (int y = int(rows); y < img.rows; ++y) img.row(int(rows) - 1).copyTo(img.row(y));
  apply_exif_orientation(img, orientation);
  return img;
}

}  // namespace fg::apps::media
