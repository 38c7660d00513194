#include "store/chroma/client.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "store/chroma/error.h"

namespace fg::store::chroma {
namespace {

using nlohmann::json;

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 120);
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return "'" + s + (body.size() > 120 ? "...'" : "'");
}

// ChromaDB's collection names: 3..512 of [A-Za-z0-9._-]. Checked here because the name goes
// into a URL path.
void check_name(const std::string& name) {
  bool ok = name.size() >= 3 && name.size() <= 512;
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  if (!ok) throw ChromaError(ErrorKind::invalid, "collection name '" + name + "': expected 3..512 of [A-Za-z0-9._-]");
}

class Reader {
 public:
  Reader(std::string what) : what_(std::move(what)) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw ChromaError(ErrorKind::protocol, what_ + ": " + why);
  }
  json parse(const std::string& body) const {
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
      fail(std::string(what) + ": " + std::to_string(v.size()) + " entries, expected " + std::to_string(size));
    }
    return v;
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
    for (const json& x : v) {
      if (!x.is_number()) fail(std::string("embedding: expected numbers, got ") + x.type_name());
      out.push_back(x.get<float>());
    }
    return out;
  }

 private:
  std::string what_;
};

json to_json(const Metadata& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

json to_json(const std::vector<float>& v) {
  json j = json::array();
  for (float x : v) {
    if (!std::isfinite(x)) throw ChromaError(ErrorKind::invalid, "embedding has a non-finite value");
    j.push_back(x);
  }
  return j;
}

}  // namespace

Client::Client(const Endpoint& endpoint, const RetryPolicy& retry)
    : endpoint_(endpoint), http_(endpoint.host, endpoint.port, retry) {}

std::string Client::base() const {
  return "/api/v2/tenants/" + endpoint_.tenant + "/databases/" + endpoint_.database + "/collections";
}

std::string Client::records_path(const Collection& c, const char* op) const {
  return base() + "/" + c.id + "/" + op;
}

std::string Client::call(const char* method, const std::string& path, const std::string& body, int* status) {
  const std::string m = method;
  const Response r = m == "GET" ? http_.get(path) : m == "PUT" ? http_.put(path, body) : http_.post(path, body);
  if (status) *status = r.status;
  if (r.status >= 200 && r.status < 300) return r.body;
  if (status && r.status == 404) return r.body;
  const json err = json::parse(r.body, nullptr, false);
  std::string why = err.is_object() && err.contains("message") && err["message"].is_string()
                        ? err["message"].get<std::string>()
                        : snippet(r.body);
  throw ChromaError(ErrorKind::rejected, "ChromaDB at " + endpoint_.server() + " refused " + m + " " + path + " (HTTP " +
                                             std::to_string(r.status) + "): " + why);
}

void Client::check_server() {
  const Response r = http_.get("/api/v2/heartbeat");
  const json j = json::parse(r.body, nullptr, false);
  if (r.status != 200 || !j.is_object() || !j.contains("nanosecond heartbeat")) {
    throw ChromaError(ErrorKind::not_chroma, endpoint_.server() + " is not a ChromaDB v2 server: GET /api/v2/heartbeat gave HTTP " +
                                                 std::to_string(r.status) + " " + snippet(r.body) +
                                                 ", expected {\"nanosecond heartbeat\": N}");
  }
}

size_t Client::max_batch_size(size_t cap) {
  const Reader rd("ChromaDB pre-flight checks at " + endpoint_.server());
  const json j = rd.parse(call("GET", "/api/v2/pre-flight-checks", ""));
  const json& n = rd.field(j, "max_batch_size");
  if (!n.is_number_unsigned() || n.get<uint64_t>() == 0) rd.fail("max_batch_size is not a positive integer");
  return std::min<size_t>(cap, n.get<uint64_t>());
}

namespace {

Collection read_collection(const Reader& rd, const json& j) {
  Collection c;
  c.id = rd.str(rd.field(j, "id"), "id");
  c.name = rd.str(rd.field(j, "name"), "name");
  c.metadata = rd.metadata(j.value("metadata", json()));
  if (j.contains("dimension") && !j["dimension"].is_null()) {
    if (!j["dimension"].is_number_unsigned()) rd.fail("dimension is not a count");
    c.dimension = j["dimension"].get<uint32_t>();
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

}  // namespace

std::optional<Collection> Client::find_collection(const std::string& name) {
  check_name(name);
  int status = 0;
  const std::string body = call("GET", base() + "/" + name, "", &status);
  if (status == 404) return std::nullopt;
  const Reader rd("ChromaDB collection '" + name + "' at " + endpoint_.server());
  return read_collection(rd, rd.parse(body));
}

Collection Client::create_collection(const std::string& name, const Metadata& metadata) {
  check_name(name);
  const json req = {{"name", name}, {"metadata", to_json(metadata)}, {"get_or_create", true}};
  const Reader rd("ChromaDB create collection '" + name + "' at " + endpoint_.server());
  return read_collection(rd, rd.parse(call("POST", base(), req.dump())));
}

void Client::set_metadata(const Collection& c, const Metadata& metadata) {
  call("PUT", base() + "/" + c.id, json{{"new_metadata", to_json(metadata)}}.dump());
}

uint64_t Client::count(const Collection& c) {
  const Reader rd("ChromaDB count of '" + c.name + "' at " + endpoint_.server());
  const json j = rd.parse(call("GET", records_path(c, "count"), ""));
  if (!j.is_number_unsigned()) rd.fail("expected a count, got " + snippet(j.dump()));
  return j.get<uint64_t>();
}

std::vector<Record> Client::get(const Collection& c, uint64_t offset, uint32_t limit, bool embeddings) {
  json include = json::array({"metadatas"});
  if (embeddings) include.push_back("embeddings");
  const json req = {{"offset", offset}, {"limit", limit}, {"include", include}};
  const Reader rd("ChromaDB get from '" + c.name + "' at " + endpoint_.server());
  const json j = rd.parse(call("POST", records_path(c, "get"), req.dump()));
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

void Client::upsert(const Collection& c, const std::vector<Record>& records) {
  if (records.empty()) return;
  json ids = json::array(), embs = json::array(), metas = json::array();
  for (const Record& r : records) {
    ids.push_back(r.id);
    embs.push_back(to_json(r.embedding));
    metas.push_back(to_json(r.metadata));
  }
  call("POST", records_path(c, "upsert"), json{{"ids", ids}, {"embeddings", embs}, {"metadatas", metas}}.dump());
}

void Client::remove(const Collection& c, const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  call("POST", records_path(c, "delete"), json{{"ids", ids}}.dump());
}

std::vector<std::vector<Hit>> Client::query(const Collection& c, const std::vector<std::vector<float>>& queries,
                                            uint32_t n) {
  json qs = json::array();
  for (const auto& q : queries) qs.push_back(to_json(q));
  const json req = {{"query_embeddings", qs}, {"n_results", n}, {"include", {"distances", "metadatas"}}};
  const Reader rd("ChromaDB query of '" + c.name + "' at " + endpoint_.server());
  const json j = rd.parse(call("POST", records_path(c, "query"), req.dump()));
  const json& ids = rd.array(rd.field(j, "ids"), "ids", queries.size());
  const json& dists = rd.array(rd.field(j, "distances"), "distances", queries.size());
  const json& metas = rd.array(rd.field(j, "metadatas"), "metadatas", queries.size());
  std::vector<std::vector<Hit>> out(queries.size());
  for (size_t q = 0; q < queries.size(); ++q) {
    const size_t m = rd.array(ids[q], "ids", SIZE_MAX).size();
    rd.array(dists[q], "distances", m);
    rd.array(metas[q], "metadatas", m);
    for (size_t i = 0; i < m; ++i) {
      if (!dists[q][i].is_number()) rd.fail("distance is not a number");
      out[q].push_back({rd.str(ids[q][i], "id"), dists[q][i].get<float>(), rd.metadata(metas[q][i])});
    }
  }
  return out;
}

}  // namespace fg::store::chroma
