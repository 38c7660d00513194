#include "apps/attend/events.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "apps/utf8.h"

namespace fg::apps::attend {

Cooldown::Cooldown(double seconds) : seconds_(seconds) {
  if (!(seconds >= 0)) throw std::invalid_argument("cooldown must be >= 0 seconds");
}

bool Cooldown::admit(const std::string& identity, double t) {
  auto it = last_.find(identity);
  if (it != last_.end() && t - it->second < seconds_) return false;
  last_[identity] = t;
  return true;
}

void Cooldown::seen(const std::string& identity, double t) {
  auto it = last_.find(identity);
  if (it == last_.end() || t > it->second) last_[identity] = t;
}

int32_t local_utc_offset(int64_t time_us) {
  const std::time_t secs = static_cast<std::time_t>(time_us / 1000000);
  std::tm local{};
  localtime_r(&secs, &local);
  return static_cast<int32_t>(local.tm_gmtoff);
}

std::string iso8601(int64_t time_us, int32_t utc_offset_s) {
  const int64_t local_us = time_us + int64_t{utc_offset_s} * 1000000;
  int64_t secs = local_us / 1000000, frac = local_us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  const int32_t off = std::abs(utc_offset_s);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03d%c%02d:%02d", date, static_cast<int>(frac / 1000),
                utc_offset_s < 0 ? '-' : '+', off / 3600, off / 60 % 60);
  return out;
}

nlohmann::json event_json(const store::Event& e) {
  using nlohmann::json;
  const bool known = e.kind == store::EventKind::attendance;
  return {{"time", iso8601(e.time_us, e.utc_offset_s)},
          {"camera", escape_invalid_utf8(e.camera)},
          {"kind", known ? "attendance" : "unknown"},
          {"id", e.identity_id ? json(*e.identity_id) : json(nullptr)},
          {"name", known ? json(escape_invalid_utf8(e.name)) : json(nullptr)},
          {"score", e.score},
          {"frames", e.frames},
          {"video_time", e.video_time_s ? json(*e.video_time_s) : json(nullptr)},
          {"seq", e.seq}};
}

EventLog::EventLog(store::Store& store, const std::string& jsonl) : store_(store), path_(jsonl) {
  if (jsonl == "-") {
    out_ = stdout;
  } else if (!jsonl.empty()) {
    out_ = std::fopen(jsonl.c_str(), "a");
    if (!out_) throw std::runtime_error("--events " + jsonl + ": cannot open for appending: " + std::strerror(errno));
  }
}

EventLog::~EventLog() {
  if (out_ && out_ != stdout) std::fclose(out_);
}

void EventLog::record(store::Event& event) {
  store_.append_event(event, /*sync=*/true);
  if (!out_) return;
  const std::string line = event_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fputs(line.c_str(), out_) < 0 || std::fflush(out_) != 0) {
    throw std::runtime_error("--events " + (path_ == "-" ? std::string("stdout") : path_) + ": write failed: " +
                             std::strerror(errno) + " (event " + std::to_string(event.seq) + " is in the DB)");
  }
}

}  // namespace fg::apps::attend
