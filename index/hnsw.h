// A narrow wrapper around hnswlib 0.6.2's HierarchicalNSW<float> over InnerProductSpace.
// hnsw.cpp is the only file that includes hnswlib (its hnswlib.h defines functions that are
// not inline, so a second includer would not link).
//
// Serialised form (what hnswlib's saveIndex writes, with fixed-width fields, little-endian):
//   u64 offset_level0 (0) | u64 max_elements | u64 count | u64 size_data_per_element
//   | u64 label_offset | u64 offset_data | i32 max_level | u32 entry_point | u64 max_m
//   | u64 max_m0 | u64 m | f64 mult | u64 ef_construction
//   | count x size_data_per_element bytes (level-0 links, vector, u64 label per element)
//   | count x { u32 n | n bytes of upper-level links }
// read() checks every field against what dim and M imply, and every link, before use.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "index/file_io.h"

namespace fg::index::detail {

class Hnsw {
 public:
  Hnsw(uint32_t dim, uint32_t m, uint32_t ef_construction, uint64_t capacity);
  ~Hnsw();
  Hnsw(const Hnsw&) = delete;
  Hnsw& operator=(const Hnsw&) = delete;

  // Reserves an eighth more slots than the elements read, for the adds that follow.
  static std::unique_ptr<Hnsw> read(FileSource& in, uint32_t dim, uint32_t m, uint32_t ef_construction);
  void write(FileSink& out) const;
  uint64_t serialized_bytes() const;

  uint64_t size() const;  // elements, deleted included
  uint64_t deleted() const;
  uint64_t capacity() const;
  bool is_live(uint64_t label) const;

  // Grows only. Nothing else may run meanwhile.
  void reserve(uint64_t capacity);
  // Inserts a unit vector, or replaces and revives a deleted label's. Several threads may add
  // at once when capacity suffices (hnswlib's own parallel build; its level generator is
  // shared without a lock, so two inserts may draw the same level); searches and deletes may
  // not run meanwhile.
  void add(const float* unit, uint64_t label);
  void mark_deleted(uint64_t label);
  void set_ef(size_t ef);
  // The n nearest live elements as (cosine, label), best first. Concurrent searches are safe.
  std::vector<std::pair<float, uint64_t>> search(const float* unit, size_t n) const;

 private:
  struct Impl;
  explicit Hnsw(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fg::index::detail
