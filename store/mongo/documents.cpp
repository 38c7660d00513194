#include "store/mongo/documents.h"

#include <cctype>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace fg::store::mongo {
namespace {

bool is_object_id(const std::string& id) {
  if (id.size() != 24) return false;
  for (char c : id) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void append_id(bson_t* doc, const char* key, const std::string& id) {
  if (is_object_id(id)) {
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, id.c_str());
    BSON_APPEND_OID(doc, key, &oid);
  } else {
    BSON_APPEND_UTF8(doc, key, id.c_str());
  }
}

std::string read_id(const bson_iter_t& it, const char* what) {
  if (BSON_ITER_HOLDS_OID(&it)) {
    char hex[25];
    bson_oid_to_string(bson_iter_oid(&it), hex);
    return hex;
  }
  if (BSON_ITER_HOLDS_UTF8(&it)) return bson_iter_utf8(&it, nullptr);
  throw std::invalid_argument(std::string(what) + ": expected an ObjectId or a string");
}

const char* type_name(bson_type_t t) {
  switch (t) {
    case BSON_TYPE_DOUBLE: return "double";
    case BSON_TYPE_UTF8: return "string";
    case BSON_TYPE_DOCUMENT: return "document";
    case BSON_TYPE_ARRAY: return "array";
    case BSON_TYPE_BINARY: return "binary";
    case BSON_TYPE_OID: return "ObjectId";
    case BSON_TYPE_BOOL: return "bool";
    case BSON_TYPE_DATE_TIME: return "date";
    case BSON_TYPE_NULL: return "null";
    case BSON_TYPE_INT32: return "int32";
    case BSON_TYPE_INT64: return "int64";
    default: return "other";
  }
}

// The document's field names and types, never its values: an event carries a face thumbnail,
// and error messages end up in logs.
std::string field_names(const bson_t* doc) {
  std::string s = "{";
  bson_iter_t it;
  if (bson_iter_init(&it, doc)) {
    while (bson_iter_next(&it)) {
      if (s.size() > 200) {
        s += ", ...";
        break;
      }
      s += (s.size() > 1 ? ", " : "") + std::string(bson_iter_key(&it)) + ": " + type_name(bson_iter_type(&it));
    }
  }
  return s + "}";
}

// Integer fields written by Python may arrive as int32, int64 or double.
bool read_count(const bson_t* doc, const char* key, int64_t& out) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key)) return false;
  if (!BSON_ITER_HOLDS_NUMBER(&it))
    throw std::invalid_argument(std::string(key) + ": expected a number in " + field_names(doc));
  out = bson_iter_as_int64(&it);
  return true;
}

Bson make() { return Bson(bson_new()); }

}  // namespace

Bson id_filter(const std::string& identity_id) {
  Bson doc = make();
  append_id(doc.get(), "_id", identity_id);
  return doc;
}

Bson identity_document(const Identity& identity, uint64_t gallery_count) {
  int64_t probes = 0;
  const nlohmann::json extra =
      nlohmann::json::parse(identity.extra_json.empty() ? "{}" : identity.extra_json, nullptr, false);
  if (extra.is_object() && extra.contains("probe_count") && extra["probe_count"].is_number_integer()) {
    probes = extra["probe_count"].get<int64_t>();
  }
  Bson doc = make();
  append_id(doc.get(), "_id", identity.id);
  BSON_APPEND_UTF8(doc.get(), "name", identity.name.c_str());
  BSON_APPEND_INT64(doc.get(), "gallery_count", static_cast<int64_t>(gallery_count));
  BSON_APPEND_INT64(doc.get(), "probe_count", probes);
  return doc;
}

MongoIdentity identity_from_document(const bson_t* doc) {
  MongoIdentity m;
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, "_id")) throw std::invalid_argument("identity without _id: " + field_names(doc));
  m.identity.id = read_id(it, "identity _id");
  if (!bson_iter_init_find(&it, doc, "name") || !BSON_ITER_HOLDS_UTF8(&it)) {
    throw std::invalid_argument("identity " + m.identity.id + ": no string 'name' in " + field_names(doc));
  }
  m.identity.name = bson_iter_utf8(&it, nullptr);
  int64_t n = 0;
  if (read_count(doc, "gallery_count", n)) m.gallery_count = n < 0 ? 0 : static_cast<uint64_t>(n);
  if (read_count(doc, "probe_count", n)) m.identity.extra_json = nlohmann::json{{"probe_count", n}}.dump();
  return m;
}

std::string event_id(const std::string& db_id, uint64_t seq) { return db_id + ":" + std::to_string(seq); }

Bson event_document(const Event& e, const std::string& db_id) {
  Bson doc = make();
  bson_t* d = doc.get();
  BSON_APPEND_UTF8(d, "_id", event_id(db_id, e.seq).c_str());
  BSON_APPEND_INT64(d, "seq", static_cast<int64_t>(e.seq));
  BSON_APPEND_DATE_TIME(d, "time", e.time_us / 1000);
  BSON_APPEND_INT64(d, "time_us", e.time_us);
  BSON_APPEND_INT32(d, "utc_offset_s", e.utc_offset_s);
  BSON_APPEND_UTF8(d, "camera", e.camera.c_str());
  BSON_APPEND_UTF8(d, "kind", e.kind == EventKind::attendance ? "attendance" : "unknown");
  if (e.identity_id) append_id(d, "identity_id", *e.identity_id);
  BSON_APPEND_UTF8(d, "name", e.name.c_str());
  BSON_APPEND_DOUBLE(d, "score", e.score);
  BSON_APPEND_INT64(d, "frames", e.frames);
  if (e.video_time_s) BSON_APPEND_DOUBLE(d, "video_time_s", *e.video_time_s);
  if (!e.thumbnail_jpeg.empty()) {
    BSON_APPEND_BINARY(d, "thumbnail", BSON_SUBTYPE_BINARY, e.thumbnail_jpeg.data(),
                       static_cast<uint32_t>(e.thumbnail_jpeg.size()));
  }
  return doc;
}

Event event_from_document(const bson_t* doc) {
  Event e;
  bson_iter_t it;
  const auto need = [&](const char* key) {
    if (!bson_iter_init_find(&it, doc, key))
      throw std::invalid_argument(std::string("event without '") + key + "': " + field_names(doc));
  };
  int64_t n = 0;
  if (!read_count(doc, "seq", n)) need("seq");
  e.seq = static_cast<uint64_t>(n);
  if (read_count(doc, "time_us", n)) {
    e.time_us = n;
  } else {
    need("time");
    if (!BSON_ITER_HOLDS_DATE_TIME(&it)) throw std::invalid_argument("event 'time' is not a date: " + field_names(doc));
    e.time_us = bson_iter_date_time(&it) * 1000;
  }
  if (read_count(doc, "utc_offset_s", n)) e.utc_offset_s = static_cast<int32_t>(n);
  need("camera");
  if (!BSON_ITER_HOLDS_UTF8(&it)) throw std::invalid_argument("event 'camera' is not a string: " + field_names(doc));
  e.camera = bson_iter_utf8(&it, nullptr);
  need("kind");
  const std::string kind = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, nullptr) : "";
  if (kind != "attendance" && kind != "unknown")
    throw std::invalid_argument("event 'kind' is not attendance|unknown: " + field_names(doc));
  e.kind = kind == "attendance" ? EventKind::attendance : EventKind::unknown;
  if (bson_iter_init_find(&it, doc, "identity_id")) e.identity_id = read_id(it, "event identity_id");
  if (bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it)) e.name = bson_iter_utf8(&it, nullptr);
  if (bson_iter_init_find(&it, doc, "score") && BSON_ITER_HOLDS_NUMBER(&it))
    e.score = static_cast<float>(bson_iter_as_double(&it));
  if (read_count(doc, "frames", n)) e.frames = static_cast<uint32_t>(n);
  if (bson_iter_init_find(&it, doc, "video_time_s") && BSON_ITER_HOLDS_NUMBER(&it))
    e.video_time_s = bson_iter_as_double(&it);
  if (bson_iter_init_find(&it, doc, "thumbnail") && BSON_ITER_HOLDS_BINARY(&it)) {
    bson_subtype_t sub;
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_binary(&it, &sub, &len, &data);
    e.thumbnail_jpeg.assign(data, data + len);
  }
  return e;
}

}  // namespace fg::store::mongo
