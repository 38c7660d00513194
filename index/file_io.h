// Buffered little-endian reads and writes with a running CRC-32, for the index file.
// Failures throw IndexError naming the path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fg::index::detail {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the index file stores hnswlib's memory as is");

class FileSink {
 public:
  explicit FileSink(const std::string& path);  // creates or truncates
  ~FileSink();
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  void write(const void* data, size_t n);
  void u32(uint32_t v) { write(&v, 4); }
  void u64(uint64_t v) { write(&v, 8); }
  void i32(int32_t v) { write(&v, 4); }
  void f64(double v) { write(&v, 8); }
  void str(std::string_view s);

  uint32_t crc() const { return crc_; }  // of everything written so far
  uint64_t written() const { return written_; }
  void finish();  // flushes, fsyncs and closes

 private:
  void flush();
  std::string path_;
  int fd_ = -1;
  std::vector<char> buf_;
  uint32_t crc_ = 0;
  uint64_t written_ = 0;
};

class FileSource {
 public:
  explicit FileSource(const std::string& path);
  ~FileSource();
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - consumed_; }
  const std::string& path() const { return path_; }

  void read(void* data, size_t n);  // throws "truncated" when fewer than n bytes are left
  uint32_t u32() { return value<uint32_t>(); }
  uint64_t u64() { return value<uint64_t>(); }
  int32_t i32() { return value<int32_t>(); }
  double f64() { return value<double>(); }
  std::string str(uint32_t max_len);

  uint32_t crc() const { return crc_; }  // of everything read so far

 private:
  template <typename T>
  T value() {
    T v;
    read(&v, sizeof v);
    return v;
  }
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t consumed_ = 0;
  std::vector<char> buf_;
  size_t buf_pos_ = 0;
  size_t buf_len_ = 0;
  uint32_t crc_ = 0;
};

}  // namespace fg::index::detail
