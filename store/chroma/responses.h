// Parsing of ChromaDB's JSON answers, apart from the transport so it can be tested and fuzzed
// on bytes. Every function checks the body field by field and throws
// ChromaError(protocol) "<what>: <why>" for anything but what ChromaDB sends; never crashes.
// Embedding values and distances must be finite and fit a float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "store/chroma/client.h"

namespace fg::store::chroma {

// Bodies larger than this are refused before parsing (a reply to one page of records or one
// query is far smaller; the bound keeps a hostile server from exhausting memory).
inline constexpr size_t kMaxResponseBytes = size_t{256} << 20;
// ChromaDB's answers nest 4 levels (query: object, ids, per-query list, metadata); deeper ones
// are refused before parsing.
inline constexpr size_t kMaxResponseDepth = 64;

Collection parse_collection(const std::string& body, const std::string& what);
uint64_t parse_count(const std::string& body, const std::string& what);
// The pre-flight checks' max_batch_size (a positive integer).
uint64_t parse_max_batch_size(const std::string& body, const std::string& what);
std::vector<Record> parse_records(const std::string& body, const std::string& what, bool embeddings);
// One list of hits per query; `queries` is how many were asked.
std::vector<std::vector<Hit>> parse_hits(const std::string& body, const std::string& what, size_t queries);
// ChromaDB's error body {"message": ...} as text, else a printable snippet of the body.
std::string error_message(const std::string& body);
// True when `body` is the v2 heartbeat ({"nanosecond heartbeat": N}).
bool is_heartbeat(const std::string& body);
// The first 120 bytes of `body`, control characters blanked, quoted.
std::string snippet(const std::string& body);

}  // namespace fg::store::chroma
