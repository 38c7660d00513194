#include "apps/person_export.h"

#include <climits>
#include <set>
#include <stdexcept>

#include "apps/attend/events.h"
#include "apps/utf8.h"

namespace fg::apps {

std::string base64(const std::vector<uint8_t>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t{bytes[i]} << 16) | (i + 1 < bytes.size() ? uint32_t{bytes[i + 1]} << 8 : 0) |
                       (i + 2 < bytes.size() ? uint32_t{bytes[i + 2]} : 0);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? table[n & 63] : '=';
  }
  return out;
}

namespace {

void escape_strings(nlohmann::json& j, const std::string& pointer, std::vector<std::string>& changed) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (!valid_utf8(s)) {
      j = escape_invalid_utf8(s);
      changed.push_back(pointer.empty() ? "/" : pointer);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) escape_strings(j[i], pointer + "/" + std::to_string(i), changed);
  } else if (j.is_object()) {
    for (auto& [key, value] : j.items())
      escape_strings(value, (nlohmann::json::json_pointer(pointer) / key).to_string(), changed);
  }
}

std::string when(int64_t us) { return attend::iso8601(us, attend::local_utc_offset(us)); }

// The ids of forgotten identities that `id_or_name` names: the id itself, or the ids of the
// kept events that carry the name.
std::set<std::string> forgotten_ids(const store::Store& store, const std::string& id_or_name) {
  std::set<std::string> ids;
  if (store.is_forgotten(id_or_name)) ids.insert(id_or_name);
  const std::string name = store::normalize_name(id_or_name);
  for (const store::Event& e : store.events(INT64_MIN, INT64_MAX))
    if (e.identity_id && store::normalize_name(e.name) == name && store.is_forgotten(*e.identity_id))
      ids.insert(*e.identity_id);
  return ids;
}

}  // namespace

nlohmann::json export_person(const store::Store& store, const std::string& id_or_name, int64_t now_us) {
  using nlohmann::json;
  const auto who = store.find_identity(id_or_name);
  json identity;
  std::string id;
  if (who) {
    id = who->id;
    identity = {{"id", who->id},
                {"name", who->name},
                {"created", when(who->created_us)},
                {"created_us", who->created_us},
                {"extra", who->extra_json.empty() ? json(nullptr) : json::parse(who->extra_json, nullptr, false)}};
  } else {
    // Forgotten without --purge-events: the identity and its images are gone, its events
    // (with the name they were logged under) are kept as history, and they are still the
    // person's data.
    const std::set<std::string> ids = forgotten_ids(store, id_or_name);
    if (ids.size() > 1)
      throw std::runtime_error(store.state().path + ": '" + printable(id_or_name) + "' names " +
                               std::to_string(ids.size()) + " forgotten identities: give one of their ids (" +
                               *ids.begin() + ", ...)");
    if (ids.empty())
      throw std::runtime_error(store.state().path + ": no identity with id or name '" + printable(id_or_name) + "'");
    id = *ids.begin();
    int64_t forgotten_us = 0;
    for (const store::Tombstone& t : store.tombstones())
      if (t.identity_id == id) forgotten_us = t.forgotten_us;
    identity = {{"id", id}, {"name", nullptr}, {"forgotten", when(forgotten_us)}, {"forgotten_us", forgotten_us}};
  }
  const int32_t zone = attend::local_utc_offset(now_us);

  json images = json::array();
  for (const store::EmbeddingRecord& e : who ? store.embeddings_of(id) : std::vector<store::EmbeddingRecord>{}) {
    json box = nullptr;
    if (e.box) box = {(*e.box)[0], (*e.box)[1], (*e.box)[2], (*e.box)[3]};
    images.push_back({{"label", e.label},
                      {"image_path", e.image_path},
                      {"content_hash", e.content_hash},
                      {"enrolled", when(e.enrolled_us)},
                      {"enrolled_us", e.enrolled_us},
                      {"box", box},
                      {"model_id", e.model_id.empty() ? store.state().model_id : e.model_id},
                      {"embedding", e.embedding}});
  }

  json events = json::array();
  for (const store::Event& e : store.events(INT64_MIN, INT64_MAX)) {
    if (e.identity_id != id) continue;
    if (identity["name"].is_null()) identity["name"] = e.name;
    events.push_back(
        {{"seq", e.seq},
         {"time", attend::iso8601(e.time_us, e.utc_offset_s)},
         {"time_us", e.time_us},
         {"utc_offset_s", e.utc_offset_s},
         {"camera", e.camera},
         {"kind", e.kind == store::EventKind::attendance ? "attendance" : "unknown"},
         {"name", e.name},
         {"score", e.score},
         {"frames", e.frames},
         {"video_time_s", e.video_time_s ? json(*e.video_time_s) : json(nullptr)},
         {"thumbnail_jpeg_base64", e.thumbnail_jpeg.empty() ? json(nullptr) : json(base64(e.thumbnail_jpeg))}});
  }

  json doc = {{"format", "facegate-person-export"},
              {"version", 1},
              {"exported_at", attend::iso8601(now_us, zone)},
              {"db", store.state().path},
              {"identity", std::move(identity)},
              {"images", std::move(images)},
              {"events", std::move(events)}};
  const std::vector<std::string> escaped = escape_invalid_utf8_in(doc);
  if (!escaped.empty()) doc["invalid_utf8_escaped"] = escaped;
  return doc;
}

std::vector<std::string> escape_invalid_utf8_in(nlohmann::json& doc) {
  std::vector<std::string> changed;
  escape_strings(doc, "", changed);
  return changed;
}

}  // namespace fg::apps
