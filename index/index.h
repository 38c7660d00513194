// Identity-level nearest-neighbour search over face embeddings: hnswlib (HNSW graph, inner
// product over L2-normalised vectors, so score = cosine) plus the label -> identity id map.
// Thread-safety: any number of concurrent searches, and writers (add, remove, save) that wait
// for them. The index is a cache of the store: see open.h for how it is kept in step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "index/error.h"

namespace fg::index {

struct Params {
  uint32_t dim = 512;
  uint32_t m = 16;                  // graph degree (hnswlib M); fixed when the index is built
  uint32_t ef_construction = 200;   // fixed when the index is built
  uint32_t ef_search = 128;         // search breadth; searches use max(ef_search, images wanted)
  uint64_t initial_capacity = 1024; // grows (doubling) as images are added
  unsigned threads = 0;             // for bulk adds; 0 = all cores
};

// Which data the index was built from; open.h compares it with the store's.
struct Stamp {
  std::string model_id;
  std::string db_id;
  uint64_t generation = 0;
};

// A non-owning view of dim floats (any norm; the index normalises its own copy).
struct VectorView {
  const float* data = nullptr;
  size_t size = 0;
  VectorView() = default;
  VectorView(const float* d, size_t n) : data(d), size(n) {}
  VectorView(const std::vector<float>& v) : data(v.data()), size(v.size()) {}  // NOLINT: implicit on purpose
};

struct Entry {
  uint64_t label = 0;        // unique per image (the store's label)
  std::string identity_id;
  VectorView vector;
};

struct Match {
  std::string identity_id;
  float score = 0.f;         // cosine of the best image of this identity
  uint64_t label = 0;        // that image
};

struct Identification {
  std::vector<Match> matches;  // best first, at most k, distinct identities
  bool unknown = true;         // no match, or the best score is below the threshold
};

class Index {
 public:
  // An empty index.
  Index(const Params& params, Stamp stamp);
  // Reads an index file (index_file.h). Throws IndexError saying what is wrong: missing,
  // truncated, bad magic or version, checksum mismatch, dim other than params.dim, a graph
  // that does not hold together. Never hands unchecked bytes to hnswlib.
  static Index load(const std::string& path, const Params& params);

  Index(Index&&) noexcept;
  Index& operator=(Index&&) noexcept;
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;
  ~Index();

  // Adds images. Throws IndexError, adding nothing, for a wrong dim, a zero or non-finite
  // vector, or a label that is already present (out of memory midway keeps what was added).
  // The bulk form inserts on params.threads.
  void add(uint64_t label, const std::string& identity_id, VectorView vector);
  void add(const std::vector<Entry>& entries);

  // Removes images; returns how many were present.
  bool remove(uint64_t label);
  size_t remove(const std::vector<uint64_t>& labels);
  size_t remove_identity(const std::string& identity_id);

  // The k best identities for `query`, best first (score = best cosine among an identity's
  // images). Fewer than k when the index holds fewer identities.
  std::vector<Match> search(VectorView query, size_t k) const;
  // search() plus the open-set decision: unknown when nothing scores >= threshold.
  Identification identify(VectorView query, size_t k, float threshold) const;

  // Writes the file atomically (temp file, fsync, rename); readers may go on meanwhile.
  void save(const std::string& path) const;

  Stamp stamp() const;
  void set_stamp(Stamp stamp);  // after applying the store's changes, before save()
  void set_ef_search(uint32_t ef);

  uint32_t dim() const;
  uint64_t size() const;            // images present
  uint64_t identity_count() const;  // identities with at least one image
  uint64_t deleted_count() const;   // removed images still occupying graph slots
  uint64_t label_sum() const;       // sum of the labels present (wrapping), as the store keeps it
  uint64_t capacity() const;

  struct Impl;

 private:
  explicit Index(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fg::index
