// Opening the index as a cache of the store: an index file that is missing, unreadable, from
// another model or DB, or out of step with the store is rebuilt from the store and saved,
// with one log line saying why. index/ never includes store/: the caller describes the store
// with a Source (the lead's adapter is a few lines over Store::state and for_each_embedding).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "index/index.h"

namespace fg::index {

struct Source {
  Stamp stamp;              // the store's model_id, db_id and generation now
  uint64_t count = 0;       // images in the store
  uint64_t label_sum = 0;   // sum of their labels (wrapping)
  // Calls `emit` once per image in the store.
  std::function<void(const std::function<void(const Entry&)>& emit)> for_each;
};

using Logger = std::function<void(const std::string& line)>;

// Writes "facegate: <line>" to stderr.
void log_to_stderr(const std::string& line);

struct Opened {
  Index index;
  bool rebuilt = false;
  std::string reason;  // why it was rebuilt; "" when the file was used as is
};

// Loads `path` when it matches `source` (stamp, count, label sum, dim) and has no more deleted slots
// than live images; otherwise rebuilds from source.for_each and saves to `path` (a failed
// save is logged, the rebuilt index is still returned). Throws IndexError only when the
// rebuild itself fails (e.g. a vector of the wrong dim in the store).
Opened open_or_rebuild(const std::string& path, const Source& source, const Params& params,
                       const Logger& log = log_to_stderr);

// The same for a reader that must not write (a read-only DB, or one another process holds):
// a stale or missing file is rebuilt in memory only.
Opened open_or_build(const std::string& path, const Source& source, const Params& params,
                     const Logger& log = log_to_stderr);

// Builds an index from source alone.
Index build(const Source& source, const Params& params);

}  // namespace fg::index
