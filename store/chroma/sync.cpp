#include "store/chroma/sync.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "store/chroma/error.h"
#include "store/chroma/layout.h"
#include "store/clock.h"

namespace fg::store::chroma {
namespace {

constexpr uint32_t kPage = 1000;

// Every record of a collection, page by page; bounded by the count read first, so a
// collection that grows meanwhile cannot keep us looping.
std::vector<Record> read_all(Client& client, const Collection& c, bool embeddings) {
  const uint64_t total = client.count(c);
  std::vector<Record> all;
  for (uint64_t offset = 0; offset < total + kPage; offset += kPage) {
    std::vector<Record> page = client.get(c, offset, kPage, embeddings);
    const size_t n = page.size();
    std::move(page.begin(), page.end(), std::back_inserter(all));
    if (n < kPage) break;
  }
  return all;
}

std::set<std::string> split_lines(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

std::string join_lines(const std::set<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += id + "\n";
  return out;
}

// Pulled images have no file: their dedup key is the sha256 of the embedding's bytes.
std::string embedding_hash(const std::vector<float>& v) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(v.data(), v.size() * sizeof(float), digest, &len, EVP_sha256(), nullptr)) {
    throw ChromaError(ErrorKind::invalid, "sha256 of an embedding failed (OpenSSL)");
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += {hex[digest[i] >> 4], hex[digest[i] & 15]};
  return out;
}

// Whether two embeddings are one image's: the JSON and float32 round trip through ChromaDB
// moves a value by a bit or two, far below this; embeddings of two photos differ by far more.
bool same_image(const std::vector<float>& a, const std::vector<float>& b) {
  constexpr float kTolerance = 1e-5f;
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(std::fabs(a[i] - b[i]) <= kTolerance)) return false;
  }
  return true;
}

template <typename T>
void in_batches(const std::vector<T>& items, size_t batch, const std::function<void(const std::vector<T>&)>& send) {
  for (size_t i = 0; i < items.size(); i += batch) {
    send(std::vector<T>(items.begin() + i, items.begin() + std::min(items.size(), i + batch)));
  }
}

}  // namespace

std::string pushed_key(const std::string& collection_uuid) { return "chroma/" + collection_uuid + "/pushed"; }

PushResult push(Store& store, Client& client, const std::string& name, size_t batch, const Progress& progress) {
  const StoreState st = store.state();
  if (st.model_id.empty())
    throw StoreError(store::ErrorKind::invalid_argument, st.path + ": nothing enrolled yet, nothing to push");
  client.check_server();
  batch = client.max_batch_size(std::max<size_t>(1, batch));
  std::optional<Collection> found = client.find_collection(name);
  Collection c = found ? *found : client.create_collection(name, collection_metadata(st.model_id));
  check_collection(c, st.dim, st.model_id);
  Metadata m = c.metadata;
  if (collection_model(c).empty()) {
    if (const uint64_t n = client.count(c)) {
      throw ChromaError(ErrorKind::mismatch, "ChromaDB collection '" + name + "' has " + std::to_string(n) +
                                                 (n == 1 ? " record" : " records") +
                                                 " and no facegate:model stamp (written by the prototype?): "
                                                 "its embeddings may come from another model. Pull it with --model "
                                                 "into a DB and push that, or push to another --collection");
    }
    m[kModelKey] = st.model_id;
    m[kSpaceKey] = "cosine";
  }
  // Forgotten identities, this DB's and other doors': published before any record is
  // deleted, so a crash in between still leaves every door knowing.
  std::set<std::string> forgotten = collection_forgotten(c);
  for (const Tombstone& t : store.tombstones()) forgotten.insert(t.identity_id);
  if (!forgotten.empty()) m[kForgottenKey] = forgotten_value(forgotten);
  if (m != c.metadata) client.set_metadata(c, m);

  PushResult result;
  std::map<std::string, Record> local;
  std::set<std::string> local_ids;
  for (const Identity& who : store.list_identities()) {
    if (forgotten.count(who.id)) {
      ++result.forgotten_elsewhere;
      if (progress) {
        progress("not pushing identity " + who.id +
                 ": it was forgotten at another door (sync --pull or facegate forget " + who.id + " removes it here)");
      }
      continue;
    }
    local_ids.insert(who.id);
    size_t i = 0;
    for (EmbeddingRecord& e : store.embeddings_of(who.id)) {
      Record r{record_id(who.id, i++), std::move(e.embedding), record_metadata(who.id, who.name)};
      local.emplace(r.id, std::move(r));
    }
  }
  const std::string key = pushed_key(c.id);
  std::set<std::string> pushed = split_lines(store.get_meta(key).value_or(""));
  // Written before the upserts, so identities pushed by a run that then crashed are still
  // known (and their records deleted) if they are forgotten before the next run.
  std::set<std::string> intent = pushed;
  intent.insert(local_ids.begin(), local_ids.end());
  store.set_meta(key, join_lines(intent));

  std::vector<Record> upserts;
  std::vector<std::string> deletes;
  std::set<std::string> present;
  for (const Record& r : read_all(client, c, false)) {
    const auto it = local.find(r.id);
    const auto owner = r.metadata.find(kMongoIdKey);
    const bool ours = owner != r.metadata.end() && intent.count(owner->second);
    const bool dead = owner != r.metadata.end() && forgotten.count(owner->second);
    if (it == local.end()) {
      if (ours || dead) deletes.push_back(r.id);
    } else if (it->second.metadata == r.metadata) {
      present.insert(r.id);
    }
  }
  for (auto& [id, r] : local) {
    if (!present.count(id)) upserts.push_back(std::move(r));
  }

  result.records = local.size();
  in_batches<Record>(upserts, batch, [&](const std::vector<Record>& part) {
    client.upsert(c, part);
    result.upserted += part.size();
    if (progress) progress("upserted " + std::to_string(result.upserted) + "/" + std::to_string(upserts.size()));
  });
  in_batches<std::string>(deletes, batch, [&](const std::vector<std::string>& part) {
    client.remove(c, part);
    result.deleted += part.size();
    if (progress) progress("deleted " + std::to_string(result.deleted) + "/" + std::to_string(deletes.size()));
  });
  store.set_meta(key, join_lines(local_ids));
  return result;
}

PullResult pull(Client& client, const std::string& name, const std::string& db, const std::string& model_id,
                uint32_t dim, const Progress& progress) {
  client.check_server();
  const std::optional<Collection> c = client.find_collection(name);
  if (!c) throw ChromaError(ErrorKind::not_found, "no collection '" + name + "' at " + client.endpoint().server());
  check_collection(*c, dim, model_id);
  PullResult result;
  result.model_id = collection_model(*c).empty() ? model_id : collection_model(*c);
  if (result.model_id.empty()) {
    throw ChromaError(ErrorKind::mismatch, "ChromaDB collection '" + name + "' has no facegate:model stamp (written by "
                                           "the prototype?): pass --model MODEL.fgw, the model its embeddings were "
                                           "computed with");
  }

  std::map<std::string, std::vector<GalleryImage>> by_identity;
  std::map<std::string, std::string> owner_of_name;
  const std::set<std::string> remote_forgotten = collection_forgotten(*c);
  std::set<std::string> skipped;
  const uint32_t want_dim = dim ? dim : c->dimension.value_or(0);
  for (const Record& r : read_all(client, *c, true)) {
    GalleryImage g = decode_record(r, want_dim);
    if (!is_valid_identity_id(g.identity_id)) {
      throw ChromaError(ErrorKind::invalid,
                        "record '" + r.id + "': mongo_id '" + g.identity_id + "' is not a valid identity id");
    }
    // Left behind by a push that has not deleted them yet: never bring them back.
    if (remote_forgotten.count(g.identity_id)) {
      skipped.insert(g.identity_id);
      continue;
    }
    const auto [it, fresh] = owner_of_name.emplace(g.name, g.identity_id);
    if (!fresh && it->second != g.identity_id) {
      throw ChromaError(ErrorKind::invalid, "identity_name '" + g.name + "' belongs to two identities (" + it->second +
                                                " and " + g.identity_id + "); facegate needs unique names");
    }
    by_identity[g.identity_id].push_back(std::move(g));
  }
  result.identities = by_identity.size();
  if (progress)
    progress("read " + std::to_string(result.identities) + (result.identities == 1 ? " identity" : " identities") +
             " from " + client.endpoint().server());

  OpenOptions o;
  o.create_if_missing = true;
  o.model_id = result.model_id;
  Store store = Store::open(db, o);
  for (auto it = by_identity.begin(); it != by_identity.end();) {
    if (store.is_forgotten(it->first)) {
      skipped.insert(it->first);
      it = by_identity.erase(it);
    } else {
      ++it;
    }
  }
  result.skipped_forgotten = skipped.size();
  // Another door's forget reaches this DB too.
  for (const std::string& id : remote_forgotten) {
    if (!is_valid_identity_id(id)) continue;
    if (store.get_identity(id)) {
      store.forget(id);
      ++result.forgotten;
      if (progress) progress("forgot identity " + id + ": it was forgotten at another door");
    } else {
      Tombstone t;
      t.identity_id = id;
      t.forgotten_us = detail::now_us();  // when this DB learnt it
      store.remember_forgotten(t);
    }
  }
  for (const auto& [id, images] : by_identity) {
    const std::string& nm = images.front().name;
    const auto mine = store.get_identity(id);
    const auto named = store.find_identity_by_name(nm);
    if ((mine && mine->name != nm) || (!mine && named)) {
      throw StoreError(store::ErrorKind::conflict,
                       db + ": remote identity " + id + " '" + nm + "' clashes with local identity " +
                           (mine ? mine->id + " '" + mine->name + "'" : named->id + " '" + nm + "'"));
    }
  }
  size_t done = 0;
  size_t shown = 0;  // percent
  for (auto& [id, images] : by_identity) {
    std::sort(images.begin(), images.end(),
              [](const GalleryImage& a, const GalleryImage& b) { return a.position < b.position; });
    // Images this DB holds already (its own, pushed earlier) are not added again: enrolled
    // ones are keyed by their file's hash, not the embedding's, so compare the embeddings.
    const std::vector<EmbeddingRecord> local = store.embeddings_of(id);
    std::vector<EmbeddingRecord> records;
    for (const GalleryImage& g : images) {
      if (std::any_of(local.begin(), local.end(),
                      [&](const EmbeddingRecord& l) { return same_image(l.embedding, g.embedding); }))
        continue;
      EmbeddingRecord e;
      e.identity_id = id;
      e.image_path = "chroma:" + g.record_id;
      e.content_hash = embedding_hash(g.embedding);
      e.model_id = result.model_id;
      e.embedding = g.embedding;
      records.push_back(std::move(e));
    }
    Identity who;
    who.id = id;
    who.name = images.front().name;
    result.added += store.enroll(who, std::move(records)).added.size();
    // One line per percent: a long pull shows progress without a line per identity.
    const size_t percent = ++done * 100 / by_identity.size();
    if (progress && percent > shown) {
      shown = percent;
      progress("pulled " + std::to_string(done) + "/" + std::to_string(by_identity.size()) + " identities");
    }
  }
  std::set<std::string> ids;
  for (const auto& kv : by_identity) ids.insert(kv.first);
  std::set<std::string> pushed = split_lines(store.get_meta(pushed_key(c->id)).value_or(""));
  pushed.insert(ids.begin(), ids.end());
  store.set_meta(pushed_key(c->id), join_lines(pushed));
  return result;
}

}  // namespace fg::store::chroma
