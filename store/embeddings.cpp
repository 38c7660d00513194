#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "store/clock.h"
#include "store/codec.h"
#include "store/keys.h"
#include "store/store.h"
#include "store/store_impl.h"

namespace fg::store {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

}  // namespace

EmbeddingRecord Store::Impl::embedding_at(const rocksdb::Iterator& it) const {
  try {
    return detail::decode_embedding(it.value().ToString());
  } catch (const detail::DecodeError& e) {
    throw corrupt_record("embeddings", it.key(), e);
  }
}

std::optional<Duplicate> Store::find_image(const std::string& content_hash) const {
  if (!is_valid_content_hash(content_hash)) return std::nullopt;
  const std::string key = detail::hash_key(lower(content_hash));
  auto value = impl_->get(impl_->embeddings, key);
  if (!value) return std::nullopt;
  if (value->size() < 9) throw impl_->corrupt_record("embeddings", key, detail::DecodeError("short value"));
  const std::string owner = value->substr(8);
  auto bytes = impl_->get(impl_->embeddings, detail::embedding_key(owner, detail::read_be_u64(*value)));
  if (!bytes) throw impl_->error(ErrorKind::corrupt, "hash " + content_hash + " points at a missing embedding");
  Duplicate out;
  out.content_hash = lower(content_hash);
  out.owner_id = owner;
  try {
    out.image_path = detail::decode_embedding(*bytes).image_path;
  } catch (const detail::DecodeError& e) {
    throw impl_->corrupt_record("embeddings", detail::embedding_key(owner, detail::read_be_u64(*value)), e);
  }
  return out;
}

bool Store::has_image(const std::string& content_hash) const {
  return is_valid_content_hash(content_hash) &&
         impl_->get(impl_->embeddings, detail::hash_key(lower(content_hash))).has_value();
}

EnrollResult Store::enroll(const Identity& who, std::vector<EmbeddingRecord> records) {
  impl_->require_writable("enroll");
  for (auto& rec : records) {
    if (!is_valid_content_hash(rec.content_hash))
      throw impl_->error(ErrorKind::invalid_argument,
                         rec.image_path + ": content hash '" + rec.content_hash + "' is not 64 hex digits");
    rec.content_hash = lower(rec.content_hash);
    if (rec.embedding.empty() || !all_finite(rec.embedding))
      throw impl_->error(ErrorKind::invalid_argument, rec.image_path + ": embedding is empty or not finite");
    if (rec.box && !all_finite({rec.box->begin(), rec.box->end()}))
      throw impl_->error(ErrorKind::invalid_argument, rec.image_path + ": face box is not finite");
  }

  std::lock_guard lock(impl_->write_mu);
  EnrollResult result;
  std::optional<Identity> existing = who.id.empty() ? std::nullopt : impl_->read_identity(who.id);
  rocksdb::WriteBatch batch;
  if (existing) {
    result.identity = std::move(*existing);
  } else {
    result.identity = impl_->prepare_new_identity(who);
    impl_->check_identity_free(result.identity);
    result.identity_created = true;
    batch.Put(impl_->identities, detail::identity_key(result.identity.id), detail::encode_identity(result.identity));
    batch.Put(impl_->identities, detail::name_key(result.identity.name), result.identity.id);
  }

  std::string model = !impl_->model_id.empty() ? impl_->model_id : impl_->opened_model_id;
  uint32_t dim = impl_->dim;
  Impl::Counters c = impl_->counters;
  std::set<std::string> seen;
  for (auto& rec : records) {
    if (auto value = impl_->get(impl_->embeddings, detail::hash_key(rec.content_hash))) {
      result.duplicates.push_back({rec.content_hash, rec.image_path, value->size() > 8 ? value->substr(8) : ""});
      continue;
    }
    if (!seen.insert(rec.content_hash).second) {
      result.duplicates.push_back({rec.content_hash, rec.image_path, result.identity.id});
      continue;
    }
    if (rec.model_id.empty()) rec.model_id = model;
    if (model.empty()) model = rec.model_id;
    if (rec.model_id.empty())
      throw impl_->error(ErrorKind::invalid_argument, rec.image_path + ": no model id (the DB has none yet)");
    if (rec.model_id != model)
      throw impl_->error(ErrorKind::model_mismatch, rec.image_path + ": embedding from model '" + rec.model_id +
                                                        "', the DB holds model '" + model + "'");
    if (dim == 0) dim = static_cast<uint32_t>(rec.embedding.size());
    if (rec.embedding.size() != dim)
      throw impl_->error(ErrorKind::invalid_argument, rec.image_path + ": embedding has " +
                                                          std::to_string(rec.embedding.size()) +
                                                          " values, the DB holds dim " + std::to_string(dim));
    rec.identity_id = result.identity.id;
    rec.label = c.next_label++;
    c.label_sum += rec.label;
    if (rec.enrolled_us == 0) rec.enrolled_us = detail::now_us();
    batch.Put(impl_->embeddings, detail::embedding_key(rec.identity_id, rec.label), detail::encode_embedding(rec));
    batch.Put(impl_->embeddings, detail::hash_key(rec.content_hash), detail::be_u64(rec.label) + rec.identity_id);
    result.added.push_back(std::move(rec));
  }

  const bool changed = !result.added.empty();
  if (changed) {
    ++c.generation;
    c.embedding_count += result.added.size();
    batch.Put(impl_->meta, "model_id", model);
    batch.Put(impl_->meta, "dim", detail::le_u32(dim));
    impl_->put_counters(batch, c);
  }
  if (batch.Count() > 0) impl_->write(batch, true, "enroll");
  if (changed) {
    impl_->model_id = model;
    impl_->dim = dim;
    impl_->counters = c;
  }
  if (result.identity_created) ++impl_->identity_count;
  result.identity.image_count = impl_->count_images(result.identity.id);
  return result;
}

std::vector<EmbeddingRecord> Store::embeddings_of(const std::string& identity_id) const {
  std::vector<EmbeddingRecord> out;
  if (!is_valid_identity_id(identity_id)) return out;
  const std::string prefix = detail::embedding_prefix(identity_id);
  auto it = impl_->iterate(impl_->embeddings);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    out.push_back(impl_->embedding_at(*it));
  impl_->check(it->status(), "reading embeddings of " + identity_id);
  return out;
}

void Store::for_each_embedding(const std::function<void(const EmbeddingRecord&)>& visit) const {
  const std::string prefix(detail::kEmbeddingPrefix);
  auto it = impl_->iterate(impl_->embeddings);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    visit(impl_->embedding_at(*it));
  impl_->check(it->status(), "reading embeddings");
}

void Store::change_model(const std::string& model_id, const std::vector<EmbeddingRecord>& reembedded) {
  impl_->require_writable("change_model");
  if (model_id.empty()) throw impl_->error(ErrorKind::invalid_argument, "change_model: empty model id");
  std::map<std::pair<std::string, uint64_t>, const EmbeddingRecord*> updates;
  uint32_t dim = 0;
  for (const auto& rec : reembedded) {
    if (rec.embedding.empty() || !all_finite(rec.embedding))
      throw impl_->error(ErrorKind::invalid_argument, rec.image_path + ": embedding is empty or not finite");
    if (dim == 0) dim = static_cast<uint32_t>(rec.embedding.size());
    if (rec.embedding.size() != dim)
      throw impl_->error(ErrorKind::invalid_argument, "change_model: embeddings of different dims (" +
                                                          std::to_string(dim) + " and " +
                                                          std::to_string(rec.embedding.size()) + ")");
    updates[{rec.identity_id, rec.label}] = &rec;
  }

  std::lock_guard lock(impl_->write_mu);
  rocksdb::WriteBatch batch;
  Impl::Counters c = impl_->counters;
  ++c.generation;
  c.embedding_count = 0;
  c.label_sum = 0;
  const std::string prefix(detail::kEmbeddingPrefix);
  auto it = impl_->iterate(impl_->embeddings);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    EmbeddingRecord rec = impl_->embedding_at(*it);
    auto found = updates.find({rec.identity_id, rec.label});
    if (found == updates.end()) {
      batch.Delete(impl_->embeddings, it->key());
      batch.Delete(impl_->embeddings, detail::hash_key(rec.content_hash));
      continue;
    }
    rec.embedding = found->second->embedding;
    rec.box = found->second->box;
    rec.model_id = model_id;
    batch.Put(impl_->embeddings, it->key(), detail::encode_embedding(rec));
    updates.erase(found);
    ++c.embedding_count;
    c.label_sum += rec.label;
  }
  impl_->check(it->status(), "reading embeddings");
  if (!updates.empty()) {
    const auto& [id, label] = updates.begin()->first;
    throw impl_->error(ErrorKind::invalid_argument,
                       "change_model: identity '" + id + "' has no embedding with label " + std::to_string(label));
  }

  batch.Put(impl_->meta, "model_id", model_id);
  batch.Put(impl_->meta, "dim", detail::le_u32(dim));
  // A calibrated threshold measures the old model's scores: kept, it would pass for
  // calibrated with the new one (a loose one lets strangers in without a warning).
  if (model_id != impl_->model_id) batch.Delete(impl_->meta, "threshold");
  impl_->put_counters(batch, c);
  impl_->write(batch, true, "change_model");
  impl_->model_id = model_id;
  impl_->dim = dim;
  impl_->counters = c;
}

}  // namespace fg::store
