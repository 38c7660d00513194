// Writes a whole file or nothing: a temporary beside the target, fsync, rename.
#pragma once

#include <string>

namespace fg::apps {

// Throws std::runtime_error naming `path` on failure; no file appears then. With owner_only
// the file is 0600 whatever the umask (for files that hold personal data).
void write_file_atomic(const std::string& path, const std::string& contents, bool owner_only = false);

// For an output a command writes at its end: throws std::runtime_error ("OPTION PATH: DIR is
// not a directory") when the folder `path` would go in does not exist, so that a long run
// does not end by failing to write it.
void check_output_folder(const std::string& option, const std::string& path);

}  // namespace fg::apps
