#include "store/keys.h"

#include "store/codec.h"
#include "store/names.h"

namespace fg::store::detail {
namespace {

// Flipping the sign bit makes big-endian byte order match signed order.
uint64_t ordered(int64_t t) { return static_cast<uint64_t>(t) ^ (uint64_t{1} << 63); }

}  // namespace

std::string identity_key(std::string_view id) { return std::string(kIdentityPrefix) + std::string(id); }

std::string name_key(std::string_view name) { return "n/" + normalize_name(name); }
std::string stored_name_key(std::string_view name) { return "n/" + std::string(name); }

std::string embedding_prefix(std::string_view id) {
  return std::string(kEmbeddingPrefix) + std::string(id) + "/";
}

std::string embedding_key(std::string_view id, uint64_t label) {
  return embedding_prefix(id) + be_u64(label);
}

std::string hash_key(std::string_view content_hash) { return "h/" + std::string(content_hash); }

std::string event_key(int64_t time_us, uint64_t seq) { return be_u64(ordered(time_us)) + be_u64(seq); }

std::string event_time_key(int64_t time_us) { return be_u64(ordered(time_us)); }

std::string_view id_of_embedding_key(std::string_view key) {
  key.remove_prefix(kEmbeddingPrefix.size());
  return key.substr(0, key.size() - 9);  // drop "/" be64(label)
}

}  // namespace fg::store::detail
