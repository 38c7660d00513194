// The date/time arguments of facegate report (--since, --until), parsed strictly: ISO 8601
// YYYY-MM-DD[(T| )HH:MM[:SS]][Z|(+|-)HH:MM]. A time without a zone is local, in the process's zone
// (TZ); in the hour repeated when clocks go back it is the first of the two instants it names.
#pragma once

#include <cstdint>
#include <string>

namespace fg::apps {

// Unix micros of `text`; cli::UsageError naming `option` and `text` for a bad format, a date or time
// that does not exist (2026-02-30, 25:00) and a local time skipped when clocks go forward.
int64_t parse_report_time(const std::string& option, const std::string& text);

}  // namespace fg::apps
