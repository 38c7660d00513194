// What the store keeps, and how each record is laid out on disk.
//
// Column families and keys (ids never contain '/', see ids.h):
//   identities  "i/" id                      -> identity record
//               "n/" name                    -> id  (names are unique within a DB)
//   embeddings  "e/" id "/" be64(label)       -> embedding record
//               "h/" content_hash            -> be64(label) id  (the dedup key)
//   events      be64(time_us ^ 2^63) be64(seq) -> event record  (time-ordered, so range scans are seeks)
//   meta        "schema_version" u32 | "db_id" str | "model_id" str | "dim" u32 | "generation" u64
//               | "next_label" u64 | "embedding_count" u64 | "label_sum" u64 | "event_seq" u64
//               | "threshold" f64
//               | "user/" key -> caller's bytes (set_meta)
//               | "forgotten/" id -> tombstone: u8 1 | i64 forgotten_us | u8 flags (1 = events purged)
//               | "pruned_before" i64 (the latest retention cutoff)
//               (the last two were added without a schema bump: older builds ignore them)
//
// Records, all integers little-endian, str = u32 byte length + bytes, each starting with a
// u8 record version (1 for all three today):
//   identity   u8 1 | i64 created_us | str name | str extra_json
//   embedding  u8 1 | u64 label | i64 enrolled_us | str identity_id | str image_path
//              | str content_hash | str model_id | u8 has_box | [4 x f32 box if has_box]
//              | u32 dim | dim x f32
//   event      u8 1 | u64 seq | i64 time_us | i32 utc_offset_s | str camera | u8 kind
//              | u8 flags (1 = identity_id, 2 = video_time) | [str identity_id] | str name
//              | f32 score | u32 frames | [f64 video_time_s] | u32 n | n x u8 thumbnail_jpeg
// The schema version in meta changes when a key layout or record version changes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fg::store {

struct Identity {
  std::string id;            // stable; empty asks the store to generate one (ids.h)
  std::string name;          // any UTF-8, unique within a DB
  int64_t created_us = 0;    // unix micros; 0 asks the store for "now"
  std::string extra_json;    // "" or one JSON document, kept verbatim
  uint64_t image_count = 0;  // derived from the embeddings on read; never stored
};

struct EmbeddingRecord {
  std::string identity_id;
  uint64_t label = 0;        // assigned by Store::enroll, unique and never reused; the index label
  std::string image_path;
  std::string content_hash;  // sha256 of the file bytes, 64 hex digits (stored lower case)
  std::string model_id;      // "" in Store::enroll means the DB's model
  std::optional<std::array<float, 4>> box;  // face box x1, y1, x2, y2 in image pixels
  std::vector<float> embedding;
  int64_t enrolled_us = 0;   // 0 asks the store for "now"
};

enum class EventKind : uint8_t { attendance = 1, unknown = 2 };

struct Event {
  uint64_t seq = 0;                       // assigned by Store::append_event, increasing
  int64_t time_us = 0;                    // unix micros (UTC)
  int32_t utc_offset_s = 0;               // the camera's zone offset, for local-time display
  std::string camera;
  EventKind kind = EventKind::attendance;
  std::optional<std::string> identity_id;
  std::string name;
  float score = 0.f;
  uint32_t frames = 0;
  std::optional<double> video_time_s;     // position in a video file, when the source is one
  std::vector<uint8_t> thumbnail_jpeg;    // empty when none
};

}  // namespace fg::store
