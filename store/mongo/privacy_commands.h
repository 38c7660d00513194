// What push sends to MongoDB for privacy, as plain data (testable without a server):
//   forgetting an identity  delete {_id: id} in identities; unset the thumbnail of its events
//                           (any door's); with --purge-events, delete its events; record
//                           {_id: id, forgotten_us} in `forgotten`, which pull reads so that
//                           no door brings the identity back.
//   retention               delete this DB's events ({_id: "<db_id>:..."}) with time_us < cutoff.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/mongo/documents.h"

namespace fg::store::mongo {

constexpr const char* kForgottenCollection = "forgotten";

enum class Op { delete_many, update_many, upsert_one };

struct Command {
  const char* collection;  // "identities", "events" or kForgottenCollection
  Op op;
  Bson filter;
  Bson document;           // the update (update_many) or the replacement (upsert_one); empty otherwise
};

std::vector<Command> forget_commands(const std::string& identity_id, int64_t forgotten_us, bool events_purged);
Command retention_command(const std::string& db_id, int64_t before_us);

// The identity id of a document of the `forgotten` collection; throws std::invalid_argument.
std::string forgotten_id_from_document(const bson_t* doc);

}  // namespace fg::store::mongo
