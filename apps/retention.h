// --retention DAYS: how long attendance events and face thumbnails are kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "apps/cli.h"
#include "store/store.h"

namespace fg::apps {

// The option's value in days (> 0, fractions allowed), nullopt when absent; UsageError otherwise.
std::optional<double> parse_retention(const cli::Args& args);

// Events strictly older than this are dropped.
int64_t retention_cutoff_us(double days, int64_t now_us);

// Drops the expired events and says what went: "dropped 3 attendance events and 2 unknown-face
// events (5 thumbnails) older than 2024-05-01T09:00:00+02:00 (30 days)".
std::string apply_retention(store::Store& store, double days, int64_t now_us);

}  // namespace fg::apps
