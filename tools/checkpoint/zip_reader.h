// A small read-only ZIP reader for the archives torch.save writes: the central directory
// (with ZIP64 end records and extra fields), stored entries as views into the memory-mapped
// file, deflated entries inflated through zlib. CRCs are checked.
// Errors are CheckpointError without the file's path: the caller prefixes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace fg::ckpt {

// A byte range owned by someone else.
struct Bytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

// A whole file mapped read-only; an empty file maps to an empty range.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  Bytes bytes() const { return {data_, size_}; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct ZipEntry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;
  uint64_t local_header_offset = 0;
};

class ZipReader {
 public:
  // Parses the central directory of `file`, which must outlive the reader.
  explicit ZipReader(Bytes file);

  // True when `file` starts with a local file header ("PK\3\4").
  static bool is_zip(Bytes file);

  const std::vector<ZipEntry>& entries() const { return entries_; }

  // The entry named "<top folder>/<rel>" (torch names the top folder after the file and it
  // varies); nullptr when absent.
  const ZipEntry* find(const std::string& rel) const;

  // The entry's contents, CRC checked: a view into the file when stored, else inflated into
  // `buffer` (which then owns the bytes). Refuses entries over kMaxZipEntryBytes, sizes the
  // local header and central directory disagree on, a deflate ratio no real data has, and an
  // entry whose bytes overlap those of another entry read before (re-reading one is fine).
  Bytes read(const ZipEntry& entry, std::vector<uint8_t>& buffer) const;

 private:
  Bytes file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_rel_name_;
  struct ReadRange {
    uint64_t end;  // of the entry's data; the key is its local header's offset
    const ZipEntry* entry;
  };
  mutable std::map<uint64_t, ReadRange> read_ranges_;  // what read() was given so far
};

}  // namespace fg::ckpt
