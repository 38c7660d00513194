// What facegate sync prints when a push or pull is done: one line per store, each count agreeing
// with its noun ("1 identity", "2 identities").
#pragma once

#include <string>

#include "store/chroma/sync.h"
#include "store/mongo/sync.h"

namespace fg::apps {

// The lines (each ending in '\n') for a push to the ChromaDB collection `where`.
std::string chroma_push_summary(const std::string& where, const store::chroma::PushResult& r);
// The lines for a push to the MongoDB `where` (a redacted URI).
std::string mongo_push_summary(const std::string& where, const store::mongo::MongoPushResult& r);
// The lines for a pull from the ChromaDB collection `where`.
std::string chroma_pull_summary(const std::string& where, const store::chroma::PullResult& r);
// The lines for a pull from the MongoDB `where` (a redacted URI).
std::string mongo_pull_summary(const std::string& where, const store::mongo::MongoPullResult& r);

}  // namespace fg::apps
