// Key builders for the layout in records.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fg::store::detail {

std::string identity_key(std::string_view id);           // "i/" id
std::string name_key(std::string_view name);             // "n/" normalize_name(name)
std::string stored_name_key(std::string_view name);      // "n/" name: how names were keyed before NFC
std::string embedding_prefix(std::string_view id);       // "e/" id "/"
std::string embedding_key(std::string_view id, uint64_t label);
std::string hash_key(std::string_view content_hash);     // "h/" hash
std::string event_key(int64_t time_us, uint64_t seq);
std::string event_time_key(int64_t time_us);             // the first event key at time_us

inline constexpr std::string_view kIdentityPrefix = "i/";
inline constexpr std::string_view kEmbeddingPrefix = "e/";

// The identity id inside an "e/" key.
std::string_view id_of_embedding_key(std::string_view key);

}  // namespace fg::store::detail
