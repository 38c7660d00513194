// Identity ids: any 1..64 characters of [A-Za-z0-9_.:-], so ids from the prototype's MongoDB
// (ObjectId hex) and ChromaDB (uuid) adapters fit; new ones look like an ObjectId.
#pragma once

#include <string>

namespace fg::store {

// 24 lower-case hex digits: 4 bytes of unix seconds, 5 random bytes, a 3-byte counter.
std::string new_identity_id();

bool is_valid_identity_id(const std::string& id);

// True for 64 hex digits (either case).
bool is_valid_content_hash(const std::string& hash);

}  // namespace fg::store
