// Command-line parsing shared by the subcommands: `--name value`, `--name=value`, flags and
// positionals, with errors that say which option was wrong.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/count.h"

namespace fg::cli {

// A usage error: main prints it with the command's usage line and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `valued` options take a value; `flags` do not. Anything else starting with '-' is an
  // error; a lone "-" and everything after "--" are positionals.
  Args(int argc, char** argv, const std::set<std::string>& valued, const std::set<std::string>& flags);

  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  // Integer in [lo, hi]; UsageError naming the option otherwise.
  int get_int(const std::string& name, int fallback, int lo, int hi) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positionals_;
};

// Threads to use by default: the machine's cores.
int default_threads();

// The extension of a file name given on the command line, lowercased (".JPG" -> ".jpg").
std::string lowercase_extension(const std::string& path);

// n and the noun that agrees with it: count(1, "image", "images") is "1 image" (common/count.h).
using fg::count;

}  // namespace fg::cli
