// What facegate needs of OpenCV's image and video IO (imgcodecs, videoio, highgui), behind
// one interface implemented by a plugin, libfacegate_media.so, loaded only when first
// needed (plugin_loader.h). Those libraries pull in about 250 others (GDAL, ffmpeg, Qt, ...)
// that the commands working on JPEG/PNG stills never use. Both sides share opencv_core, so
// cv::Mat and cv::Exception cross the boundary as they are; both are built from this header
// by the same build, and kEntryPoint carries its version.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace fg::apps::media {

// A camera, stream or video file being read (cv::VideoCapture).
class VideoSource {
 public:
  virtual ~VideoSource() = default;
  // The next frame; false when none could be read. May throw cv::Exception.
  virtual bool read(cv::Mat& frame) = 0;
  virtual double fps() const = 0;          // as the source declares it; 0 or junk when it does not
  virtual cv::Size frame_size() const = 0;
  virtual double position_ms() const = 0;  // timestamp of the last frame read (files)
  // The frames a file's header declares (exact for AVI; some containers estimate it from the
  // duration); 0 when unknown, as for cameras and streams.
  virtual int64_t frame_count() const = 0;
};

// A video file being written (cv::VideoWriter).
class VideoSink {
 public:
  virtual ~VideoSink() = default;
  virtual void write(const cv::Mat& frame) = 0;
};

class Media {
 public:
  virtual ~Media() = default;
  // cv::imdecode(bytes, IMREAD_COLOR): 8-bit BGR, EXIF orientation applied; empty when the
  // data does not decode. May throw cv::Exception.
  virtual cv::Mat decode(const std::string& bytes) = 0;
  // cv::imencode as ".jpg" at `quality` (0..100) or as ".png"; false when OpenCV cannot
  // encode the image.
  virtual bool encode_jpeg(const cv::Mat& image, int quality, std::vector<uint8_t>& out) = 0;
  virtual bool encode_png(const cv::Mat& image, std::vector<uint8_t>& out) = 0;
  // A camera by index (V4L2: /dev/video<index>), or a file / stream URL; nullptr when it cannot be opened. May throw
  // cv::Exception. A stream URL given `timeout_ms` > 0 fails to open, or stops reading,
  // after that long without data (FFmpeg's own default is 30 s).
  virtual std::unique_ptr<VideoSource> open_camera(int index) = 0;
  virtual std::unique_ptr<VideoSource> open_video(const std::string& source, int timeout_ms) = 0;
  // A video file written with the codec `fourcc` (4 characters, e.g. "MJPG"); nullptr when
  // it cannot be opened.
  virtual std::unique_ptr<VideoSink> open_video_writer(const std::string& path, const char* fourcc, double fps,
                                                       cv::Size size) = 0;
  // highgui's window: opening throws cv::Exception when no window can be made; show returns
  // the key pressed within 1 ms, or -1.
  virtual void open_window(const std::string& name) = 0;
  virtual int show(const std::string& name, const cv::Mat& frame) = 0;
  virtual void close_window(const std::string& name) = 0;
};

// The plugin exports this function (extern "C"); it returns a Media that lives as long as
// the process. The name changes whenever this interface does.
inline constexpr const char* kEntryPoint = "facegate_media_v3";
using EntryPoint = Media* (*)();

}  // namespace fg::apps::media
