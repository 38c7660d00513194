// The index file (.fgi): our header, then hnswlib's graph (which carries no header of its
// own), then the label -> identity map, then a checksum.
//
// Layout, all integers little-endian, str = u32 byte length + bytes:
//   header  char[8] magic "FGINDEX\0" | u32 version | u32 dim | u32 metric (1 = inner product
//           over L2-normalised vectors, score = cosine) | u32 M | u32 ef_construction
//           | u32 reserved (0) | u64 file_bytes (the whole file) | u64 elements (graph slots,
//           deleted included) | u64 live (images present) | u64 generation (the store's,
//           when saved) | str model_id | str db_id
//   graph   hnsw.h's serialised form
//   map     u32 n_ids | n_ids x str identity_id | u64 n | n x { u64 label | u32 id_index }
//           (exactly the live labels)
//   trailer u32 CRC-32 (zlib) of every byte before it
// Version history: v1 is the first and only version.
#pragma once

#include <cstdint>
#include <string>

#include "index/file_io.h"

namespace fg::index::detail {

constexpr char kMagic[8] = {'F', 'G', 'I', 'N', 'D', 'E', 'X', '\0'};
constexpr uint32_t kFileVersion = 1;
constexpr uint32_t kMetricCosine = 1;
constexpr uint32_t kMaxStringBytes = 4096;

struct FileHeader {
  uint32_t dim = 0;
  uint32_t m = 0;
  uint32_t ef_construction = 0;
  uint64_t file_bytes = 0;
  uint64_t elements = 0;
  uint64_t live = 0;
  uint64_t generation = 0;
  std::string model_id;
  std::string db_id;
};

uint64_t header_bytes(const FileHeader& h);
void write_header(FileSink& out, const FileHeader& h);
// Checks magic, version, metric, sizes and that file_bytes is the file's size.
FileHeader read_header(FileSource& in);

}  // namespace fg::index::detail
