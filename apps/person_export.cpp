#include "apps/person_export.h"

#include <climits>
#include <stdexcept>

#include "apps/attend/events.h"

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

nlohmann::json export_person(const store::Store& store, const std::string& id_or_name, int64_t now_us) {
  using nlohmann::json;
  const auto who = store.find_identity(id_or_name);
  if (!who) throw std::runtime_error(store.state().path + ": no identity with id or name '" + id_or_name + "'");
  const int32_t zone = attend::local_utc_offset(now_us);

  json identity = {{"id", who->id},
                   {"name", who->name},
                   {"created", attend::iso8601(who->created_us, attend::local_utc_offset(who->created_us))},
                   {"created_us", who->created_us},
                   {"extra", who->extra_json.empty() ? json(nullptr) : json::parse(who->extra_json, nullptr, false)}};

  json images = json::array();
  for (const store::EmbeddingRecord& e : store.embeddings_of(who->id)) {
    json box = nullptr;
    if (e.box) box = {(*e.box)[0], (*e.box)[1], (*e.box)[2], (*e.box)[3]};
    images.push_back({{"label", e.label},
                      {"image_path", e.image_path},
                      {"content_hash", e.content_hash},
                      {"enrolled", attend::iso8601(e.enrolled_us, attend::local_utc_offset(e.enrolled_us))},
                      {"enrolled_us", e.enrolled_us},
                      {"box", box},
                      {"model_id", e.model_id.empty() ? store.state().model_id : e.model_id},
                      {"embedding", e.embedding}});
  }

  json events = json::array();
  for (const store::Event& e : store.events(INT64_MIN, INT64_MAX)) {
    if (e.identity_id != who->id) continue;
    events.push_back({{"seq", e.seq},
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

  return {{"format", "facegate-person-export"},
          {"version", 1},
          {"exported_at", attend::iso8601(now_us, zone)},
          {"db", store.state().path},
          {"identity", std::move(identity)},
          {"images", std::move(images)},
          {"events", std::move(events)}};
}

}  // namespace fg::apps
