#include "apps/attend/annotate.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "apps/cli.h"
#include "apps/media/plugin_loader.h"

namespace fg::apps::attend {
namespace {

constexpr const char* kWindow = "facegate attend";
constexpr int kLabelFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kLabelScale = 0.5;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

cv::Point label_origin(const Box& box, cv::Size text, int baseline, cv::Size frame) {
  constexpr int kGap = 6;  // between the label's baseline and the box's top edge
  const int left = static_cast<int>(box[0]), top = static_cast<int>(box[1]);
  const int x = std::max(0, std::min(left, frame.width - text.width));
  const int above = top - kGap;
  const int y = above - text.height >= 0 ? above : std::max(top, 0) + kGap + text.height;
  return {x, std::min(y, frame.height - baseline)};
}

bool has_display() {
  const char* x = std::getenv("DISPLAY");
  const char* w = std::getenv("WAYLAND_DISPLAY");
  return (x && *x) || (w && *w);
}

Annotator::Annotator(bool display, std::string output, double fps)
    : output_(std::move(output)), fps_(fps > 0 ? fps : 10) {
  if (!display) return;
  if (!has_display()) {
    std::fprintf(stderr, "facegate attend: --display: no display here ($DISPLAY is not set); running headless\n");
    return;
  }
  try {
    media::Media& media = media::plugin("show the --display window");
    media.open_window(kWindow);
    window_ = &media;
  } catch (const cv::Exception& e) {
    std::fprintf(stderr, "facegate attend: --display: cannot open a window (%s); running headless\n", e.what());
  }
}

Annotator::~Annotator() {
  if (window_) window_->close_window(kWindow);
}

void Annotator::add(cv::Mat& frame, const std::vector<Mark>& marks, double fps) {
  for (const Mark& m : marks) {
    const cv::Scalar colour = m.state == Mark::State::known     ? cv::Scalar(0, 200, 0)
                              : m.state == Mark::State::unknown ? cv::Scalar(0, 0, 230)
                                                                : cv::Scalar(0, 200, 230);
    const cv::Point tl(static_cast<int>(m.box[0]), static_cast<int>(m.box[1]));
    const cv::Point br(static_cast<int>(m.box[2]), static_cast<int>(m.box[3]));
    cv::rectangle(frame, tl, br, colour, 2);
    int baseline = 0;
    const cv::Size size = cv::getTextSize(m.text, kLabelFont, kLabelScale, 1, &baseline);
    cv::putText(frame, m.text, label_origin(m.box, size, baseline, frame.size()), kLabelFont, kLabelScale, colour, 1,
                cv::LINE_AA);
  }
  if (recording()) write(frame);
  if (window_) {
    frame.copyTo(last_);
    char text[32];
    std::snprintf(text, sizeof text, "%.1f FPS", fps);
    show(frame, text);
  }
}

void Annotator::idle() {
  if (!window_) return;
  cv::Mat waiting = last_.empty() ? cv::Mat(480, 640, CV_8UC3, cv::Scalar(40, 40, 40)) : last_.clone();
  show(waiting, "waiting for the source");
}

void Annotator::show(cv::Mat& frame, const std::string& status) {
  cv::putText(frame, status, {8, 20}, cv::FONT_HERSHEY_SIMPLEX, 0.6, cv::Scalar(255, 255, 255), 2, cv::LINE_AA);
  const int key = window_->show(kWindow, frame);
  if (key == 27 || key == 'q') quit_ = true;
}

std::optional<uint64_t> Annotator::free_space(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path folder = fs::path(path).parent_path();
  const fs::space_info space = fs::space(folder.empty() ? fs::path(".") : folder, ec);
  if (ec) return std::nullopt;
  return space.available;
}

void Annotator::write(const cv::Mat& frame) {
  const std::optional<uint64_t> free = free_space(output_);
  if (free && *free < kOutputReserve) {
    writer_.reset();  // closes the file: its index and header written, it plays
    output_cut_ = true;
    std::fprintf(stderr,
                 "facegate attend: warning: --output %s: less than %llu MiB left on its disk; the annotated video "
                 "stops after %s (events are still recorded)\n",
                 output_.c_str(), static_cast<unsigned long long>(kOutputReserve >> 20),
                 cli::count(written_, "frame", "frames").c_str());
    return;
  }
  if (!writer_) {
    const char* fourcc = ends_with(output_, ".avi") ? "MJPG" : "mp4v";
    writer_ = media::plugin("write the --output video").open_video_writer(output_, fourcc, fps_, frame.size());
    if (!writer_) throw std::runtime_error("--output " + output_ + ": cannot write a video there");
  }
  writer_->write(frame);
  ++written_;
}

}  // namespace fg::apps::attend
