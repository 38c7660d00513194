// Where a ChromaDB collection lives: host, port, tenant, database, collection name.
#pragma once

#include <string>

namespace fg::store::chroma {

constexpr int kDefaultPort = 8000;  // what `chroma run` listens on by default

struct Endpoint {
  std::string host;
  int port = kDefaultPort;
  std::string tenant = "default_tenant";
  std::string database = "default_database";
  std::string collection = "face_embeddings";

  std::string server() const;  // "http://host:port"
  std::string text() const;    // "chroma://host:port/collection"
};

// Parses "http://host[:port][/collection]" or "chroma://host[:port][/collection]"; a missing
// collection keeps the default. Throws ChromaError(invalid) naming the URL otherwise (https
// is refused: this adapter speaks plain HTTP to servers on the site's own network).
Endpoint parse_endpoint(const std::string& url);

}  // namespace fg::store::chroma
