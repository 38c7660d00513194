// For fuzz targets whose loader takes a path: the input is written to one in-memory file
// (memfd) per process, reachable as /proc/self/fd/N, so every run exercises the real open/mmap
// path without touching the disk.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace fg::fuzz {

inline const std::string& mem_file(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("fuzz-input", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ::ftruncate(fd, 0) != 0) std::abort();  // the harness, not the code under test
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pwrite(fd, data + done, size - done, off_t(done));
    if (n <= 0) std::abort();
    done += size_t(n);
  }
  return path;
}

}  // namespace fg::fuzz
