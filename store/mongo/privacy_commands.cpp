#include "store/mongo/privacy_commands.h"

#include <stdexcept>

namespace fg::store::mongo {
namespace {

// {identity_id: <the id as events carry it>}.
Bson events_of(const std::string& identity_id) {
  // id_filter gives {_id: ObjectId|string}; events carry the same value under identity_id.
  const Bson by_id = id_filter(identity_id);
  bson_iter_t it;
  bson_iter_init_find(&it, by_id.get(), "_id");
  Bson out(bson_new());
  bson_append_iter(out.get(), "identity_id", -1, &it);
  return out;
}

}  // namespace

std::vector<Command> forget_commands(const std::string& identity_id, int64_t forgotten_us, bool events_purged) {
  std::vector<Command> out;
  // The tombstone first: if the push stops halfway, the next one (or any pull) still knows.
  Bson tomb = id_filter(identity_id);
  BSON_APPEND_INT64(tomb.get(), "forgotten_us", forgotten_us);
  out.push_back({kForgottenCollection, Op::upsert_one, id_filter(identity_id), std::move(tomb)});
  out.push_back({"identities", Op::delete_many, id_filter(identity_id), Bson(bson_new())});
  if (events_purged) {
    out.push_back({"events", Op::delete_many, events_of(identity_id), Bson(bson_new())});
  } else {
    Bson with_thumbnail = events_of(identity_id);
    BCON_APPEND(with_thumbnail.get(), "thumbnail", "{", "$exists", BCON_BOOL(true), "}");
    out.push_back({"events", Op::update_many, std::move(with_thumbnail),
                   Bson(BCON_NEW("$unset", "{", "thumbnail", BCON_UTF8(""), "}"))});
  }
  return out;
}

Command retention_command(const std::string& db_id, int64_t before_us) {
  // db_id is hex (store.h), so the prefix needs no regex escaping; an anchored prefix uses the _id index.
  const std::string prefix = "^" + db_id + ":";
  Bson filter(BCON_NEW("_id", "{", "$regex", BCON_UTF8(prefix.c_str()), "}", "time_us", "{", "$lt",
                       BCON_INT64(before_us), "}"));
  return {"events", Op::delete_many, std::move(filter), Bson(bson_new())};
}

std::string forgotten_id_from_document(const bson_t* doc) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, "_id")) throw std::invalid_argument("forgotten document without _id");
  if (BSON_ITER_HOLDS_OID(&it)) {
    char hex[25];
    bson_oid_to_string(bson_iter_oid(&it), hex);
    return hex;
  }
  if (BSON_ITER_HOLDS_UTF8(&it)) return bson_iter_utf8(&it, nullptr);
  throw std::invalid_argument("forgotten document: _id is neither an ObjectId nor a string");
}

}  // namespace fg::store::mongo
