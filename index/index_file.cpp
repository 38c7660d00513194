#include "index/index_file.h"

#include <cstring>

#include "index/error.h"

namespace fg::index::detail {
namespace {

constexpr uint64_t kFixedBytes = 8 + 6 * 4 + 4 * 8;

}  // namespace

uint64_t header_bytes(const FileHeader& h) {
  return kFixedBytes + 4 + h.model_id.size() + 4 + h.db_id.size();
}

void write_header(FileSink& out, const FileHeader& h) {
  out.write(kMagic, sizeof kMagic);
  out.u32(kFileVersion);
  out.u32(h.dim);
  out.u32(kMetricCosine);
  out.u32(h.m);
  out.u32(h.ef_construction);
  out.u32(0);
  out.u64(h.file_bytes);
  out.u64(h.elements);
  out.u64(h.live);
  out.u64(h.generation);
  out.str(h.model_id);
  out.str(h.db_id);
}

FileHeader read_header(FileSource& in) {
  const std::string& path = in.path();
  if (in.size() < kFixedBytes + 8 + 4)
    throw IndexError(path + " is truncated: " + std::to_string(in.size()) + (in.size() == 1 ? " byte" : " bytes") +
                     ", the header alone needs " + std::to_string(kFixedBytes + 8 + 4));
  char magic[8];
  in.read(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof magic) != 0) throw IndexError(path + " is not a facegate index (bad magic)");
  const uint32_t version = in.u32();
  if (version != kFileVersion)
    throw IndexError(path + " is index file v" + std::to_string(version) + ", this build reads v" +
                     std::to_string(kFileVersion));
  FileHeader h;
  h.dim = in.u32();
  const uint32_t metric = in.u32();
  h.m = in.u32();
  h.ef_construction = in.u32();
  in.u32();
  h.file_bytes = in.u64();
  h.elements = in.u64();
  h.live = in.u64();
  h.generation = in.u64();
  if (metric != kMetricCosine)
    throw IndexError(path + ": metric " + std::to_string(metric) + ", this build knows only 1 (cosine)");
  if (h.file_bytes != in.size())
    throw IndexError(path + " is truncated or damaged: the file has " + std::to_string(in.size()) +
                     " bytes, its header says " + std::to_string(h.file_bytes));
  if (h.dim == 0 || h.dim > 65536 || h.m < 2 || h.m > 1024 || h.live > h.elements ||
      h.elements > h.file_bytes / (4 * uint64_t{h.dim}))
    throw IndexError(path + ": implausible header (dim " + std::to_string(h.dim) + ", M " + std::to_string(h.m) +
                     ", " + std::to_string(h.live) + " live of " + std::to_string(h.elements) + ")");
  h.model_id = in.str(kMaxStringBytes);
  h.db_id = in.str(kMaxStringBytes);
  return h;
}

}  // namespace fg::index::detail
