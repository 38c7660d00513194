#include "tools/checkpoint/zip_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <limits>

#include "common/count.h"
#include "tools/checkpoint/limits.h"
#include "tools/checkpoint/torch_file.h"

namespace fg::ckpt {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflate = 8;

[[noreturn]] void fail(const std::string& what) { throw CheckpointError(what); }

bool fits(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

void need(uint64_t offset, uint64_t length, uint64_t size, const std::string& what) {
  if (!fits(offset, length, size)) {
    uint64_t end = offset + std::min(length, std::numeric_limits<uint64_t>::max() - offset);
    fail("truncated: " + what + " runs past end of file (got " + fg::count(size, "byte", "bytes") +
         ", expected at least " + std::to_string(end) + ")");
  }
}

uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return uint32_t(le16(p)) | uint32_t(le16(p + 2)) << 16; }
uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

// Replaces the 32-bit fields saturated at 0xffffffff with the ZIP64 extra field's values.
void apply_zip64_extra(ZipEntry& e, const uint8_t* extra, size_t length, bool has_size,
                       bool has_compressed, bool has_offset) {
  size_t pos = 0;
  while (pos + 4 <= length) {
    uint16_t id = le16(extra + pos);
    uint16_t field_size = le16(extra + pos + 2);
    pos += 4;
    if (field_size > length - pos) break;
    if (id == kZip64ExtraId) {
      size_t needed = 8 * (size_t(has_size) + has_compressed + has_offset);
      if (field_size < needed) break;
      const uint8_t* f = extra + pos;
      if (has_size) e.size = le64(f), f += 8;
      if (has_compressed) e.compressed_size = le64(f), f += 8;
      if (has_offset) e.local_header_offset = le64(f);
      return;
    }
    pos += field_size;
  }
  fail("zip entry '" + e.name + "' needs a ZIP64 extra field that is missing or too short");
}

uint32_t crc_of(Bytes b) { return uint32_t(crc32_z(crc32_z(0, nullptr, 0), b.data, b.size)); }

void inflate_entry(const ZipEntry& e, Bytes in, std::vector<uint8_t>& out) {
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail("zlib inflateInit2 failed");
  // One spare byte so a stream longer than declared is caught; the buffer grows as data
  // arrives rather than trusting the declared size up front.
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const uint64_t cap = e.size == kMax ? kMax : e.size + 1;
  out.resize(size_t(std::min<uint64_t>(cap, uint64_t(in.size) * 4 + 65536)));
  constexpr size_t kChunk = std::numeric_limits<uInt>::max();
  size_t in_pos = 0, out_pos = 0;
  int rc = Z_OK;
  while (true) {
    if (out_pos == out.size()) {
      if (out.size() >= cap) break;
      out.resize(size_t(std::min<uint64_t>(cap, uint64_t(out.size()) * 2)));
    }
    zs.next_in = const_cast<Bytef*>(in.data + in_pos);
    zs.avail_in = uInt(std::min(in.size - in_pos, kChunk));
    zs.next_out = out.data() + out_pos;
    zs.avail_out = uInt(std::min(out.size() - out_pos, kChunk));
    uInt avail_in = zs.avail_in, avail_out = zs.avail_out;
    rc = inflate(&zs, Z_NO_FLUSH);
    in_pos += avail_in - zs.avail_in;
    out_pos += avail_out - zs.avail_out;
    bool more_room_or_input = out_pos == out.size() || in_pos < in.size;
    if (rc == Z_OK || (rc == Z_BUF_ERROR && more_room_or_input)) continue;
    break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || out_pos != e.size) {
    fail("zip entry '" + e.name + "': deflate data is corrupt or does not match its size (" +
         fg::count(out_pos, "byte", "bytes") + " inflated, " + std::to_string(e.size) + " declared)");
  }
  out.resize(out_pos);
}

}  // namespace

MappedFile::MappedFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("not a regular file");
  }
  size_ = size_t(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) fail(std::string("cannot map file: ") + std::strerror(err));
    data_ = static_cast<const uint8_t*>(p);
  } else {
    ::close(fd);
  }
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

bool ZipReader::is_zip(Bytes file) { return file.size >= 4 && le32(file.data) == kLocalHeaderSig; }

ZipReader::ZipReader(Bytes file) : file_(file) {
  const uint8_t* d = file.data;
  const uint64_t size = file.size;

  // The end record sits in the last 22 + 65535 (max comment) bytes; the last match wins.
  if (size < kEndSize) fail("truncated: zip is only " + fg::count(size, "byte", "bytes"));
  uint64_t end_pos = size;
  uint64_t lowest = size - kEndSize > 65535 ? size - kEndSize - 65535 : 0;
  for (uint64_t p = size - kEndSize + 1; p-- > lowest;) {
    if (le32(d + p) == kEndSig && le16(d + p + 20) <= size - p - kEndSize) {
      end_pos = p;
      break;
    }
  }
  if (end_pos == size) {
    fail("truncated: zip end-of-central-directory record not found in the last " +
         std::to_string(size - lowest) + " bytes");
  }
  const uint8_t* end = d + end_pos;
  uint64_t count = le16(end + 10);
  uint64_t cd_size = le32(end + 12);
  uint64_t cd_offset = le32(end + 16);
  uint64_t cd_limit = end_pos;

  if (end_pos >= kZip64LocatorSize && le32(end - kZip64LocatorSize) == kZip64LocatorSig) {
    uint64_t z64_pos = le64(end - kZip64LocatorSize + 8);
    need(z64_pos, kZip64EndSize, end_pos - kZip64LocatorSize,
         "zip64 end-of-central-directory record");
    const uint8_t* z = d + z64_pos;
    if (le32(z) != kZip64EndSig) fail("zip64 end-of-central-directory record has a bad signature");
    count = le64(z + 32);
    cd_size = le64(z + 40);
    cd_offset = le64(z + 48);
    cd_limit = z64_pos;
  }
  need(cd_offset, cd_size, cd_limit, "zip central directory");
  if (count > cd_size / kCentralHeaderSize) {
    fail("zip central directory of " + fg::count(cd_size, "byte", "bytes") + " cannot hold " +
         fg::count(count, "entry", "entries"));
  }

  entries_.reserve(size_t(count));
  uint64_t pos = cd_offset, cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    need(pos, kCentralHeaderSize, cd_end, "zip central directory entry " + std::to_string(i));
    const uint8_t* h = d + pos;
    if (le32(h) != kCentralHeaderSig) {
      fail("zip central directory entry " + std::to_string(i) + " has a bad signature");
    }
    uint16_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
    need(pos + kCentralHeaderSize, uint64_t(name_len) + extra_len + comment_len, cd_end,
         "zip central directory entry " + std::to_string(i));
    ZipEntry e;
    e.flags = le16(h + 8);
    e.method = le16(h + 10);
    e.crc32 = le32(h + 16);
    e.compressed_size = le32(h + 20);
    e.size = le32(h + 24);
    e.local_header_offset = le32(h + 42);
    e.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
    constexpr uint32_t kSat = 0xffffffff;
    bool z_size = e.size == kSat, z_comp = e.compressed_size == kSat;
    bool z_off = e.local_header_offset == kSat;
    if (z_size || z_comp || z_off) {
      apply_zip64_extra(e, h + kCentralHeaderSize + name_len, extra_len, z_size, z_comp, z_off);
    }
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;

    size_t slash = e.name.find('/');
    if (slash != std::string::npos && slash + 1 < e.name.size()) {
      std::string rel = e.name.substr(slash + 1);
      if (!by_rel_name_.emplace(rel, entries_.size()).second) {
        fail("zip has two entries named '*/" + rel + "'");
      }
    }
    entries_.push_back(std::move(e));
  }
}

const ZipEntry* ZipReader::find(const std::string& rel) const {
  auto it = by_rel_name_.find(rel);
  return it == by_rel_name_.end() ? nullptr : &entries_[it->second];
}

Bytes ZipReader::read(const ZipEntry& e, std::vector<uint8_t>& buffer) const {
  const std::string what = "zip entry '" + e.name + "'";
  if (e.flags & kFlagEncrypted) fail(what + " is encrypted");
  if (e.method != kMethodStored && e.method != kMethodDeflate) {
    fail(what + " uses compression method " + std::to_string(e.method) +
         " (only stored and deflate are supported)");
  }
  need(e.local_header_offset, kLocalHeaderSize, file_.size, what + " local header");
  const uint8_t* h = file_.data + e.local_header_offset;
  if (le32(h) != kLocalHeaderSig) fail(what + " local header has a bad signature");
  // Sizes in the local header may be zero (data descriptor); the central directory's are used.
  uint64_t data_pos = e.local_header_offset + kLocalHeaderSize + le16(h + 26) + le16(h + 28);
  need(data_pos, e.compressed_size, file_.size, what);
  Bytes raw{file_.data + data_pos, size_t(e.compressed_size)};
  constexpr uint32_t kSat = 0xffffffff;
  constexpr uint16_t kFlagDataDescriptor = 0x0008;
  const uint32_t local_compressed = le32(h + 18), local_size = le32(h + 22);
  if (!(e.flags & kFlagDataDescriptor) && local_size != kSat && local_compressed != kSat &&
      (local_size | local_compressed) != 0 &&
      (local_size != e.size || local_compressed != e.compressed_size)) {
    fail(what + ": its local header says " + fg::count(local_size, "byte", "bytes") + " (" +
         std::to_string(local_compressed) + " compressed), the central directory " +
         std::to_string(e.size) + " (" + std::to_string(e.compressed_size) + ")");
  }
  if (e.size > kMaxZipEntryBytes) {
    fail(what + " is " + std::to_string(e.size) + " bytes uncompressed (limit " +
         std::to_string(kMaxZipEntryBytes) + ")");
  }
  // Entries that share bytes are how zip bombs multiply one deflate stream; torch never
  // writes them, and refusing them bounds what all reads together can inflate.
  const uint64_t start = e.local_header_offset, end = data_pos + e.compressed_size;
  auto next = read_ranges_.lower_bound(start);
  const bool again = next != read_ranges_.end() && next->first == start && next->second.entry == &e;
  const bool overlaps = (next != read_ranges_.end() && next->first < end) ||
                        (next != read_ranges_.begin() && std::prev(next)->second.end > start);
  if (overlaps && !again) fail(what + " overlaps the bytes of another entry (corrupt file or a zip bomb)");
  read_ranges_.emplace(start, ReadRange{end, &e});

  Bytes out = raw;
  if (e.method == kMethodStored) {
    if (e.compressed_size != e.size) {
      fail(what + " is stored but its sizes differ (" + std::to_string(e.compressed_size) + " vs " +
           std::to_string(e.size) + ")");
    }
  } else {
    if (e.size > e.compressed_size * kMaxDeflateRatio + 65536) {
      fail(what + " declares " + std::to_string(e.size) + " bytes from " +
           std::to_string(e.compressed_size) + " compressed, more than deflate can expand " +
           "(corrupt file or a zip bomb)");
    }
    inflate_entry(e, raw, buffer);
    out = {buffer.data(), buffer.size()};
  }
  if (crc_of(out) != e.crc32) fail(what + " fails its CRC-32 check (corrupt file)");
  return out;
}

}  // namespace fg::ckpt
