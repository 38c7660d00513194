// Where tests find what lives outside the repository: the shared data folder, the Python
// reference interpreter, the facegate binary, and a scratch directory. Each lookup returns
// an empty string when the thing is absent, so a test can GTEST_SKIP() with the reason.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace fg::test {

// $FACEGATE_DATA, else <source>/../shared/data; "" when it does not exist.
// The build bakes in where things are (tests/CMakeLists.txt); the environment can override.
inline std::string setting(const char* env, const char* built_in) {
  const char* v = std::getenv(env);
  return v ? v : built_in;
}

// $CI set (and not "false"/"0"): what would be a skip elsewhere is a failure.
inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && *ci && std::string(ci) != "false" && std::string(ci) != "0";
}

inline std::string source_dir() { return setting("FACEGATE_SOURCE_DIR", FG_TEST_SOURCE_DIR); }

inline std::string data_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("FACEGATE_DATA")) return fs::is_directory(env) ? env : "";
  fs::path p = fs::path(source_dir()) / ".." / "shared" / "data";
  return fs::is_directory(p) ? fs::canonical(p).string() : "";
}

// The built facegate binary; "" when it does not exist.
inline std::string facegate_binary() {
  const std::string b = setting("FACEGATE_BINARY", FG_TEST_FACEGATE_BINARY);
  return std::filesystem::exists(b) ? b : "";
}

// $FACEGATE_PYTHON or /usr/bin/python3, if it can import torch and torchvision; else "".
inline std::string torch_python() {
  static const std::string found = [] {
    const char* env = std::getenv("FACEGATE_PYTHON");
    std::string py = env ? env : "/usr/bin/python3";
    std::string cmd = py + " -c 'import torch, torchvision' >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0 ? py : std::string();
  }();
  return found;
}

// The scratch directories this test process made, removed when it exits: every CTest run
// would otherwise leave its databases and converted weights in /tmp. They are kept, and
// listed on stderr, when a test failed or $FACEGATE_KEEP_SCRATCH is set, to be looked at.
class ScratchDirs {
 public:
  static ScratchDirs& instance() {
    static ScratchDirs dirs;
    return dirs;
  }
  void add(const std::string& dir) {
    std::lock_guard<std::mutex> lock(mutex_);
    dirs_.push_back(dir);
  }
  ~ScratchDirs() {
    if (::getpid() != owner_) return;  // a forked child that exits leaves its parent's alone
    const auto* unit = ::testing::UnitTest::GetInstance();
    const bool keep = std::getenv("FACEGATE_KEEP_SCRATCH") || (unit && unit->Failed());
    for (const std::string& dir : dirs_) {
      std::error_code ec;
      if (!keep) {
        std::filesystem::remove_all(dir, ec);
      } else if (std::filesystem::exists(dir, ec)) {
        std::fprintf(stderr, "scratch directory kept: %s\n", dir.c_str());
      }
    }
  }

 private:
  ScratchDirs() = default;
  const pid_t owner_ = ::getpid();
  std::mutex mutex_;
  std::vector<std::string> dirs_;
};

// A fresh, empty directory under the system temp dir, unique to this test process + name;
// removed when the process exits (see ScratchDirs).
inline std::string scratch_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / ("facegate-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  ScratchDirs::instance().add(p.string());
  return p.string();
}

// The random-weight ResNet-50 checkpoints + PyTorch references made by the CTest fixture
// (tests/e2e/make_fixture.sh); "" when it was not made.
inline std::string resnet_fixture() {
  const std::string d = setting("FACEGATE_RESNET_FIXTURE", FG_TEST_RESNET_FIXTURE);
  return std::filesystem::exists(d + "/variants.txt") ? d : "";
}

// Single-quotes `s` for /bin/sh.
inline std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a shell command, returns its exit status (not the raw wait status).
inline int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

}  // namespace fg::test
