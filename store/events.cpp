#include "store/codec.h"
#include "store/keys.h"
#include "store/store.h"
#include "store/store_impl.h"

namespace fg::store {

uint64_t Store::append_event(Event& event, bool sync) {
  impl_->require_writable("append_event");
  if (event.camera.empty()) throw impl_->error(ErrorKind::invalid_argument, "event has no camera");
  if (event.identity_id && !is_valid_identity_id(*event.identity_id))
    throw impl_->error(ErrorKind::invalid_argument, "event identity id '" + *event.identity_id + "' is invalid");
  std::lock_guard lock(impl_->write_mu);
  event.seq = impl_->event_seq + 1;
  rocksdb::WriteBatch batch;
  batch.Put(impl_->events, detail::event_key(event.time_us, event.seq), detail::encode_event(event));
  batch.Put(impl_->meta, "event_seq", detail::le_u64(event.seq));
  impl_->write(batch, sync, "append_event");
  impl_->event_seq = event.seq;
  return event.seq;
}

std::vector<Event> Store::events(int64_t since_us, int64_t until_us, const std::string& camera) const {
  std::vector<Event> out;
  if (since_us >= until_us) return out;
  const std::string end = detail::event_time_key(until_us);
  auto it = impl_->iterate(impl_->events);
  for (it->Seek(detail::event_time_key(since_us)); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    Event event;
    try {
      event = detail::decode_event(it->value().ToString());
    } catch (const detail::DecodeError& e) {
      throw impl_->corrupt_record("events", it->key(), e);
    }
    if (camera.empty() || event.camera == camera) out.push_back(std::move(event));
  }
  impl_->check(it->status(), "scanning events");
  return out;
}

}  // namespace fg::store
