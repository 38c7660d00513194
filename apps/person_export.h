// Right of access: everything a facegate DB holds about one person, as one JSON document.
//
//   {"format": "facegate-person-export", "version": 1, "exported_at": ISO 8601, "db": path,
//    "identity": {"id", "name", "created", "created_us", "extra": JSON | null}
//                (forgotten, events kept: {"id", "name": the events' | null, "forgotten",
//                "forgotten_us"}),
//    "images": [{"label", "image_path", "content_hash", "enrolled", "enrolled_us",
//                "box": [x1, y1, x2, y2] | null, "model_id", "embedding": [floats]}],
//    "events": [{"seq", "time", "time_us", "utc_offset_s", "camera", "kind", "name", "score",
//                "frames", "video_time_s" | null, "thumbnail_jpeg_base64": base64 | null}],
//    "invalid_utf8_escaped": [JSON pointers]}  (only when not empty, see below)
//
// JSON strings must be UTF-8, but an older facegate enrolled folder names as they were (a
// Latin-1 "Ren\xE9e" from a Windows share), and image paths are whatever the filesystem had.
// Such bytes are escaped, not replaced: each one is written as the text "\xE9", so the
// person gets back the exact bytes held about them; "invalid_utf8_escaped" lists the strings
// (as JSON pointers, "/identity/name") where that was done.
//
// One self-contained file (face thumbnails inline as base64 JPEG) so that it is written, and
// handed over, as a whole.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace fg::apps {

// A forgotten identity whose events were kept is found by its id or by the name its events
// carry. Throws std::runtime_error when the DB has nothing under that id or name.
nlohmann::json export_person(const store::Store& store, const std::string& id_or_name, int64_t now_us);

// Escapes, in every string value of `doc`, each byte that is not well-formed UTF-8 as the text
// "\xE9" (escape_invalid_utf8), so that doc.dump() cannot throw; returns the JSON pointers of
// the strings changed.
std::vector<std::string> escape_invalid_utf8_in(nlohmann::json& doc);

std::string base64(const std::vector<uint8_t>& bytes);

}  // namespace fg::apps
