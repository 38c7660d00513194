// Frames from a camera, a stream or a video file, read on their own thread so that decoding
// never waits for recognition. A live source (camera index, URL) keeps only the newest frame:
// frames the processing has not taken when the next arrives are dropped and counted, so
// attendance never falls behind the door. A file gives every frame, in order.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <opencv2/core.hpp>

#include "apps/media/media.h"

namespace fg::apps::attend {

struct Frame {
  cv::Mat image;              // 8-bit BGR
  int64_t number = 0;         // position in the source, unreadable frames included
  double video_time_s = 0;    // the frame's own timestamp in a file; 0 for live sources
  int64_t time_us = 0;        // wall clock when it was read (unix micros)
};

struct CaptureStats {
  int64_t frames = 0;      // delivered to next()
  int64_t dropped = 0;     // live: overwritten before processing took them
  int64_t unreadable = 0;  // reads that failed between good frames (a corrupt frame)
  int64_t declared = 0;    // frames an AVI or MP4/MOV file's header declares (0: unknown, or live)
  int64_t read = 0;        // frames read from the source up to its end, unreadable ones included
  int64_t reopened = 0;    // live: times the source stopped and gave frames again (--reconnect)
  bool opened = false;     // the source was open at some point (not so for a camera never plugged in)
};

struct CaptureOptions {
  // A stream URL that sends nothing for this long has stopped (0: FFmpeg's default, 30 s).
  // Cameras and files have no such timeout.
  int stream_timeout_ms = 0;
  // A live source that stops, or cannot be opened at first, is opened again after waiting 1,
  // 2, 4, ... up to 30 seconds, until it is back or `stop` is set. Without it, it ends the
  // capture (or the constructor throws).
  bool reopen = false;
  // Told each outage and each recovery, from the reading thread.
  std::function<void(const std::string&)> notice;
};

// What SRC names: all digits = a camera index; containing "://" = a stream URL; else a file.
enum class SourceKind { camera, stream, file };
SourceKind source_kind(const std::string& source);

class Capture {
 public:
  // Throws std::runtime_error naming the source when it cannot be opened (unless a live
  // source with options.reopen), or the media plugin, which reads it, cannot be loaded.
  // Reading starts at once and stops when `stop` becomes true.
  Capture(const std::string& source, const std::atomic<bool>& stop, CaptureOptions options = {});
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  bool live() const { return kind_ != SourceKind::file; }
  double fps() const { return fps_; }  // 0 when the source does not say, or did not open at first
  cv::Size size() const { return size_; }  // 0x0 when the source did not open at first (reopen)

  // The next frame into `out`; none_yet when none came within `patience` (a live source
  // between frames, or down); ended once the source has ended (or stop was set) and nothing
  // is left.
  enum class Next { frame, none_yet, ended };
  Next next(Frame& out, std::chrono::milliseconds patience);
  // Why the live source stopped ("" for a file, or while it delivers: also once reopened).
  std::string error() const;
  CaptureStats stats() const;
  // An AVI or MP4/MOV file whose reading ended well before the frame count its header
  // declares: cut short or damaged (OpenCV reports both as the end of the file).
  bool ended_early() const;

 private:
  std::unique_ptr<media::VideoSource> open() const;
  void run();
  bool reopen(std::string why);
  void recovered();
  bool wait_unless_stopped(std::chrono::milliseconds how_long);
  void push(Frame frame);

  const std::atomic<bool>& stop_;
  std::string source_;
  CaptureOptions options_;
  SourceKind kind_;
  std::unique_ptr<media::VideoSource> cap_;
  double fps_ = 0;
  cv::Size size_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Frame> queue_;
  bool ended_ = false;
  std::string error_;
  std::string first_error_;  // why the first open failed (reopen: run() tries again)
  // Of the reading thread only.
  struct Outage {
    std::chrono::steady_clock::time_point since;
    std::chrono::seconds wait;  // before the next open
  };
  std::optional<Outage> outage_;
  bool had_frames_ = false;
  CaptureStats stats_;
  std::thread thread_;
};

}  // namespace fg::apps::attend
