#include <nlohmann/json.hpp>

#include <set>
#include <unordered_map>

#include "store/clock.h"
#include "store/codec.h"
#include "store/keys.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "store/tombstones.h"

namespace fg::store {

std::optional<Identity> Store::Impl::read_identity(const std::string& id) const {
  const std::string key = detail::identity_key(id);
  auto bytes = get(identities, key);
  if (!bytes) return std::nullopt;
  try {
    return detail::decode_identity(id, *bytes);
  } catch (const detail::DecodeError& e) {
    throw corrupt_record("identities", key, e);
  }
}

uint64_t Store::Impl::count_images(const std::string& id) const {
  const std::string prefix = detail::embedding_prefix(id);
  uint64_t n = 0;
  auto it = iterate(embeddings);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
  check(it->status(), "counting images of " + id);
  return n;
}

Identity Store::Impl::prepare_new_identity(Identity identity) const {
  if (identity.id.empty()) identity.id = new_identity_id();
  if (!is_valid_identity_id(identity.id))
    throw error(ErrorKind::invalid_argument,
                "identity id '" + identity.id + "' is not 1..64 characters of [A-Za-z0-9_.:-]");
  if (identity.name.empty()) throw error(ErrorKind::invalid_argument, "identity name is empty");
  identity.name = normalize_name(identity.name);
  if (!identity.extra_json.empty() && !nlohmann::json::accept(identity.extra_json))
    throw error(ErrorKind::invalid_argument, "extra_json of '" + identity.name + "' is not valid JSON");
  if (identity.created_us == 0) identity.created_us = detail::now_us();
  identity.image_count = 0;
  return identity;
}

void Store::Impl::check_identity_free(const Identity& identity) const {
  if (get(identities, detail::identity_key(identity.id)))
    throw error(ErrorKind::conflict, "identity id '" + identity.id + "' already exists");
  if (auto other = get(identities, detail::name_key(identity.name)))
    throw error(ErrorKind::conflict, "name '" + identity.name + "' is already identity '" + *other + "'");
  // A forgotten id stays dead, so that no pull or replayed enroll brings the person back.
  if (get(meta, detail::tombstone_key(identity.id)))
    throw error(ErrorKind::conflict, "identity id '" + identity.id +
                                         "' was forgotten and cannot be used again (enroll the person anew "
                                         "to get a new id)");
}

Identity Store::add_identity(Identity identity) {
  impl_->require_writable("add_identity");
  identity = impl_->prepare_new_identity(std::move(identity));
  std::lock_guard lock(impl_->write_mu);
  impl_->check_identity_free(identity);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->identities, detail::identity_key(identity.id), detail::encode_identity(identity));
  batch.Put(impl_->identities, detail::name_key(identity.name), identity.id);
  impl_->write(batch, true, "add_identity");
  ++impl_->identity_count;
  return identity;
}

std::optional<Identity> Store::get_identity(const std::string& id) const {
  if (!is_valid_identity_id(id)) return std::nullopt;
  auto identity = impl_->read_identity(id);
  if (identity) identity->image_count = impl_->count_images(id);
  return identity;
}

std::vector<std::string> Store::Impl::own_name_keys(const Identity& identity) const {
  std::vector<std::string> keys;
  for (const std::string& key : {detail::name_key(identity.name), detail::stored_name_key(identity.name)}) {
    const auto id = get(identities, key);
    if (id && *id == identity.id && (keys.empty() || keys.front() != key)) keys.push_back(key);
  }
  return keys;
}

// A name whose NFC form another identity already holds stays as it was stored (two people
// are not merged behind the user's back); lookups by its exact bytes still find it.
void Store::Impl::normalize_stored_names() {
  rocksdb::WriteBatch batch;
  std::set<std::string> claimed;
  const std::string prefix = "n/";
  auto it = iterate(identities);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string name = it->key().ToString().substr(prefix.size());
    const std::string key = detail::name_key(name);
    if (key == it->key().ToString() || get(identities, key) || !claimed.insert(key).second) continue;
    auto identity = read_identity(it->value().ToString());
    if (!identity) continue;
    identity->name = normalize_name(name);
    batch.Delete(identities, it->key());
    batch.Put(identities, key, identity->id);
    batch.Put(identities, detail::identity_key(identity->id), detail::encode_identity(*identity));
  }
  check(it->status(), "reading names");
  if (batch.Count() > 0) write(batch, true, "rewriting names in Unicode NFC");
}

std::optional<Identity> Store::find_identity_by_name(const std::string& name) const {
  auto id = impl_->get(impl_->identities, detail::name_key(name));
  if (!id) id = impl_->get(impl_->identities, detail::stored_name_key(name));
  if (!id) return std::nullopt;
  auto identity = get_identity(*id);
  if (!identity)
    throw impl_->error(ErrorKind::corrupt, "name '" + name + "' points at missing identity '" + *id + "'");
  return identity;
}

std::optional<Identity> Store::find_identity(const std::string& id_or_name) const {
  if (auto identity = get_identity(id_or_name)) return identity;
  return find_identity_by_name(id_or_name);
}

std::vector<Identity> Store::list_identities() const {
  std::vector<Identity> out;
  auto it = impl_->iterate(impl_->identities);
  const std::string prefix(detail::kIdentityPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string id = it->key().ToString().substr(prefix.size());
    try {
      out.push_back(detail::decode_identity(id, it->value().ToString()));
    } catch (const detail::DecodeError& e) {
      throw impl_->corrupt_record("identities", it->key(), e);
    }
  }
  impl_->check(it->status(), "listing identities");

  std::unordered_map<std::string_view, Identity*> by_id;
  for (auto& identity : out) by_id.emplace(identity.id, &identity);
  auto emb = impl_->iterate(impl_->embeddings);
  const std::string eprefix(detail::kEmbeddingPrefix);
  for (emb->Seek(eprefix); emb->Valid() && emb->key().starts_with(eprefix); emb->Next()) {
    auto found = by_id.find(detail::id_of_embedding_key(std::string_view(emb->key().data(), emb->key().size())));
    if (found != by_id.end()) ++found->second->image_count;
  }
  impl_->check(emb->status(), "counting images");
  return out;
}

void Store::Impl::drop_events_of(const std::string& identity_id, bool purge, rocksdb::WriteBatch& batch,
                                 ForgetResult& result) const {
  // Kept events stay as history, but a face image is biometric data: strip their thumbnails.
  auto ev = iterate(events);
  for (ev->SeekToFirst(); ev->Valid(); ev->Next()) {
    Event event;
    try {
      event = detail::decode_event(ev->value().ToString());
    } catch (const detail::DecodeError& e) {
      throw corrupt_record("events", ev->key(), e);
    }
    if (event.identity_id != identity_id) continue;
    if (purge) {
      batch.Delete(events, ev->key());
      ++result.events_purged;
    } else if (!event.thumbnail_jpeg.empty()) {
      event.thumbnail_jpeg.clear();
      batch.Put(events, ev->key(), detail::encode_event(event));
      ++result.thumbnails_removed;
    }
  }
  check(ev->status(), "scanning events");
}

ForgetResult Store::forget(const std::string& identity_id, bool purge_events) {
  impl_->require_writable("forget");
  std::lock_guard lock(impl_->write_mu);
  auto identity = is_valid_identity_id(identity_id) ? impl_->read_identity(identity_id) : std::nullopt;
  if (!identity) return purge_forgotten_events(identity_id, purge_events);

  ForgetResult result;
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->identities, detail::identity_key(identity_id));
  for (const std::string& key : impl_->own_name_keys(*identity)) batch.Delete(impl_->identities, key);

  const std::string prefix = detail::embedding_prefix(identity_id);
  auto it = impl_->iterate(impl_->embeddings);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    EmbeddingRecord rec = impl_->embedding_at(*it);
    batch.Delete(impl_->embeddings, it->key());
    batch.Delete(impl_->embeddings, detail::hash_key(rec.content_hash));
    result.labels.push_back(rec.label);
  }
  impl_->check(it->status(), "reading embeddings of " + identity_id);
  impl_->drop_events_of(identity_id, purge_events, batch, result);

  Tombstone tomb;
  tomb.identity_id = identity_id;
  tomb.forgotten_us = detail::now_us();
  tomb.events_purged = purge_events;
  batch.Put(impl_->meta, detail::tombstone_key(identity_id), detail::encode_tombstone(tomb));

  Impl::Counters c = impl_->counters;
  if (!result.labels.empty()) ++c.generation;
  c.embedding_count -= result.labels.size();
  for (uint64_t label : result.labels) c.label_sum -= label;
  impl_->put_counters(batch, c);
  impl_->write(batch, true, "forget");
  impl_->counters = c;
  --impl_->identity_count;
  identity->image_count = result.labels.size();
  result.identity = std::move(*identity);
  return result;
}

ForgetResult Store::purge_forgotten_events(const std::string& identity_id, bool purge_events) {
  const std::string key = detail::tombstone_key(identity_id);
  const auto bytes = is_valid_identity_id(identity_id) ? impl_->get(impl_->meta, key) : std::nullopt;
  if (!bytes) throw impl_->error(ErrorKind::not_found, "no identity '" + identity_id + "'");
  Tombstone tomb;
  try {
    tomb = detail::decode_tombstone(identity_id, *bytes);
  } catch (const detail::DecodeError& e) {
    throw impl_->corrupt_record("meta", key, e);
  }
  if (!purge_events || tomb.events_purged) {
    throw impl_->error(ErrorKind::not_found, "identity '" + identity_id + "' was forgotten already" +
                                                 (tomb.events_purged ? ", its events purged" : ""));
  }
  ForgetResult result;
  result.identity.id = identity_id;
  rocksdb::WriteBatch batch;
  impl_->drop_events_of(identity_id, true, batch, result);
  // The flag makes the next push purge the id's remote events too; when it was forgotten stays.
  tomb.events_purged = true;
  batch.Put(impl_->meta, key, detail::encode_tombstone(tomb));
  impl_->write(batch, true, "forget");
  return result;
}

}  // namespace fg::store
