// Push a facegate DB's identities and events to MongoDB (documents.h), or pull the
// prototype's identities into a local DB. Idempotent: documents are replaced by _id, with
// upsert. Push deletes the identities it pushed before (remembered in the DB's meta) that are
// gone locally; their events stay, as history. Errors are std::runtime_error whose message
// shows the URI only redacted (uri.h).
#pragma once

#include <cstddef>
#include <string>

#include "store/store.h"

namespace fg::store::mongo {

constexpr const char* kDefaultDatabase = "attendance";  // used when the URI names none

struct MongoPushResult {
  size_t identities = 0;
  size_t deleted = 0;
  size_t events = 0;
};

struct MongoPullResult {
  size_t identities = 0;  // in MongoDB
  size_t added = 0;       // created locally (without images: those come from ChromaDB)
};

MongoPushResult push(Store& store, const std::string& uri);
MongoPullResult pull(Store& store, const std::string& uri);

}  // namespace fg::store::mongo
