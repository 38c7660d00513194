#include "store/chroma/layout.h"

#include <cctype>

#include "store/chroma/error.h"
#include "store/names.h"

namespace fg::store::chroma {

std::string record_id(const std::string& identity_id, size_t i) { return identity_id + "_" + std::to_string(i); }

Metadata record_metadata(const std::string& identity_id, const std::string& name) {
  return {{kMongoIdKey, identity_id}, {kNameKey, name}};
}

Metadata collection_metadata(const std::string& model_id) { return {{kSpaceKey, "cosine"}, {kModelKey, model_id}}; }

std::string collection_model(const Collection& c) {
  const auto it = c.metadata.find(kModelKey);
  return it == c.metadata.end() ? "" : it->second;
}

std::set<std::string> collection_forgotten(const Collection& c) {
  std::set<std::string> out;
  const auto it = c.metadata.find(kForgottenKey);
  if (it == c.metadata.end()) return out;
  size_t start = 0;
  while (start <= it->second.size()) {
    size_t end = it->second.find('\n', start);
    if (end == std::string::npos) end = it->second.size();
    if (end > start) out.insert(it->second.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string forgotten_value(const std::set<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : "\n") + id;
  return out;
}

GalleryImage decode_record(const Record& r, uint32_t dim) {
  const auto bad = [&](const std::string& why) {
    return ChromaError(ErrorKind::invalid, "record '" + r.id + "': " + why);
  };
  GalleryImage g;
  g.record_id = r.id;
  const auto id = r.metadata.find(kMongoIdKey);
  const auto name = r.metadata.find(kNameKey);
  if (id == r.metadata.end() || id->second.empty()) throw bad("no mongo_id in its metadata");
  if (name == r.metadata.end() || name->second.empty()) throw bad("no identity_name in its metadata");
  g.identity_id = id->second;
  g.name = normalize_name(name->second);  // as the DB keeps names: one spelling per person
  const std::string prefix = g.identity_id + "_";
  const std::string digits = r.id.rfind(prefix, 0) == 0 ? r.id.substr(prefix.size()) : "";
  bool numeric = !digits.empty() && digits.size() <= 9;
  for (char c : digits) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
  if (!numeric) throw bad("id is not \"" + g.identity_id + "_<i>\"");
  g.position = std::stoul(digits);
  if (dim && r.embedding.size() != dim) {
    throw bad("embedding has " + std::to_string(r.embedding.size()) + (r.embedding.size() == 1 ? " value" : " values") +
              ", expected " + std::to_string(dim));
  }
  g.embedding = r.embedding;
  return g;
}

void check_collection(const Collection& c, uint32_t dim, const std::string& model_id) {
  const std::string what = "ChromaDB collection '" + c.name + "'";
  if (c.space != "cosine") {
    throw ChromaError(ErrorKind::mismatch, what + " uses the '" + c.space + "' metric; facegate needs 'cosine' "
                                                  "(metadata {\"hnsw:space\": \"cosine\"})");
  }
  if (c.dimension && dim && *c.dimension != dim) {
    throw ChromaError(ErrorKind::mismatch, what + " holds " + std::to_string(*c.dimension) +
                                               "-D embeddings; the model gives " + std::to_string(dim) + "-D");
  }
  const std::string stamp = collection_model(c);
  if (!stamp.empty() && !model_id.empty() && stamp != model_id) {
    throw ChromaError(ErrorKind::mismatch, what + " holds embeddings of model " + stamp + ", not of " + model_id +
                                               ": embeddings of two models cannot be compared");
  }
}

}  // namespace fg::store::chroma
