#include "apps/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace fg::apps {

Progress::Progress(std::string what, size_t total, Style style)
    : what_(std::move(what)), total_(total), tty_(style == Style::automatic && ::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void Progress::step(const std::string& note) { reach(done_ + 1, note); }

void Progress::reach(size_t done, const std::string& note) {
  done = std::min(std::max(done, done_), total_);
  if (done == done_ && last_percent_ >= 0) return;  // nothing new since the last report
  done_ = done;
  const int percent = total_ ? static_cast<int>(100 * done_ / total_) : 100;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = percent * kWidth / 100;
    std::fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu %3d%% %.0fs %-24.24s", what_.c_str(), filled,
                 "##############################", kWidth - filled, "", done_, total_, percent, secs, note.c_str());
  } else if (percent / 10 != last_percent_ / 10 || done_ == total_) {
    // Piped: a line per 10%, so a log shows progress without a line per item.
    if (done_ < total_ && done_ > 0)
      std::fprintf(stderr, "%s: %zu/%zu (%d%%) %.0fs, about %.0fs left\n", what_.c_str(), done_, total_, percent, secs,
                   secs * static_cast<double>(total_ - done_) / static_cast<double>(done_));
    else
      std::fprintf(stderr, "%s: %zu/%zu (%d%%) %.0fs\n", what_.c_str(), done_, total_, percent, secs);
  }
  last_percent_ = percent;
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_ && done_ > 0) std::fprintf(stderr, "\n");
}

}  // namespace fg::apps
