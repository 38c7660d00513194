// Running the facegate binary from an end-to-end test: to completion (its exit code and
// output), or in the background to be killed at a chosen point; and reading the complete
// lines a (possibly killed) process has written so far.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_env.h"

namespace fg::test {

struct Result {
  int code;
  std::string out, err;
};

// facegate `args`, its output in `dir`/stdout and `dir`/stderr; `prefix` runs it under
// another command (e.g. "env -u DISPLAY ").
inline Result run_facegate(const std::string& args, const std::string& dir, const std::string& prefix = "") {
  const int code = run(prefix + facegate_binary() + " " + args + " > " + dir + "/stdout 2> " + dir + "/stderr");
  return {code, read_text(dir + "/stdout"), read_text(dir + "/stderr")};
}

// Lines of `text` that start with `prefix` (complete lines only: a killed writer may leave half).
inline std::vector<std::string> lines_of(const std::string& text, const std::string& prefix = "") {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = text.substr(start, end - start);
    if (line.compare(0, prefix.size(), prefix) == 0) out.push_back(line);
  }
  return out;
}

// facegate in the background (no shell left between us and it: a signal reaches facegate).
// Killed with SIGKILL if still running when destroyed.
class Child {
 public:
  // Generous: a sanitizer build on a busy machine is 10x slower or worse.
  static constexpr std::chrono::seconds kPatience{600};

  // `prefix` runs facegate under another program (e.g. strace).
  Child(const std::string& args, const std::string& out, const std::string& err, const std::string& prefix = "") {
    const std::string cmd =
        "exec " + prefix + facegate_binary() + " " + args + " > " + sh_quote(out) + " 2> " + sh_quote(err);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Child() {
    if (running()) kill9();
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool running() {
    if (exited_) return false;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }
  // Polls `ready` until it holds (true) or the process ends or `patience` passes (false).
  bool wait_for(const std::function<bool()>& ready, std::chrono::microseconds poll = std::chrono::milliseconds(2),
                std::chrono::seconds patience = kPatience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ready()) return true;
      if (!running()) return ready();
      std::this_thread::sleep_for(poll);
    }
    return false;
  }
  // Sends `sig` unless the process has ended, and waits for it to end; its wait status.
  int signal_and_wait(int sig) {
    if (!exited_) {
      ::kill(pid_, sig);
      ::waitpid(pid_, &status_, 0);
      exited_ = true;
    }
    return status_;
  }
  // SIGKILL; true when it was the signal that ended the process (not its own exit).
  bool kill9() {
    const int status = signal_and_wait(SIGKILL);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
  pid_t pid() const { return pid_; }
  // The exit code once it has ended by itself; -1 otherwise.
  int exit_code() { return !running() && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
};

}  // namespace fg::test
