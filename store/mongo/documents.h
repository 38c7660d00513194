// facegate records <-> the prototype's MongoDB documents (BSON), with no server involved:
//   attendance.identities  {_id: ObjectId, name, gallery_count, probe_count}
//   attendance.events      {_id: "<db_id>:<seq>", time: Date, time_us, utc_offset_s, camera,
//                           kind: "attendance"|"unknown", [identity_id], name, score, frames,
//                           [video_time_s], [thumbnail: binary JPEG]}
// An identity id of 24 hex digits is an ObjectId in MongoDB; any other id a string. The
// prototype's probe_count has no place in a facegate identity: it rides in extra_json
// ({"probe_count": N}) so that a pull then a push gives it back.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <string>
#include <utility>

#include "store/records.h"

namespace fg::store::mongo {

// Owns one bson_t (a class, not unique_ptr: bson_t's alignment attribute upsets templates).
class Bson {
 public:
  explicit Bson(bson_t* doc = nullptr) : doc_(doc) {}
  Bson(Bson&& o) noexcept : doc_(std::exchange(o.doc_, nullptr)) {}
  Bson& operator=(Bson&& o) noexcept {
    std::swap(doc_, o.doc_);
    return *this;
  }
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;
  ~Bson() {
    if (doc_) bson_destroy(doc_);
  }
  bson_t* get() const { return doc_; }

 private:
  bson_t* doc_;
};

// The `_id` filter {_id: ...} for an identity id.
Bson id_filter(const std::string& identity_id);

Bson identity_document(const Identity& identity, uint64_t gallery_count);

struct MongoIdentity {
  Identity identity;             // id, name, extra_json {"probe_count": N}
  uint64_t gallery_count = 0;
};
// Throws std::invalid_argument naming the field for a document without a usable _id or name.
MongoIdentity identity_from_document(const bson_t* doc);

// The event's _id: unique per source DB and sequence number, so re-sending is idempotent.
std::string event_id(const std::string& db_id, uint64_t seq);
Bson event_document(const Event& event, const std::string& db_id);
// Throws std::invalid_argument naming the field for a document that is not an event.
Event event_from_document(const bson_t* doc);

}  // namespace fg::store::mongo
