#include "index/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "index/error.h"

namespace fg::index::detail {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

uint32_t crc_update(uint32_t crc, const void* data, size_t n) {
  return static_cast<uint32_t>(crc32_z(crc, static_cast<const Bytef*>(data), n));
}

IndexError sys_error(const std::string& what, const std::string& path) {
  const int e = errno;
  return IndexError(what + " " + path + ": " + std::strerror(e), e);
}

// write(2) may write fewer bytes than asked, or be interrupted before writing any.
void write_all(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw sys_error("cannot write", path);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

FileSink::FileSink(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);  // holds face templates: owner-only
  if (fd_ < 0) throw sys_error("cannot create", path);
  buf_.reserve(kBufferBytes);
}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSink::write(const void* data, size_t n) {
  crc_ = crc_update(crc_, data, n);
  written_ += n;
  const char* p = static_cast<const char*>(data);
  if (buf_.size() + n > kBufferBytes) flush();
  if (n >= kBufferBytes) {
    write_all(fd_, p, n, path_);
    return;
  }
  buf_.insert(buf_.end(), p, p + n);
}

void FileSink::str(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  write(s.data(), s.size());
}

void FileSink::flush() {
  write_all(fd_, buf_.data(), buf_.size(), path_);
  buf_.clear();
}

void FileSink::finish() {
  flush();
  if (::fsync(fd_) != 0) throw sys_error("cannot fsync", path_);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw sys_error("cannot close", path_);
}

FileSource::FileSource(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw sys_error("cannot open", path);
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    ::close(fd_);
    throw sys_error("cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw IndexError(path + " is not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  buf_.resize(kBufferBytes);
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSource::read(void* data, size_t n) {
  if (n > remaining())
    throw IndexError(path_ + " is truncated: needs " + std::to_string(n) + (n == 1 ? " more byte" : " more bytes") +
                     " at offset " + std::to_string(consumed_) + ", the file has " + std::to_string(remaining()));
  char* out = static_cast<char*>(data);
  size_t left = n;
  while (left > 0) {
    if (buf_pos_ == buf_len_) {
      // Large reads bypass the buffer.
      char* dst = left >= buf_.size() ? out : buf_.data();
      size_t want = left >= buf_.size() ? left : buf_.size();
      ssize_t r = ::read(fd_, dst, want);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw sys_error("cannot read", path_);
      if (r == 0) throw IndexError(path_ + " shrank while being read");
      if (dst == out) {
        out += r;
        left -= static_cast<size_t>(r);
        continue;
      }
      buf_pos_ = 0;
      buf_len_ = static_cast<size_t>(r);
    }
    size_t take = std::min(left, buf_len_ - buf_pos_);
    std::memcpy(out, buf_.data() + buf_pos_, take);
    buf_pos_ += take;
    out += take;
    left -= take;
  }
  crc_ = crc_update(crc_, data, n);
  consumed_ += n;
}

std::string FileSource::str(uint32_t max_len) {
  uint32_t n = u32();
  if (n > max_len)
    throw IndexError(path_ + ": a string of " + std::to_string(n) + " bytes at offset " +
                     std::to_string(consumed_) + ", at most " + std::to_string(max_len) + " expected");
  std::string s(n, '\0');
  read(s.data(), n);
  return s;
}

}  // namespace fg::index::detail
