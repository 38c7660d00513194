#include "store/chroma/client.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "store/chroma/error.h"
#include "store/chroma/responses.h"

namespace fg::store::chroma {
namespace {

using nlohmann::json;

// ChromaDB's collection names: 3..512 of [A-Za-z0-9._-]. Checked here because the name goes
// into a URL path.
void check_name(const std::string& name) {
  bool ok = name.size() >= 3 && name.size() <= 512;
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  if (!ok) throw ChromaError(ErrorKind::invalid, "collection name '" + name + "': expected 3..512 of [A-Za-z0-9._-]");
}

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
  const std::string why = error_message(r.body);
  throw ChromaError(ErrorKind::rejected, "ChromaDB at " + endpoint_.server() + " refused " + m + " " + path +
                                             " (HTTP " + std::to_string(r.status) + "): " + why);
}

void Client::check_server() {
  const Response r = http_.get("/api/v2/heartbeat");
  if (r.status != 200 || !is_heartbeat(r.body)) {
    throw ChromaError(ErrorKind::not_chroma, endpoint_.server() +
                                                 " is not a ChromaDB v2 server: GET /api/v2/heartbeat gave HTTP " +
                                                 std::to_string(r.status) + " " + snippet(r.body) +
                                                 ", expected {\"nanosecond heartbeat\": N}");
  }
}

size_t Client::max_batch_size(size_t cap) {
  const uint64_t n = parse_max_batch_size(call("GET", "/api/v2/pre-flight-checks", ""),
                                          "ChromaDB pre-flight checks at " + endpoint_.server());
  return static_cast<size_t>(std::min<uint64_t>(cap, n));
}

std::optional<Collection> Client::find_collection(const std::string& name) {
  check_name(name);
  int status = 0;
  const std::string body = call("GET", base() + "/" + name, "", &status);
  if (status == 404) return std::nullopt;
  return parse_collection(body, "ChromaDB collection '" + name + "' at " + endpoint_.server());
}

Collection Client::create_collection(const std::string& name, const Metadata& metadata) {
  check_name(name);
  const json req = {{"name", name}, {"metadata", to_json(metadata)}, {"get_or_create", true}};
  return parse_collection(call("POST", base(), req.dump()),
                          "ChromaDB create collection '" + name + "' at " + endpoint_.server());
}

void Client::set_metadata(const Collection& c, const Metadata& metadata) {
  call("PUT", base() + "/" + c.id, json{{"new_metadata", to_json(metadata)}}.dump());
}

uint64_t Client::count(const Collection& c) {
  return parse_count(call("GET", records_path(c, "count"), ""),
                     "ChromaDB count of '" + c.name + "' at " + endpoint_.server());
}

std::vector<Record> Client::get(const Collection& c, uint64_t offset, uint32_t limit, bool embeddings) {
  json include = json::array({"metadatas"});
  if (embeddings) include.push_back("embeddings");
  const json req = {{"offset", offset}, {"limit", limit}, {"include", include}};
  return parse_records(call("POST", records_path(c, "get"), req.dump()),
                       "ChromaDB get from '" + c.name + "' at " + endpoint_.server(), embeddings);
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
  return parse_hits(call("POST", records_path(c, "query"), req.dump()),
                    "ChromaDB query of '" + c.name + "' at " + endpoint_.server(), queries.size());
}

}  // namespace fg::store::chroma
