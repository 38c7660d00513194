#include "weights/fgw.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "weights/crc32c.h"

namespace fg::weights {
namespace {

constexpr char kMagic[4] = {'F', 'G', 'W', '\0'};
constexpr uint32_t kDtypeF32 = 0;

enum MetaType : uint32_t { kString = 0, kInt = 1, kReal = 2, kFloats = 3 };

// Bounds-checked little-endian reader over the mapped bytes.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* p, uint64_t size) : path_(path), p_(p), size_(size) {}
  uint64_t pos() const { return pos_; }

  void need(uint64_t n, const char* what) const {
    if (n > size_ - pos_) {
      std::ostringstream m;
      m << path_ << ": truncated: " << what << " at byte " << pos_ << " needs " << n
        << " bytes, file has " << (size_ - pos_) << " left";
      throw WeightsError(m.str());
    }
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str(const char* what, uint64_t max_bytes) {
    const uint64_t at = pos_;
    uint32_t n = read<uint32_t>(what);
    if (n > max_bytes) {
      std::ostringstream m;
      m << path_ << ": " << what << " at byte " << at << " is " << n << " bytes long (limit " << max_bytes << ")";
      throw WeightsError(m.str());
    }
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  const std::string& path_;
  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// The v1 header's fields, then (v2) the checksum and a reserved zero.
constexpr uint64_t kFieldsBytes = 4 + 4 + 8 * 4;
constexpr uint64_t kChecksumBytes = 8;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw WeightsError(path + ": " + what);
}

// The CRC-32C register over the file's first `end` bytes but the checksum field. The bytes
// past the header are read with pread, not through the mapping: the packing that follows
// touches the mapping a layer at a time and drops it as it goes, which keeps the resident
// size down; reading it all here first would add the whole file to the peak.
uint32_t file_crc(const std::string& path, int fd, const uint8_t* header, uint64_t end) {
  uint32_t state = crc32c_update(~0u, header, kFieldsBytes);
  std::vector<unsigned char> buf(size_t{768} << 10);  // a multiple of the CRC's three streams
  for (uint64_t at = kFieldsBytes + kChecksumBytes; at < end;) {
    const ssize_t got = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), end - at), static_cast<off_t>(at));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail(path, std::string("cannot read: ") + (got < 0 ? std::strerror(errno) : "file shrank"));
    state = crc32c_update(state, buf.data(), static_cast<size_t>(got));
    at += static_cast<uint64_t>(got);
  }
  return state;
}

const char* type_name(const MetaValue& v) {
  switch (v.index()) {
    case 0: return "string";
    case 1: return "int";
    case 2: return "real";
    default: return "float array";
  }
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) { return ~crc32c_update(~0u, data, n); }

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

WeightsFile WeightsFile::open(const std::string& path) {
  WeightsFile f;
  f.path_ = path;
  // Open until the checksum is read through it: the very file that was mapped.
  struct Fd {
    int fd;
    ~Fd() {
      if (fd >= 0) ::close(fd);
    }
  } file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) fail(path, "not a regular file");
  f.map_size_ = static_cast<size_t>(st.st_size);
  if (f.map_size_ < 32) {
    fail(path, "truncated: file is " + std::to_string(f.map_size_) +
                   " bytes, a weights file header alone is 32");
  }
  f.map_ = ::mmap(nullptr, f.map_size_, PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (f.map_ == MAP_FAILED) {
    f.map_ = nullptr;
    fail(path, std::string("mmap failed: ") + std::strerror(errno));
  }
  const auto* base = static_cast<const uint8_t*>(f.map_);
  Cursor c(path, base, f.map_size_);

  char magic[4];
  for (char& ch : magic) ch = c.read<char>("magic");
  if (std::memcmp(magic, kMagic, 4) != 0) fail(path, "bad magic: not a facegate weights file (.fgw)");
  f.version_ = c.read<uint32_t>("version");
  if (f.version_ < kMinVersion || f.version_ > kVersion) {
    fail(path, "file is v" + std::to_string(f.version_) + ", this build reads v" +
                   std::to_string(kMinVersion) + "..v" + std::to_string(kVersion));
  }
  const uint64_t meta_count = c.read<uint64_t>("header");
  const uint64_t tensor_count = c.read<uint64_t>("header");
  const uint64_t data_offset = c.read<uint64_t>("header");
  const uint64_t data_size = c.read<uint64_t>("header");
  uint32_t stored_checksum = 0;
  if (f.version_ >= 2) {
    stored_checksum = c.read<uint32_t>("header");
    if (c.read<uint32_t>("header") != 0) fail(path, "corrupt header: its reserved field is not zero");
  }
  if (meta_count > kMaxMetaEntries) {
    fail(path, "header declares " + std::to_string(meta_count) + " metadata entries (limit " +
                   std::to_string(kMaxMetaEntries) + ")");
  }
  if (tensor_count > kMaxTensors) {
    fail(path, "header declares " + std::to_string(tensor_count) + " tensors (limit " +
                   std::to_string(kMaxTensors) + ")");
  }
  if (data_offset % kAlign != 0) fail(path, "corrupt header: data offset not 64-byte aligned");
  if (data_offset > f.map_size_ || data_size > f.map_size_ - data_offset) {
    fail(path, "truncated: data section ends at byte " + std::to_string(data_offset + data_size) +
                   ", file has " + std::to_string(f.map_size_) + " bytes");
  }

  for (uint64_t i = 0; i < meta_count; ++i) {
    std::string key = c.str("metadata key", kMaxNameBytes);
    uint32_t type = c.read<uint32_t>("metadata type");
    MetaValue v;
    switch (type) {
      case kString: v = c.str("metadata value", kMaxMetaStringBytes); break;
      case kInt: v = c.read<int64_t>("metadata value"); break;
      case kReal: v = c.read<double>("metadata value"); break;
      case kFloats: {
        uint64_t n = c.read<uint64_t>("metadata value");
        if (n > kMaxMetaFloats) {
          fail(path, "metadata '" + key + "': " + std::to_string(n) + " floats (limit " +
                         std::to_string(kMaxMetaFloats) + ")");
        }
        c.need(n * sizeof(float), "metadata value");
        std::vector<float> a(n);
        for (auto& x : a) x = c.read<float>("metadata value");
        v = std::move(a);
        break;
      }
      default:
        fail(path, "metadata '" + key + "': got type " + std::to_string(type) + ", expected 0..3");
    }
    if (!f.meta_.emplace(key, std::move(v)).second) fail(path, "duplicate metadata key '" + key + "'");
  }

  f.tensors_.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    TensorView t;
    t.name = c.str("tensor name", kMaxNameBytes);
    uint32_t dtype = c.read<uint32_t>("tensor dtype");
    if (dtype != kDtypeF32) {
      fail(path, t.name + ": got dtype " + std::to_string(dtype) + ", expected 0 (float32)");
    }
    uint32_t ndim = c.read<uint32_t>("tensor rank");
    if (ndim > kMaxTensorDims) {
      fail(path, t.name + ": got " + std::to_string(ndim) + " dimensions, expected at most " +
                     std::to_string(kMaxTensorDims));
    }
    uint64_t bytes = sizeof(float);
    for (uint32_t d = 0; d < ndim; ++d) {
      uint64_t dim = c.read<uint64_t>("tensor dims");
      if (dim > uint64_t{INT64_MAX} || (dim != 0 && bytes > data_size / dim)) {
        fail(path, t.name + ": shape larger than the data section");
      }
      bytes *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    if (bytes > kMaxTensorBytes) {
      fail(path, t.name + ": " + shape_str(t.shape) + " is " + std::to_string(bytes) +
                     " bytes, more than the limit of " + std::to_string(kMaxTensorBytes));
    }
    uint64_t offset = c.read<uint64_t>("tensor offset");
    if (offset % kAlign != 0) fail(path, t.name + ": data offset " + std::to_string(offset) + " not 64-byte aligned");
    if (offset > data_size || bytes > data_size - offset) {
      fail(path, t.name + ": runs past the end of the data (ends at " + std::to_string(offset + bytes) +
                     ", data is " + std::to_string(data_size) + " bytes): truncated or corrupt");
    }
    t.data = reinterpret_cast<const float*>(base + data_offset + offset);
    if (!f.by_name_.emplace(t.name, f.tensors_.size()).second) fail(path, "duplicate tensor '" + t.name + "'");
    f.tensors_.push_back(std::move(t));
  }
  if (c.pos() > data_offset) fail(path, "corrupt header: tables overlap the data section");
  // Checked once the structure is known to be sound, so that what is wrong with a damaged
  // table is still named; the checksum catches the rest, a flipped bit in a weight included.
  if (f.version_ >= 2) {
    const uint64_t end = data_offset + data_size;
    if (f.map_size_ != end)
      fail(path, "file has " + std::to_string(f.map_size_) + " bytes, its data ends at byte " + std::to_string(end) +
                     ": bytes were added after it");
    const uint32_t got = ~file_crc(path, file.fd, base, end);
    if (got != stored_checksum) {
      char m[160];
      std::snprintf(m, sizeof m, "checksum mismatch: the contents give CRC-32C %08x, the header says %08x: "
                    "the file is damaged (convert it again)", got, stored_checksum);
      fail(path, m);
    }
  }
  return f;
}

WeightsFile::WeightsFile(WeightsFile&& o) noexcept { *this = std::move(o); }

WeightsFile& WeightsFile::operator=(WeightsFile&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(map_, map_size_);
    path_ = std::move(o.path_);
    version_ = o.version_;
    map_ = o.map_;
    map_size_ = o.map_size_;
    meta_ = std::move(o.meta_);
    tensors_ = std::move(o.tensors_);
    by_name_ = std::move(o.by_name_);
    o.map_ = nullptr;
    o.map_size_ = 0;
  }
  return *this;
}

WeightsFile::~WeightsFile() {
  if (map_) ::munmap(map_, map_size_);
}

namespace {
template <typename T>
const T& meta_as(const std::map<std::string, MetaValue>& meta, const std::string& path,
                 const std::string& key, const char* expected) {
  auto it = meta.find(key);
  if (it == meta.end()) fail(path, "missing metadata '" + key + "'");
  if (!std::holds_alternative<T>(it->second)) {
    fail(path, "metadata '" + key + "': got " + type_name(it->second) + ", expected " + expected);
  }
  return std::get<T>(it->second);
}
}  // namespace

const std::string& WeightsFile::meta_string(const std::string& key) const {
  return meta_as<std::string>(meta_, path_, key, "string");
}
int64_t WeightsFile::meta_int(const std::string& key) const {
  return meta_as<int64_t>(meta_, path_, key, "int");
}
double WeightsFile::meta_real(const std::string& key) const {
  return meta_as<double>(meta_, path_, key, "real");
}
const std::vector<float>& WeightsFile::meta_floats(const std::string& key) const {
  return meta_as<std::vector<float>>(meta_, path_, key, "float array");
}

const TensorView* WeightsFile::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& WeightsFile::tensor(const std::string& name, const Shape& shape) const {
  const TensorView* t = find(name);
  if (!t) fail(path_, "missing tensor " + name + " (expected shape " + shape_str(shape) + ")");
  if (t->shape != shape) fail(path_, name + ": got " + shape_str(t->shape) + ", expected " + shape_str(shape));
  return *t;
}

void WeightsWriter::set_meta(const std::string& key, MetaValue value) { meta_[key] = std::move(value); }

void WeightsWriter::add_tensor(const std::string& name, const Shape& shape, const float* data) {
  for (const auto& e : tensors_) {
    if (e.name == name) throw WeightsError("duplicate tensor '" + name + "'");
  }
  tensors_.push_back({name, shape, std::vector<float>(data, data + numel(shape))});
}

namespace {
class ByteSink {
 public:
  template <typename T>
  void put(T v) {
    const char* p = reinterpret_cast<const char*>(&v);
    buf_.insert(buf_.end(), p, p + sizeof(T));
  }
  void str(const std::string& s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    buf_.insert(buf_.end(), s.begin(), s.end());
  }
  void pad_to(uint64_t align) { buf_.resize((buf_.size() + align - 1) / align * align, 0); }
  std::vector<char>& bytes() { return buf_; }

 private:
  std::vector<char> buf_;
};

uint64_t align_up(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

uint64_t WeightsWriter::write(const std::string& path) const {
  std::vector<uint64_t> offsets;
  uint64_t data_size = 0;
  for (const auto& e : tensors_) {
    offsets.push_back(data_size);
    data_size = align_up(data_size + e.data.size() * sizeof(float));
  }

  ByteSink tables;
  for (const auto& [key, v] : meta_) {
    tables.str(key);
    tables.put<uint32_t>(static_cast<uint32_t>(v.index()));
    if (auto* s = std::get_if<std::string>(&v)) tables.str(*s);
    if (auto* i = std::get_if<int64_t>(&v)) tables.put<int64_t>(*i);
    if (auto* d = std::get_if<double>(&v)) tables.put<double>(*d);
    if (auto* a = std::get_if<std::vector<float>>(&v)) {
      tables.put<uint64_t>(a->size());
      for (float x : *a) tables.put<float>(x);
    }
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const auto& e = tensors_[i];
    tables.str(e.name);
    tables.put<uint32_t>(kDtypeF32);
    tables.put<uint32_t>(static_cast<uint32_t>(e.shape.size()));
    for (int64_t d : e.shape) tables.put<uint64_t>(static_cast<uint64_t>(d));
    tables.put<uint64_t>(offsets[i]);
  }
  const uint64_t header_size = kFieldsBytes + kChecksumBytes;
  const uint64_t data_offset = align_up(header_size + tables.bytes().size());
  std::vector<char> zeros(kAlign, 0);

  ByteSink head;
  for (char ch : kMagic) head.put<char>(ch);
  head.put<uint32_t>(kVersion);
  head.put<uint64_t>(meta_.size());
  head.put<uint64_t>(tensors_.size());
  head.put<uint64_t>(data_offset);
  head.put<uint64_t>(data_size);
  // Over every byte of the file but the checksum's own 8, in file order.
  uint32_t state = crc32c_update(~0u, head.bytes().data(), head.bytes().size());
  state = crc32c_update(state, tables.bytes().data(), tables.bytes().size());
  state = crc32c_update(state, zeros.data(), data_offset - header_size - tables.bytes().size());
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const uint64_t bytes = tensors_[i].data.size() * sizeof(float);
    state = crc32c_update(state, tensors_[i].data.data(), bytes);
    state = crc32c_update(state, zeros.data(), align_up(offsets[i] + bytes) - offsets[i] - bytes);
  }
  head.put<uint32_t>(~state);
  head.put<uint32_t>(0);

  // Written beside the target and renamed only once complete, so a crash or a full disk
  // never leaves a half-written weights file under the final name.
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (!out) throw WeightsError(path + ": cannot create: " + std::strerror(errno));
  bool ok = std::fwrite(head.bytes().data(), 1, head.bytes().size(), out) == head.bytes().size() &&
            std::fwrite(tables.bytes().data(), 1, tables.bytes().size(), out) == tables.bytes().size();
  uint64_t pos = header_size + tables.bytes().size();
  ok = ok && std::fwrite(zeros.data(), 1, data_offset - pos, out) == data_offset - pos;
  pos = 0;
  for (size_t i = 0; ok && i < tensors_.size(); ++i) {
    const auto& e = tensors_[i];
    const uint64_t bytes = e.data.size() * sizeof(float);
    ok = std::fwrite(e.data.data(), 1, bytes, out) == bytes;
    const uint64_t end = align_up(offsets[i] + bytes);
    ok = ok && std::fwrite(zeros.data(), 1, end - offsets[i] - bytes, out) == end - offsets[i] - bytes;
  }
  ok = ok && std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
  const int write_errno = errno;
  ok = (std::fclose(out) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = ok ? errno : write_errno;
    std::remove(tmp.c_str());
    throw WeightsError(path + ": cannot write: " + std::strerror(err));
  }
  return data_offset + data_size;
}

}  // namespace fg::weights
