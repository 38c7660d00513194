#include "apps/sync_summary.h"

#include "apps/cli.h"

namespace fg::apps {

using cli::count;

std::string chroma_push_summary(const std::string& where, const store::chroma::PushResult& r) {
  std::string out = "chroma " + where + ": " + count(r.records, "record", "records") + ", " +
                    std::to_string(r.upserted) + " upserted, " + std::to_string(r.deleted) + " deleted";
  if (r.forgotten_elsewhere)
    out += ", " + count(r.forgotten_elsewhere, "identity", "identities") + " not pushed (forgotten at another door)";
  return out + "\n";
}

std::string mongo_push_summary(const std::string& where, const store::mongo::MongoPushResult& r) {
  std::string out = "mongo " + where + ": " + count(r.identities, "identity", "identities") + ", " +
                    std::to_string(r.deleted) + " deleted, " + count(r.events, "event", "events") + ", " +
                    count(r.events_forgotten, "event", "events") + " of forgotten identities cleaned, " +
                    count(r.events_expired, "expired event", "expired events") + " dropped\n";
  if (r.forgotten_elsewhere) {
    out += "mongo: " + count(r.forgotten_elsewhere, "local identity", "local identities") +
           " not pushed: forgotten at another door (sync --pull removes them here)\n";
  }
  return out;
}

std::string chroma_pull_summary(const std::string& where, const store::chroma::PullResult& r) {
  return "chroma " + where + ": " + count(r.identities, "identity", "identities") + ", " +
         count(r.added, "image", "images") + " added, " +
         count(r.skipped_forgotten, "forgotten identity", "forgotten identities") + " skipped, " +
         std::to_string(r.forgotten) + " forgotten here\n";
}

std::string mongo_pull_summary(const std::string& where, const store::mongo::MongoPullResult& r) {
  return "mongo " + where + ": " + count(r.identities, "identity", "identities") + ", " + std::to_string(r.added) +
         " added, " + count(r.skipped_forgotten, "forgotten identity", "forgotten identities") + " skipped, " +
         std::to_string(r.forgotten) + " forgotten here\n";
}

}  // namespace fg::apps
