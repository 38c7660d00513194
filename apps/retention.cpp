#include "apps/retention.h"

#include <cmath>

#include "apps/attend/events.h"

namespace fg::apps {

std::optional<double> parse_retention(const cli::Args& args) {
  if (!args.has("--retention")) return std::nullopt;
  const std::string text = args.get("--retention");
  try {
    size_t used = 0;
    const double days = std::stod(text, &used);
    // 100 years is already "forever"; the bound keeps the microsecond arithmetic in range.
    if (used == text.size() && std::isfinite(days) && days > 0 && days <= 36500) return days;
  } catch (const std::exception&) {
  }
  throw cli::UsageError("--retention: got '" + text + "', expected a number of days > 0 (at most 36500)");
}

int64_t retention_cutoff_us(double days, int64_t now_us) {
  return now_us - static_cast<int64_t>(std::llround(days * 86400.0 * 1e6));
}

std::string apply_retention(store::Store& store, double days, int64_t now_us) {
  const int64_t cutoff = retention_cutoff_us(days, now_us);
  const store::PruneResult r = store.prune_events(cutoff);
  char span[32];
  std::snprintf(span, sizeof span, "%g", days);
  return "dropped " + cli::count(r.attendance, "attendance event", "attendance events") + " and " +
         cli::count(r.unknown, "unknown-face event", "unknown-face events") + " (" +
         cli::count(r.thumbnails, "thumbnail", "thumbnails") + ") older than " +
         attend::iso8601(cutoff, attend::local_utc_offset(cutoff)) + " (" + span + (days == 1 ? " day)" : " days)");
}

}  // namespace fg::apps
