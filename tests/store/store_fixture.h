// Shared by the store tests: fake content hashes and embedding records.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "store/store.h"

namespace fg::test {

// A valid-looking sha256 hex that differs for each n.
inline std::string fake_hash(unsigned n) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016x", n);
  return std::string(buf) + std::string(48, 'a');
}

inline store::EmbeddingRecord fake_record(unsigned n, size_t dim = 8, const std::string& model = "") {
  store::EmbeddingRecord r;
  r.image_path = "gallery/img" + std::to_string(n) + ".jpg";
  r.content_hash = fake_hash(n);
  r.model_id = model;
  r.embedding.assign(dim, 0.f);
  r.embedding[n % dim] = 1.f;
  r.embedding[(n / dim) % dim] += 0.5f;
  return r;
}

inline std::vector<store::EmbeddingRecord> fake_records(unsigned first, unsigned count, size_t dim = 8) {
  std::vector<store::EmbeddingRecord> out;
  for (unsigned n = first; n < first + count; ++n) out.push_back(fake_record(n, dim));
  return out;
}

inline store::OpenOptions create(const std::string& model = "model-a") {
  store::OpenOptions o;
  o.create_if_missing = true;
  o.model_id = model;
  return o;
}

// The error a callable throws, or a failure naming what was expected.
template <typename F>
store::StoreError store_error_of(F&& f) {
  try {
    f();
  } catch (const store::StoreError& e) {
    return e;
  }
  return store::StoreError(store::ErrorKind::io, "(no error was thrown)");
}

}  // namespace fg::test
