// Push a facegate DB's identities and events to MongoDB (documents.h), or pull the
// prototype's identities into a local DB. Idempotent: documents are replaced by _id, with
// upsert. Push deletes the identities it pushed before (remembered in the DB's meta) that are
// gone locally; their events stay, as history. Forgotten identities (Store::tombstones) go
// further, whoever pushed them: privacy_commands.h lists what push sends, and pull forgets
// locally what any door forgot and never adds it back. Retention (Store::prune_events) drops
// this DB's expired events remotely too. Errors are std::runtime_error whose message shows the
// URI only redacted (uri.h).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "store/store.h"

namespace fg::store::mongo {

constexpr const char* kDefaultDatabase = "attendance";  // used when the URI names none

struct MongoPushResult {
  size_t identities = 0;
  size_t deleted = 0;
  size_t events = 0;
  size_t events_forgotten = 0;  // remote events of forgotten identities purged or stripped of thumbnails
  size_t events_expired = 0;    // remote events of this DB older than its retention cutoff
  size_t forgotten_elsewhere = 0;  // local identities not pushed: another door forgot them
};

struct MongoPullResult {
  size_t identities = 0;  // in MongoDB
  size_t added = 0;       // created locally (without images: those come from ChromaDB)
  size_t skipped_forgotten = 0;  // not added: forgotten here or at another door
  size_t forgotten = 0;          // local identities forgotten because another door forgot them
};

// A URI libmongoc cannot parse: the message gives libmongoc's reason and the URI redacted.
struct UriError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses `uri` as push and pull do, without connecting, so that a malformed one is told
// before any work. Throws UriError when it does not parse, std::runtime_error when
// libmongoc cannot be loaded.
void check_uri(const std::string& uri);

MongoPushResult push(Store& store, const std::string& uri);
MongoPullResult pull(Store& store, const std::string& uri);

}  // namespace fg::store::mongo
