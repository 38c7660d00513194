// Tombstones of forgotten identities, and retention (prune_events).
#include <cstring>

#include "store/codec.h"
#include "store/keys.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "store/tombstones.h"

namespace fg::store {
namespace detail {

namespace {
constexpr uint8_t kTombstoneVersion = 1;
constexpr uint8_t kPurgedFlag = 1;
}  // namespace

std::string tombstone_key(std::string_view identity_id) {
  return std::string(kTombstonePrefix) + std::string(identity_id);
}

std::string encode_tombstone(const Tombstone& t) {
  std::string out(1, static_cast<char>(kTombstoneVersion));
  out += le_u64(static_cast<uint64_t>(t.forgotten_us));
  out += static_cast<char>(t.events_purged ? kPurgedFlag : 0);
  return out;
}

Tombstone decode_tombstone(std::string_view identity_id, std::string_view bytes) {
  if (bytes.size() != 10)
    throw DecodeError("tombstone of " + std::string(identity_id) + ": " + std::to_string(bytes.size()) +
                      (bytes.size() == 1 ? " byte" : " bytes") + ", expected 10");
  if (static_cast<uint8_t>(bytes[0]) != kTombstoneVersion)
    throw DecodeError("tombstone of " + std::string(identity_id) + ": record version " +
                      std::to_string(static_cast<uint8_t>(bytes[0])) + ", this build reads 1");
  Tombstone t;
  t.identity_id = std::string(identity_id);
  t.forgotten_us = static_cast<int64_t>(read_le_u64(bytes.substr(1, 8)));
  t.events_purged = (static_cast<uint8_t>(bytes[9]) & kPurgedFlag) != 0;
  return t;
}

}  // namespace detail

std::vector<Tombstone> Store::tombstones() const {
  std::vector<Tombstone> out;
  const std::string prefix(detail::kTombstonePrefix);
  auto it = impl_->iterate(impl_->meta);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string id = it->key().ToString().substr(prefix.size());
    try {
      out.push_back(detail::decode_tombstone(id, std::string_view(it->value().data(), it->value().size())));
    } catch (const detail::DecodeError& e) {
      throw impl_->corrupt_record("meta", it->key(), e);
    }
  }
  impl_->check(it->status(), "listing forgotten identities");
  return out;
}

bool Store::is_forgotten(const std::string& identity_id) const {
  return impl_->get(impl_->meta, detail::tombstone_key(identity_id)).has_value();
}

bool Store::remember_forgotten(const Tombstone& tombstone) {
  impl_->require_writable("remember_forgotten");
  if (!is_valid_identity_id(tombstone.identity_id))
    throw impl_->error(ErrorKind::invalid_argument, "forgotten identity id '" + tombstone.identity_id + "' is invalid");
  std::lock_guard lock(impl_->write_mu);
  if (impl_->get(impl_->meta, detail::tombstone_key(tombstone.identity_id))) return false;
  if (impl_->get(impl_->identities, detail::identity_key(tombstone.identity_id)))
    throw impl_->error(ErrorKind::conflict, "identity '" + tombstone.identity_id + "' still exists: forget it instead");
  rocksdb::WriteBatch batch;
  batch.Put(impl_->meta, detail::tombstone_key(tombstone.identity_id), detail::encode_tombstone(tombstone));
  impl_->write(batch, true, "remember_forgotten");
  return true;
}

PruneResult Store::prune_events(int64_t before_us) {
  impl_->require_writable("prune_events");
  std::lock_guard lock(impl_->write_mu);
  PruneResult result;
  rocksdb::WriteBatch batch;
  const std::string end = detail::event_time_key(before_us);
  auto it = impl_->iterate(impl_->events);
  for (it->SeekToFirst(); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    Event event;
    try {
      event = detail::decode_event(it->value().ToString());
    } catch (const detail::DecodeError& e) {
      // A record we cannot read is still older than the cutoff by its key: drop it too.
      batch.Delete(impl_->events, it->key());
      ++result.unknown;
      continue;
    }
    batch.Delete(impl_->events, it->key());
    ++(event.kind == EventKind::attendance ? result.attendance : result.unknown);
    if (!event.thumbnail_jpeg.empty()) ++result.thumbnails;
  }
  impl_->check(it->status(), "scanning events to prune");
  // The cutoff only moves forward: a shorter retention later must not re-send old deletions.
  const std::optional<int64_t> previous = pruned_before();
  if (!previous || *previous < before_us)
    batch.Put(impl_->meta, detail::kPrunedBeforeKey, detail::le_u64(static_cast<uint64_t>(before_us)));
  impl_->write(batch, true, "prune_events");
  return result;
}

std::optional<int64_t> Store::pruned_before() const {
  auto v = impl_->get(impl_->meta, detail::kPrunedBeforeKey);
  if (!v) return std::nullopt;
  try {
    return static_cast<int64_t>(detail::read_le_u64(*v));
  } catch (const detail::DecodeError& e) {
    throw impl_->error(ErrorKind::corrupt, std::string("meta pruned_before: ") + e.what());
  }
}

}  // namespace fg::store
