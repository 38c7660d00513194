#include "apps/attend/capture.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "apps/cli.h"
#include "apps/media/plugin_loader.h"

namespace fg::apps::attend {
namespace {

// A file's queue only needs to cover decoding jitter; more would just hold memory.
constexpr size_t kFileQueue = 4;
// What ends a source: for a file, failed reads in a row (a corrupt frame fails once and the
// next read goes on); a camera or stream gets about a second to come back.
constexpr int kFileMaxBadReads = 25;
constexpr auto kLiveGiveUp = std::chrono::seconds(1);
constexpr auto kLiveRetry = std::chrono::milliseconds(10);
constexpr auto kMaxReopenWait = std::chrono::seconds(30);

// Containers whose header holds the frame count (AVI's, MP4/QuickTime's sample table). For
// others (Matroska, WebM, MPEG-TS) FFmpeg estimates it from the duration, which an audio
// track longer than the video inflates: no "cut short" warning can rest on it.
bool exact_frame_count(const std::string& path) {
  const std::string ext = cli::lowercase_extension(path);
  return ext == ".avi" || ext == ".mp4" || ext == ".mov" || ext == ".m4v";
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SourceKind source_kind(const std::string& source) {
  if (!source.empty() && std::all_of(source.begin(), source.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return SourceKind::camera;
  return source.find("://") != std::string::npos ? SourceKind::stream : SourceKind::file;
}

Capture::Capture(const std::string& source, const std::atomic<bool>& stop, CaptureOptions options)
    : stop_(stop), source_(source), options_(std::move(options)), kind_(source_kind(source)) {
  if (!live() && source.find('%') == std::string::npos) {
    std::error_code ec;
    const auto status = std::filesystem::status(source, ec);
    if (status.type() == std::filesystem::file_type::not_found)
      throw std::runtime_error("cannot open source '" + source + "': no such file");
    if (status.type() == std::filesystem::file_type::directory)
      throw std::runtime_error("cannot open source '" + source + "': a directory, expected a video file");
    if (ec) throw std::runtime_error("cannot open source '" + source + "': " + ec.message());
    if (std::filesystem::file_size(source, ec) == 0 && !ec)
      throw std::runtime_error("cannot open source '" + source + "': empty file");
  }
  std::string failed;
  try {
    cap_ = open();
    // OpenCV's image-sequence reader "opens" any file named like an image, frameless.
    if (cap_ && !live() && cap_->frame_size().width <= 0) cap_.reset();
    if (!cap_)
      failed = kind_ == SourceKind::camera ? "no such camera, or it is busy"
               : live() ? "the stream cannot be reached or is not a video OpenCV can read"
                       : "not a video OpenCV can read (unreadable, damaged, or another format)";
  } catch (const cv::Exception& e) {
    failed = e.what();
  }
  if (!failed.empty()) {
    first_error_ = "cannot open source '" + source + "': " + failed;
    // A camera not up yet (the site's power came back, the door's box booted first) is
    // waited for like one that stops; size and fps then stay unknown.
    if (!live() || !options_.reopen) throw std::runtime_error(first_error_);
  } else {
    stats_.opened = true;
    fps_ = cap_->fps();
    if (!(fps_ > 0 && fps_ < 1000)) fps_ = 0;
    size_ = cap_->frame_size();
    if (!live() && exact_frame_count(source)) stats_.declared = cap_->frame_count();
  }
  thread_ = std::thread([this] { run(); });
}

std::unique_ptr<media::VideoSource> Capture::open() const {
  media::Media& media = media::plugin("read video");
  if (kind_ == SourceKind::camera) return media.open_camera(std::stoi(source_));
  return media.open_video(source_, live() ? options_.stream_timeout_ms : 0);
}

Capture::~Capture() {
  {
    std::lock_guard lock(mu_);
    ended_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Capture::run() {
  int64_t position = 0;
  int bad = 0;
  std::chrono::steady_clock::time_point failing_since;
  std::string why;
  bool open = cap_ || reopen(first_error_);
  while (open && !stop_) {
    {
      std::lock_guard lock(mu_);
      if (ended_) return;
    }
    Frame f;
    bool ok = false;
    try {
      ok = cap_->read(f.image) && !f.image.empty();
    } catch (const cv::Exception& e) {
      why = e.what();
    }
    if (!ok) {
      const auto now = std::chrono::steady_clock::now();
      if (bad++ == 0) failing_since = now;
      // Timed for a live source: one read may block for long (a camera's select timeout).
      const bool stopped = live() ? now - failing_since >= kLiveGiveUp : bad >= kFileMaxBadReads;
      if (!stopped) {
        if (live()) std::this_thread::sleep_for(kLiveRetry);
        continue;
      }
      if (!live()) break;
      const std::string what = "source '" + source_ + "' stopped delivering frames" + (why.empty() ? "" : ": " + why);
      {
        std::lock_guard lock(mu_);
        error_ = what;
      }
      if (!options_.reopen) break;
      // Closed before it is opened again: a camera keeps its device number and an IP camera
      // its session for as long as the old handle holds them.
      cap_.reset();
      open = reopen(what);
      position += bad;
      bad = 0;
      why.clear();
      continue;
    }
    if (outage_) recovered();
    had_frames_ = true;
    position += bad;
    {
      std::lock_guard lock(mu_);
      stats_.unreadable += bad;
    }
    bad = 0;
    f.number = position++;
    f.time_us = now_us();
    if (!live()) {
      const double ms = cap_->position_ms();
      const double s = ms > 0 || f.number == 0 || fps_ == 0 ? ms / 1000.0 : static_cast<double>(f.number) / fps_;
      // To the microsecond: OpenCV's position carries float noise (0.30000000000000004 s).
      f.video_time_s = std::round(s * 1e6) / 1e6;
    }
    push(std::move(f));
  }
  std::lock_guard lock(mu_);
  stats_.read = position;
  ended_ = true;
  cv_.notify_all();
}

// Live sources only: waits, then opens the source, until it opens (true) or the capture is
// stopped (false). The waits grow through an outage; one ends at the first frame
// (recovered), since a source may open and still give nothing.
bool Capture::reopen(std::string why) {
  if (!outage_) outage_ = Outage{std::chrono::steady_clock::now(), std::chrono::seconds(1)};
  for (;;) {
    if (options_.notice)
      options_.notice(why + "; opening it again in " + std::to_string(outage_->wait.count()) + " s");
    if (!wait_unless_stopped(outage_->wait)) return false;
    outage_->wait = std::min(outage_->wait * 2, kMaxReopenWait);
    try {
      cap_ = open();
      if (!cap_) why = "source '" + source_ + "' cannot be opened";
    } catch (const cv::Exception& e) {
      why = "source '" + source_ + "' cannot be opened: " + e.what();
    }
    if (cap_) {
      std::lock_guard lock(mu_);
      stats_.opened = true;
      return true;
    }
  }
}

void Capture::recovered() {
  const auto down = std::chrono::steady_clock::now() - outage_->since;
  const bool again = had_frames_;
  {
    std::lock_guard lock(mu_);
    if (again) ++stats_.reopened;
    error_.clear();
  }
  if (options_.notice)
    options_.notice("source '" + source_ + "' is " + (again ? "back" : "open") + " after " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(down).count()) + " s");
  outage_.reset();
}

// Sleeps in slices: the stop flag is set from a signal handler, which cannot notify.
bool Capture::wait_unless_stopped(std::chrono::milliseconds how_long) {
  std::unique_lock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + how_long;
  while (!ended_ && !stop_ && std::chrono::steady_clock::now() < until)
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  return !ended_ && !stop_;
}

void Capture::push(Frame frame) {
  std::unique_lock lock(mu_);
  if (live()) {
    stats_.dropped += static_cast<int64_t>(queue_.size());
    queue_.clear();
  } else {
    // Waits in slices, as wait_unless_stopped does.
    while (queue_.size() >= kFileQueue && !ended_ && !stop_) cv_.wait_for(lock, std::chrono::milliseconds(50));
    if (ended_ || stop_) return;
  }
  queue_.push_back(std::move(frame));
  cv_.notify_all();
}

Capture::Next Capture::next(Frame& out, std::chrono::milliseconds patience) {
  std::unique_lock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + patience;
  while (queue_.empty() && !ended_ && !stop_) {
    if (std::chrono::steady_clock::now() >= until) return Next::none_yet;
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  if (stop_ || queue_.empty()) return Next::ended;
  out = std::move(queue_.front());
  queue_.pop_front();
  ++stats_.frames;
  cv_.notify_all();
  return Next::frame;
}

std::string Capture::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

CaptureStats Capture::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

bool Capture::ended_early() const {
  std::lock_guard lock(mu_);
  // Slack of a frame or two (or a percent): what decodes may differ a little from the
  // header's count (an edit list, a last frame FFmpeg drops).
  return ended_ && !stop_ && stats_.declared > 0 && stats_.read < stats_.declared - 1 - stats_.declared / 100;
}

}  // namespace fg::apps::attend
