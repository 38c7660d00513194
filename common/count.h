// n and the noun that agrees with it, for the messages of every module: count(1, "image",
// "images") is "1 image", count(0, ...) "0 images". Header-only and dependency-free, so
// that index/, store/ and tools/ can use it as well as apps/ (which calls it cli::count).
#pragma once

#include <string>

namespace fg {

inline std::string count(long long n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace fg
