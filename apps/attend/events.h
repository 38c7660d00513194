// Attendance events: the cooldown that makes one event per person per visit, and the log that
// writes each event durably to the store before it is reported anywhere else.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace fg::apps::attend {

// One attendance event per identity per `seconds`, on whatever clock the caller passes (a
// video's own frame times for files, wall-clock seconds for live sources). One attend runs
// one camera, so this is also per camera.
class Cooldown {
 public:
  explicit Cooldown(double seconds);
  // True, and remembers `t`, when `identity` had no admitted event in (t - seconds, t].
  bool admit(const std::string& identity, double t);
  // Remembers an event made elsewhere (an earlier run), without admitting anything.
  void seen(const std::string& identity, double t);

 private:
  double seconds_;
  std::map<std::string, double> last_;
};

// "2024-05-01T09:12:33.123+02:00": local time with its offset from UTC.
std::string iso8601(int64_t time_us, int32_t utc_offset_s);
// The local zone's offset from UTC at `time_us`.
int32_t local_utc_offset(int64_t time_us);

// The JSON line of an event: time, camera, kind, id, name, score, frames, video_time, seq. The
// camera and the name with each byte that is not UTF-8 as the text "\xE9" (escape_invalid_utf8:
// a name an older facegate stored from a Latin-1 folder name), so the line dumps as valid UTF-8.
nlohmann::json event_json(const store::Event& event);

class EventLog {
 public:
  // `jsonl`: "" = store only; "-" = also stdout; else also appended to that file (created if
  // missing). Throws std::runtime_error naming the file if it cannot be opened.
  EventLog(store::Store& store, const std::string& jsonl);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Appends the event to the store with a synced write (assigning event.seq), and only then
  // writes and flushes its JSON line, so a reported event is never missing from the DB.
  void record(store::Event& event);

 private:
  store::Store& store_;
  std::string path_;
  std::FILE* out_ = nullptr;
};

}  // namespace fg::apps::attend
