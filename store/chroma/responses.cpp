#include "store/chroma/responses.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "store/chroma/error.h"

namespace fg::store::chroma {
namespace {

using nlohmann::json;

// How deep arrays and objects nest, strings skipped; stops counting past `limit`. Checked
// before parsing because dumping a value (metadata that is not a string) recurses.
size_t nesting(const std::string& body, size_t limit) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size() && deepest <= limit; ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

bool too_big(const std::string& body) {
  return body.size() > kMaxResponseBytes || nesting(body, kMaxResponseDepth) > kMaxResponseDepth;
}

class Reader {
 public:
  explicit Reader(const std::string& what) : what_(what) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw ChromaError(ErrorKind::protocol, what_ + ": " + why);
  }
  json parse(const std::string& body) const {
    if (body.size() > kMaxResponseBytes) {
      fail("answer of " + std::to_string(body.size()) + " bytes (limit " + std::to_string(kMaxResponseBytes) + ")");
    }
    if (nesting(body, kMaxResponseDepth) > kMaxResponseDepth) {
      fail("answer nests arrays and objects deeper than " + std::to_string(kMaxResponseDepth) + " levels (limit)");
    }
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) fail("not JSON: " + snippet(body));
    return j;
  }
  const json& field(const json& obj, const char* key) const {
    if (!obj.is_object() || !obj.contains(key)) fail(std::string("no '") + key + "' in the answer");
    return obj.at(key);
  }
  std::string str(const json& v, const char* what) const {
    if (!v.is_string()) fail(std::string(what) + ": expected a string, got " + v.type_name());
    return v.get<std::string>();
  }
  const json& array(const json& v, const char* what, size_t size) const {
    if (!v.is_array()) fail(std::string(what) + ": expected an array, got " + v.type_name());
    if (size != SIZE_MAX && v.size() != size) {
      fail(std::string(what) + ": " + std::to_string(v.size()) + (v.size() == 1 ? " entry" : " entries") +
           ", expected " + std::to_string(size));
    }
    return v;
  }
  // A double converted to float is undefined behaviour when out of float's range.
  float real(const json& v, const char* what) const {
    if (!v.is_number()) fail(std::string(what) + ": expected a number, got " + v.type_name());
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
      fail(std::string(what) + ": " + v.dump() + " is not a finite float");
    }
    return static_cast<float>(d);
  }
  Metadata metadata(const json& v) const {
    Metadata m;
    if (v.is_null()) return m;
    if (!v.is_object()) fail(std::string("metadata: expected an object, got ") + v.type_name());
    for (const auto& [k, x] : v.items()) m[k] = x.is_string() ? x.get<std::string>() : x.dump();
    return m;
  }
  std::vector<float> vector(const json& v) const {
    array(v, "embedding", SIZE_MAX);
    std::vector<float> out;
    out.reserve(v.size());
    for (const json& x : v) out.push_back(real(x, "embedding"));
    return out;
  }

 private:
  const std::string& what_;
};

}  // namespace

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 120);
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return "'" + s + (body.size() > 120 ? "...'" : "'");
}

std::string error_message(const std::string& body) {
  const json err = too_big(body) ? json() : json::parse(body, nullptr, false);
  return err.is_object() && err.contains("message") && err["message"].is_string() ? err["message"].get<std::string>()
                                                                                   : snippet(body);
}

bool is_heartbeat(const std::string& body) {
  if (too_big(body)) return false;
  const json j = json::parse(body, nullptr, false);
  return j.is_object() && j.contains("nanosecond heartbeat");
}

Collection parse_collection(const std::string& body, const std::string& what) {
  const Reader rd(what);
  const json j = rd.parse(body);
  Collection c;
  c.id = rd.str(rd.field(j, "id"), "id");
  c.name = rd.str(rd.field(j, "name"), "name");
  c.metadata = rd.metadata(j.value("metadata", json()));
  if (j.contains("dimension") && !j["dimension"].is_null()) {
    const json& d = j["dimension"];
    if (!d.is_number_unsigned() || d.get<uint64_t>() > UINT32_MAX) rd.fail("dimension is not a count: " + d.dump());
    c.dimension = d.get<uint32_t>();
  }
  // ChromaDB >= 1.0 keeps the metric in the configuration; older collections only in metadata.
  const json* cfg = j.contains("configuration_json") ? &j["configuration_json"] : nullptr;
  if (cfg && cfg->is_object() && cfg->contains("hnsw") && (*cfg)["hnsw"].is_object() &&
      (*cfg)["hnsw"].contains("space") && (*cfg)["hnsw"]["space"].is_string()) {
    c.space = (*cfg)["hnsw"]["space"].get<std::string>();
  } else if (c.metadata.count("hnsw:space")) {
    c.space = c.metadata["hnsw:space"];
  } else {
    c.space = "l2";  // ChromaDB's default
  }
  return c;
}

uint64_t parse_count(const std::string& body, const std::string& what) {
  const Reader rd(what);
  const json j = rd.parse(body);
  if (!j.is_number_unsigned()) rd.fail("expected a count, got " + snippet(j.dump()));
  return j.get<uint64_t>();
}

uint64_t parse_max_batch_size(const std::string& body, const std::string& what) {
  const Reader rd(what);
  const json j = rd.parse(body);
  const json& n = rd.field(j, "max_batch_size");
  if (!n.is_number_unsigned() || n.get<uint64_t>() == 0) rd.fail("max_batch_size is not a positive integer");
  return n.get<uint64_t>();
}

std::vector<Record> parse_records(const std::string& body, const std::string& what, bool embeddings) {
  const Reader rd(what);
  const json j = rd.parse(body);
  const json& ids = rd.array(rd.field(j, "ids"), "ids", SIZE_MAX);
  const json& metas = rd.array(rd.field(j, "metadatas"), "metadatas", ids.size());
  const json* embs = embeddings ? &rd.array(rd.field(j, "embeddings"), "embeddings", ids.size()) : nullptr;
  std::vector<Record> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    out[i].id = rd.str(ids[i], "id");
    out[i].metadata = rd.metadata(metas[i]);
    if (embs) out[i].embedding = rd.vector((*embs)[i]);
  }
  return out;
}

std::vector<std::vector<Hit>> parse_hits(const std::string& body, const std::string& what, size_t queries) {
  const Reader rd(what);
  const json j = rd.parse(body);
  const json& ids = rd.array(rd.field(j, "ids"), "ids", queries);
  const json& dists = rd.array(rd.field(j, "distances"), "distances", queries);
  const json& metas = rd.array(rd.field(j, "metadatas"), "metadatas", queries);
  std::vector<std::vector<Hit>> out(queries);
  for (size_t q = 0; q < queries; ++q) {
    const size_t m = rd.array(ids[q], "ids", SIZE_MAX).size();
    rd.array(dists[q], "distances", m);
    rd.array(metas[q], "metadatas", m);
    for (size_t i = 0; i < m; ++i) {
      out[q].push_back({rd.str(ids[q][i], "id"), rd.real(dists[q][i], "distance"), rd.metadata(metas[q][i])});
    }
  }
  return out;
}

}  // namespace fg::store::chroma
