#include "store/mongo/sync.h"

#include <mongoc/mongoc.h>

#include <cstdint>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "store/clock.h"
#include "store/mongo/documents.h"
#include "store/mongo/libmongoc.h"
#include "store/mongo/privacy_commands.h"
#include "store/mongo/uri.h"

namespace fg::store::mongo {
namespace {

constexpr const char* kPushedKey = "mongo/pushed";
constexpr int32_t kServerTimeoutMs = 5000;

struct ClientDeleter {
  void operator()(mongoc_client_t* c) const { libmongoc().client_destroy(c); }
};
struct CollectionDeleter {
  void operator()(mongoc_collection_t* c) const { libmongoc().collection_destroy(c); }
};
struct UriDeleter {
  void operator()(mongoc_uri_t* u) const { libmongoc().uri_destroy(u); }
};
using Collection = std::unique_ptr<mongoc_collection_t, CollectionDeleter>;
using Uri = std::unique_ptr<mongoc_uri_t, UriDeleter>;

Uri parse_uri(const std::string& uri) {
  bson_error_t err;
  Uri parsed(libmongoc().uri_new_with_error(uri.c_str(), &err));
  // libmongoc's parse errors do not echo the URI, so its message is safe to show.
  if (!parsed) throw UriError("MongoDB URI " + redact_uri(uri) + ": " + err.message);
  return parsed;
}

class Connection {
 public:
  explicit Connection(const std::string& uri) : shown_(redact_uri(uri)) {
    if (uri.empty()) throw std::runtime_error("no MongoDB URI: pass --mongo URI or set FACEGATE_MONGO_URI");
    const Uri parsed = parse_uri(uri);
    bson_error_t err;
    if (!libmongoc().uri_has_option(parsed.get(), MONGOC_URI_SERVERSELECTIONTIMEOUTMS)) {
      libmongoc().uri_set_option_as_int32(parsed.get(), MONGOC_URI_SERVERSELECTIONTIMEOUTMS, kServerTimeoutMs);
    }
    const char* db = libmongoc().uri_get_database(parsed.get());
    database_ = db && *db ? db : kDefaultDatabase;
    client_.reset(libmongoc().client_new_from_uri_with_error(parsed.get(), &err));
    if (!client_) throw std::runtime_error("MongoDB " + shown_ + ": " + err.message);
    libmongoc().client_set_appname(client_.get(), "facegate");
    Bson ping(BCON_NEW("ping", BCON_INT32(1)));
    if (!libmongoc().client_command_simple(client_.get(), "admin", ping.get(), nullptr, nullptr, &err))
      fail("ping", err);
  }

  Collection collection(const char* name) {
    return Collection(libmongoc().client_get_collection(client_.get(), database_.c_str(), name));
  }

  [[noreturn]] void fail(const std::string& what, const bson_error_t& err) const {
    throw std::runtime_error("MongoDB " + shown_ + " (database " + database_ + "): " + what +
                             " failed: " + err.message);
  }

 private:
  std::string shown_, database_;
  std::unique_ptr<mongoc_client_t, ClientDeleter> client_;
};

void replace_upsert(Connection& conn, mongoc_collection_t* coll, const std::vector<std::pair<Bson, Bson>>& docs,
                    const char* what) {
  if (docs.empty()) return;
  mongoc_bulk_operation_t* bulk = libmongoc().collection_create_bulk_operation_with_opts(coll, nullptr);
  Bson upsert(BCON_NEW("upsert", BCON_BOOL(true)));
  bson_error_t err;
  for (const auto& [filter, doc] : docs) {
    if (!libmongoc().bulk_operation_replace_one_with_opts(bulk, filter.get(), doc.get(), upsert.get(), &err)) {
      libmongoc().bulk_operation_destroy(bulk);
      conn.fail(what, err);
    }
  }
  const uint32_t ok = libmongoc().bulk_operation_execute(bulk, nullptr, &err);
  libmongoc().bulk_operation_destroy(bulk);
  if (!ok) conn.fail(what, err);
}

int64_t reply_count(const bson_t& reply, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, &reply, key) && BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it) : 0;
}

// Runs one privacy command (privacy_commands.h); returns the documents it deleted or changed.
int64_t run(Connection& conn, const Command& c, const std::string& what) {
  Collection coll = conn.collection(c.collection);
  bson_t reply;
  bson_error_t err;
  bool ok = false;
  const char* counted = "deletedCount";
  switch (c.op) {
    case Op::delete_many:
      ok = libmongoc().collection_delete_many(coll.get(), c.filter.get(), nullptr, &reply, &err);
      break;
    case Op::update_many:
      ok = libmongoc().collection_update_many(coll.get(), c.filter.get(), c.document.get(), nullptr, &reply, &err);
      counted = "modifiedCount";
      break;
    case Op::upsert_one: {
      Bson upsert(BCON_NEW("upsert", BCON_BOOL(true)));
      ok = libmongoc().collection_replace_one(coll.get(), c.filter.get(), c.document.get(), upsert.get(), &reply, &err);
      counted = "upsertedCount";
      break;
    }
  }
  const int64_t n = ok ? reply_count(reply, counted) : 0;
  bson_destroy(&reply);
  if (!ok) conn.fail(what, err);
  return n;
}

std::set<std::string> lines(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.insert(l);
  }
  return out;
}

// Every document of a collection, each turned into a T by parse (which may throw).
template <typename T, typename Parse>
std::vector<T> read_all(Connection& conn, const char* collection, const std::string& what, Parse parse) {
  Collection coll = conn.collection(collection);
  Bson all(bson_new());
  mongoc_cursor_t* cursor = libmongoc().collection_find_with_opts(coll.get(), all.get(), nullptr, nullptr);
  std::vector<T> out;
  const bson_t* doc = nullptr;
  try {
    while (libmongoc().cursor_next(cursor, &doc)) out.push_back(parse(doc));
  } catch (...) {
    libmongoc().cursor_destroy(cursor);
    throw;
  }
  bson_error_t err;
  const bool failed = libmongoc().cursor_error(cursor, &err);
  libmongoc().cursor_destroy(cursor);
  if (failed) conn.fail(what, err);
  return out;
}

std::vector<std::string> read_forgotten(Connection& conn) {
  return read_all<std::string>(conn, kForgottenCollection, "reading forgotten identities",
                               forgotten_id_from_document);
}

}  // namespace

void check_uri(const std::string& uri) { parse_uri(uri); }

MongoPushResult push(Store& store, const std::string& uri) {
  Connection conn(uri);
  MongoPushResult result;
  const auto people = store.list_identities();
  // Another door forgot these: never send them back (sync --pull forgets them here).
  const std::vector<std::string> gone = read_forgotten(conn);
  const std::set<std::string> forgotten_elsewhere(gone.begin(), gone.end());
  std::set<std::string> local;
  std::vector<std::pair<Bson, Bson>> docs;
  for (const Identity& who : people) {
    if (forgotten_elsewhere.count(who.id)) {
      ++result.forgotten_elsewhere;
      continue;
    }
    local.insert(who.id);
    docs.emplace_back(id_filter(who.id), identity_document(who, who.image_count));
  }
  std::set<std::string> pushed = lines(store.get_meta(kPushedKey).value_or(""));
  std::string intent;
  for (const auto& id : pushed) intent += id + "\n";
  for (const auto& id : local) intent += pushed.count(id) ? "" : id + "\n";
  store.set_meta(kPushedKey, intent);

  Collection identities = conn.collection("identities");
  replace_upsert(conn, identities.get(), docs, "writing identities");
  result.identities = docs.size();
  for (const auto& id : pushed) {
    if (local.count(id)) continue;
    bson_error_t err;
    if (!libmongoc().collection_delete_one(identities.get(), id_filter(id).get(), nullptr, nullptr, &err)) {
      conn.fail("deleting identity " + id, err);
    }
    ++result.deleted;
  }

  const std::string db_id = store.state().db_id;
  std::vector<std::pair<Bson, Bson>> events;
  for (const Event& e : store.events(INT64_MIN, INT64_MAX)) {
    Bson filter(BCON_NEW("_id", BCON_UTF8(event_id(db_id, e.seq).c_str())));
    events.emplace_back(std::move(filter), event_document(e, db_id));
  }
  replace_upsert(conn, conn.collection("events").get(), events, "writing events");
  result.events = events.size();

  // After the events: a forgotten person's kept events were just re-sent without thumbnails,
  // and those other doors sent lose theirs here.
  for (const Tombstone& t : store.tombstones()) {
    for (const Command& c : forget_commands(t.identity_id, t.forgotten_us, t.events_purged)) {
      const int64_t n = run(conn, c, "forgetting identity " + t.identity_id + " in " + c.collection);
      if (std::string(c.collection) == "identities") result.deleted += static_cast<size_t>(n);
      if (std::string(c.collection) == "events") result.events_forgotten += static_cast<size_t>(n);
    }
  }
  if (const auto cutoff = store.pruned_before()) {
    result.events_expired =
        static_cast<size_t>(run(conn, retention_command(db_id, *cutoff), "dropping expired events"));
  }

  std::string done;
  for (const auto& id : local) done += id + "\n";
  store.set_meta(kPushedKey, done);
  return result;
}

MongoPullResult pull(Store& store, const std::string& uri) {
  Connection conn(uri);
  const std::vector<MongoIdentity> found =
      read_all<MongoIdentity>(conn, "identities", "reading identities", identity_from_document);

  MongoPullResult result;
  result.identities = found.size();
  // Identities forgotten at any door: forgotten here too, and never added back.
  for (const std::string& id : read_forgotten(conn)) {
    if (!is_valid_identity_id(id)) continue;
    if (store.get_identity(id)) {
      store.forget(id);
      ++result.forgotten;
    } else {
      Tombstone t;
      t.identity_id = id;
      t.forgotten_us = detail::now_us();  // when this DB learnt it
      store.remember_forgotten(t);
    }
  }
  for (const MongoIdentity& m : found) {
    if (store.is_forgotten(m.identity.id)) {
      ++result.skipped_forgotten;
      continue;
    }
    const auto mine = store.get_identity(m.identity.id);
    if (mine) {
      if (mine->name != normalize_name(m.identity.name)) {
        throw StoreError(ErrorKind::conflict, "MongoDB identity " + m.identity.id + " is named '" + m.identity.name +
                                                  "', the local one '" + mine->name + "'");
      }
      continue;
    }
    store.add_identity(m.identity);
    ++result.added;
  }
  std::string ids;
  for (const MongoIdentity& m : found) ids += m.identity.id + "\n";
  store.set_meta(kPushedKey, ids);
  return result;
}

}  // namespace fg::store::mongo
