// A client for one ChromaDB database over its v2 HTTP API
// (/api/v2/tenants/{tenant}/databases/{database}/collections/...). Responses are checked
// field by field: anything else than what ChromaDB sends is a ChromaError that says what was
// got, never a crash. Metadata values that are not strings come back as their JSON text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/chroma/endpoint.h"
#include "store/chroma/http.h"

namespace fg::store::chroma {

using Metadata = std::map<std::string, std::string>;

struct Collection {
  std::string id;                    // ChromaDB's uuid; record calls address it
  std::string name;
  Metadata metadata;
  std::optional<uint32_t> dimension; // unset until the first record
  std::string space;                 // "cosine", "l2" or "ip"
};

struct Record {
  std::string id;
  std::vector<float> embedding;      // empty when not asked for
  Metadata metadata;
};

struct Hit {
  std::string id;
  float distance = 0.f;              // for "cosine": 1 - cosine similarity
  Metadata metadata;
};

class Client {
 public:
  // Does not connect yet.
  explicit Client(const Endpoint& endpoint, const RetryPolicy& retry = {});

  const Endpoint& endpoint() const { return endpoint_; }

  // The heartbeat: throws not_chroma when the server answers but is not ChromaDB v2.
  void check_server();
  // The largest batch the server takes (its pre-flight check), capped at `cap`.
  size_t max_batch_size(size_t cap);

  std::optional<Collection> find_collection(const std::string& name);
  // get_or_create with `metadata`; an existing collection is returned as it is.
  Collection create_collection(const std::string& name, const Metadata& metadata);
  // Replaces the collection's metadata (keep the hnsw keys in it: ChromaDB requires them unchanged).
  void set_metadata(const Collection& c, const Metadata& metadata);
  uint64_t count(const Collection& c);

  // Records [offset, offset + limit) in ChromaDB's order, with metadata (and embeddings if asked).
  std::vector<Record> get(const Collection& c, uint64_t offset, uint32_t limit, bool embeddings);
  // Writes records whose ids exist over them (idempotent, so safe to retry).
  void upsert(const Collection& c, const std::vector<Record>& records);
  void remove(const Collection& c, const std::vector<std::string>& ids);
  // The n nearest records of each query, nearest first.
  std::vector<std::vector<Hit>> query(const Collection& c, const std::vector<std::vector<float>>& queries, uint32_t n);

 private:
  std::string base() const;
  std::string records_path(const Collection& c, const char* op) const;
  // Sends and parses; throws rejected (with ChromaDB's message) for a non-2xx status.
  std::string call(const char* method, const std::string& path, const std::string& body, int* status = nullptr);

  Endpoint endpoint_;
  Http http_;
};

}  // namespace fg::store::chroma
