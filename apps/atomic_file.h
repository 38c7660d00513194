// Writes a whole file or nothing: a temporary beside the target, fsync, rename.
#pragma once

#include <string>

namespace fg::apps {

// Throws std::runtime_error naming `path` on failure; no file appears then.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace fg::apps
