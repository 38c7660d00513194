// Keys and bytes of what forget and retention leave in the meta column family (records.h).
#pragma once

#include <string>
#include <string_view>

#include "store/store.h"

namespace fg::store::detail {

inline constexpr std::string_view kTombstonePrefix = "forgotten/";
inline constexpr const char* kPrunedBeforeKey = "pruned_before";

std::string tombstone_key(std::string_view identity_id);  // "forgotten/" id
std::string encode_tombstone(const Tombstone& t);          // u8 1 | i64 forgotten_us | u8 flags
Tombstone decode_tombstone(std::string_view identity_id, std::string_view bytes);  // DecodeError

}  // namespace fg::store::detail
