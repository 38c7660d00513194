// Progress for long work: a bar redrawn in place on a terminal, a plain line every tenth of
// the work (with an estimate of the time left) when stderr is piped to a file or a log.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace fg::apps {

class Progress {
 public:
  enum class Style { automatic, lines };
  // automatic: a bar on a terminal, else lines. lines: always lines, for work whose other
  // output shares the terminal (a bar redrawn in place would be torn by it).
  Progress(std::string what, size_t total, Style style = Style::automatic);
  // Marks one more item done; `note` (e.g. the identity) is shown beside the bar.
  void step(const std::string& note = "");
  // Marks `done` items done in all (never fewer than before; more than total counts as total).
  void reach(size_t done, const std::string& note = "");
  // Ends the bar's line (a terminal) or prints the final count (piped).
  void finish();

 private:
  std::string what_;
  size_t total_, done_ = 0;
  bool tty_;
  int last_percent_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fg::apps
