// SHA-256 of a file, as lowercase hex: the converter records it so a weights file can be
// traced to the exact checkpoint it came from.
#pragma once

#include <string>

namespace fg::convert {

// Throws std::runtime_error naming the file if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace fg::convert
