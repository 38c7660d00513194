#include "apps/cli.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <thread>

namespace fg::cli {

Args::Args(int argc, char** argv, const std::set<std::string>& valued, const std::set<std::string>& flags) {
  bool only_positionals = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (only_positionals || a == "-" || a.empty() || a[0] != '-') {
      positionals_.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      inline_value = true;
    }
    if (valued.count(a)) {
      if (!inline_value) {
        // "--db --model m.fgw" is a forgotten value, not a DB named "--model".
        if (i + 1 >= argc || valued.count(argv[i + 1]) || flags.count(argv[i + 1]))
          throw UsageError(a + " needs a value" + (i + 1 < argc ? ", got the option " + std::string(argv[i + 1]) : ""));
        value = argv[++i];
      }
      if (!values_.emplace(a, value).second)
        throw UsageError(a + " given twice ('" + values_[a] + "' and '" + value + "'), expected once");
    } else if (flags.count(a) && !inline_value) {
      flags_.insert(a);
    } else {
      throw UsageError("unknown option " + a);
    }
  }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

int Args::get_int(const std::string& name, int fallback, int lo, int hi) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != it->second.size() || it->second.empty() || v < lo || v > hi) {
    throw UsageError(name + ": got '" + it->second + "', expected an integer in " + std::to_string(lo) + ".." +
                     std::to_string(hi));
  }
  return static_cast<int>(v);
}

std::string lowercase_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

int default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace fg::cli
