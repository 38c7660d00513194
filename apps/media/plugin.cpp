// libfacegate_media.so: media.h implemented with OpenCV's imgcodecs, videoio and highgui.
#include <cstdlib>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "apps/media/media.h"

namespace fg::apps::media {
namespace {

class CaptureSource final : public VideoSource {
 public:
  explicit CaptureSource(std::unique_ptr<cv::VideoCapture> cap) : cap_(std::move(cap)) {}
  bool read(cv::Mat& frame) override { return cap_->read(frame); }
  double fps() const override { return cap_->get(cv::CAP_PROP_FPS); }
  cv::Size frame_size() const override {
    return {int(cap_->get(cv::CAP_PROP_FRAME_WIDTH)), int(cap_->get(cv::CAP_PROP_FRAME_HEIGHT))};
  }
  double position_ms() const override { return cap_->get(cv::CAP_PROP_POS_MSEC); }
  int64_t frame_count() const override {
    const double n = cap_->get(cv::CAP_PROP_FRAME_COUNT);
    return n > 0 && n < 1e12 ? static_cast<int64_t>(n) : 0;
  }

 private:
  std::unique_ptr<cv::VideoCapture> cap_;
};

class WriterSink final : public VideoSink {
 public:
  explicit WriterSink(std::unique_ptr<cv::VideoWriter> writer) : writer_(std::move(writer)) {}
  void write(const cv::Mat& frame) override { writer_->write(frame); }

 private:
  std::unique_ptr<cv::VideoWriter> writer_;
};

std::unique_ptr<VideoSource> opened(std::unique_ptr<cv::VideoCapture> cap) {
  if (!cap->isOpened()) return nullptr;
  return std::make_unique<CaptureSource>(std::move(cap));
}

class OpenCvMedia final : public Media {
 public:
  cv::Mat decode(const std::string& bytes) override {
    return cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8U, const_cast<char*>(bytes.data())), cv::IMREAD_COLOR);
  }
  bool encode_jpeg(const cv::Mat& image, int quality, std::vector<uint8_t>& out) override {
    return cv::imencode(".jpg", image, out, {cv::IMWRITE_JPEG_QUALITY, quality});
  }
  bool encode_png(const cv::Mat& image, std::vector<uint8_t>& out) override { return cv::imencode(".png", image, out); }
  // V4L2 only (/dev/videoN: USB and built-in cameras): CAP_ANY would go on to probe gphoto2
  // and FireWire cameras, slow, and leaking in libgphoto2 and libusb at every attempt.
  std::unique_ptr<VideoSource> open_camera(int index) override {
    return opened(std::make_unique<cv::VideoCapture>(index, cv::CAP_V4L2));
  }
  std::unique_ptr<VideoSource> open_video(const std::string& source, int timeout_ms) override {
    if (timeout_ms <= 0) return opened(std::make_unique<cv::VideoCapture>(source, cv::CAP_ANY));
    // Only FFmpeg knows these properties; another backend given them would refuse to open.
    const std::vector<int> params = {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv::CAP_PROP_READ_TIMEOUT_MSEC,
                                     timeout_ms};
    return opened(std::make_unique<cv::VideoCapture>(source, cv::CAP_FFMPEG, params));
  }
  std::unique_ptr<VideoSink> open_video_writer(const std::string& path, const char* fourcc, double fps,
                                               cv::Size size) override {
    auto writer = std::make_unique<cv::VideoWriter>(
        path, cv::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3]), fps, size);
    if (!writer->isOpened()) return nullptr;
    return std::make_unique<WriterSink>(std::move(writer));
  }
  void open_window(const std::string& name) override { cv::namedWindow(name, cv::WINDOW_AUTOSIZE); }
  int show(const std::string& name, const cv::Mat& frame) override {
    cv::imshow(name, frame);
    return cv::waitKey(1);
  }
  void close_window(const std::string& name) override { cv::destroyWindow(name); }
};

}  // namespace
}  // namespace fg::apps::media

extern "C" __attribute__((visibility("default"))) fg::apps::media::Media* facegate_media_v3() {
  // facegate reports what failed in its own words; OpenCV's and FFmpeg's logs (GStreamer
  // warnings, "raised OpenCV exception", a line per damaged packet) would bury them. Set
  // before the first capture opens: FFmpeg's level is read then. A user's own setting wins.
  ::setenv("OPENCV_FFMPEG_LOGLEVEL", "-8", /*overwrite=*/0);  // AV_LOG_QUIET
  if (!::getenv("OPENCV_LOG_LEVEL")) cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  static fg::apps::media::OpenCvMedia media;
  return &media;
}
