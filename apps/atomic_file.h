// Writes a whole file or nothing: a temporary beside the target, fsync, rename.
#pragma once

#include <string>

namespace fg::apps {

// Throws std::runtime_error naming `path` on failure; no file appears then. With owner_only
// the file is 0600 whatever the umask (for files that hold personal data).
void write_file_atomic(const std::string& path, const std::string& contents, bool owner_only = false);

// For an output a command writes at its end: throws std::runtime_error ("OPTION PATH: DIR is
// not a directory", "... cannot write in DIR: Read-only file system") when the folder `path`
// would go in does not exist or cannot be written, so that a long run (or a DB change) does
// not end by failing to write it.
void check_output_folder(const std::string& option, const std::string& path);

// A folder a command writes files into (--save-crops, --thumbnails): made if missing (with
// its parents), owner-only (0700) when it is new or empty and owner_only, and checked to be
// writable. Throws std::runtime_error naming OPTION and DIR with the system's reason.
void make_output_dir(const std::string& option, const std::string& dir, bool owner_only);

}  // namespace fg::apps
