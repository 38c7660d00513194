// The annotated video: boxes, names and scores drawn on each frame, shown in a window
// (--display, when there is a display; with the processing FPS) and/or written to a file
// (--output; without it, so that a file's annotated video does not depend on the machine).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "apps/attend/tracker.h"
#include "apps/media/media.h"

namespace fg::apps::attend {

struct Mark {
  enum class State { tentative, known, unknown };
  Box box{};
  State state = State::tentative;
  std::string text;  // name and score, "unknown", or "?" while undecided
};

class Annotator {
 public:
  // display: open a window if a display exists (else warn once and stay headless).
  // output: "" or a video path (.avi = MJPG, else mp4v) written at `fps` (0 = 10).
  Annotator(bool display, std::string output, double fps);
  ~Annotator();

  bool active() const { return window_ != nullptr || recording(); }
  // Draws on `frame` and shows/writes it; `fps`, the processing rate, is shown in the window
  // only. Throws std::runtime_error if the output file cannot
  // be opened (or the media plugin, which writes and shows it, cannot be loaded). Once the
  // output's disk has less than kOutputReserve free, the video is closed where it is (a
  // valid, shorter file) and no more frames are written: a warning says so.
  void add(cv::Mat& frame, const std::vector<Mark>& marks, double fps);
  // While no frame comes (a live source that is down or between frames): the window shows
  // the last frame again, marked as waiting, and still takes Esc and q.
  void idle();
  // The window was closed with Esc or q.
  bool quit() const { return quit_; }
  // The output video was stopped early for want of disk space; it holds frames_written().
  bool output_cut() const { return output_cut_; }
  int64_t frames_written() const { return written_; }

  // Left free on the output's disk: a video left to fill it would also stop the events (the
  // DB could not store them), and OpenCV's writers do not report a failed write.
  static constexpr uint64_t kOutputReserve = 64ull << 20;
  // Bytes available to us on the disk that holds `path` (a file to be written); nullopt when
  // the filesystem cannot tell.
  static std::optional<uint64_t> free_space(const std::string& path);

 private:
  media::Media* window_ = nullptr;  // the plugin showing the window; null when headless
  bool quit_ = false;
  std::string output_;
  double fps_;
  std::unique_ptr<media::VideoSink> writer_;
  bool output_cut_ = false;
  int64_t written_ = 0;

  cv::Mat last_;  // the last frame shown, before its status line (for idle)

  bool recording() const { return !output_.empty() && !output_cut_; }
  // Shows `frame` with `status` drawn in its top-left corner, and reads the keyboard.
  void show(cv::Mat& frame, const std::string& status);
  void write(const cv::Mat& frame);
};

// Where a label of `text` size (with `baseline` below it) goes for `box` in a frame of
// `frame` size: above the box, or just inside its top when there is no room above, and
// moved left or right so that it stays inside the frame.
cv::Point label_origin(const Box& box, cv::Size text, int baseline, cv::Size frame);

// Whether a window can be shown here ($DISPLAY or $WAYLAND_DISPLAY is set).
bool has_display();

}  // namespace fg::apps::attend
