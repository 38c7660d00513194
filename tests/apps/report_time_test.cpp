// report's --since/--until parsing: valid dates and times, local or zoned; impossible dates,
// leap years, bad formats; in Europe/Berlin, the hour skipped in spring (refused) and the hour
// repeated in autumn (its first occurrence).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

#include "apps/cli.h"
#include "apps/report_time.h"
#include "tests/support/utc_time.h"

namespace {

using fg::apps::parse_report_time;

constexpr int64_t kMicros = 1000000;

using fg::test::utc_seconds;

// The UsageError's message for `text`, or "" when it was accepted.
std::string refusal(const std::string& text) {
  try {
    parse_report_time("--since", text);
  } catch (const fg::cli::UsageError& e) {
    return e.what();
  }
  return "";
}

// Runs the test in the zone `zone` (TZ), restoring the one it had.
class ReportTime : public ::testing::Test {
 protected:
  void TearDown() override {
    if (saved_) {
      setenv("TZ", saved_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  void use_zone(const char* zone) {
    if (const char* tz = std::getenv("TZ")) saved_ = tz;
    setenv("TZ", zone, 1);
    tzset();
  }
  std::optional<std::string> saved_;
};

TEST_F(ReportTime, ValidDatesAndTimes) {
  use_zone("UTC");
  EXPECT_EQ(parse_report_time("--since", "2024-05-01"), utc_seconds(2024, 5, 1) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2024-05-01T09:00"), utc_seconds(2024, 5, 1, 9) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2024-05-01 09:00:30"), utc_seconds(2024, 5, 1, 9, 0, 30) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2026-12-31T23:59:59"), utc_seconds(2026, 12, 31, 23, 59, 59) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2024-05-01T09:00Z"), utc_seconds(2024, 5, 1, 9) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2024-05-01T09:00+02:00"), utc_seconds(2024, 5, 1, 7) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2024-05-01T09:00-05:30"), utc_seconds(2024, 5, 1, 14, 30) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2024-05-01T00:00:00+23:59"), (utc_seconds(2024, 5, 1) - 86340) * kMicros);
}

TEST_F(ReportTime, LeapYears) {
  use_zone("UTC");
  for (const char* leap : {"2024-02-29", "2000-02-29", "2400-02-29", "1996-02-29"})
    EXPECT_EQ(refusal(leap), "") << leap;
  for (const char* common : {"2025-02-29", "1900-02-29", "2100-02-29", "2023-02-29"}) {
    const std::string why = refusal(common);
    EXPECT_NE(why.find(std::string(common).substr(0, 7) + " has 28 days"), std::string::npos) << common << ": " << why;
  }
  EXPECT_NE(refusal("2024-02-30").find("2024-02 has 29 days"), std::string::npos);
  EXPECT_EQ(parse_report_time("--since", "2024-02-29T12:00Z"), utc_seconds(2024, 2, 29, 12) * kMicros);
}

TEST_F(ReportTime, ImpossibleDatesAndTimes) {
  use_zone("UTC");
  const struct {
    const char* text;
    const char* why;
  } cases[] = {{"2026-02-30", "2026-02 has 28 days"}, {"2026-04-31", "2026-04 has 30 days"},
               {"2026-01-00", "2026-01 has 31 days"}, {"2026-00-10", "no such month"},
               {"2026-13-01", "no such month"},       {"2026-03-01T24:00", "no such time"},
               {"2026-03-01T25:00", "no such time"},  {"2026-03-01T09:60", "no such time"},
               {"2026-03-01 09:00:60", "no such time"}, {"2026-03-01T09:00+24:00", "no such zone offset"},
               {"2026-03-01T09:00+02:60", "no such zone offset"}};
  for (const auto& c : cases) {
    const std::string why = refusal(c.text);
    EXPECT_EQ(why.rfind("--since: got '" + std::string(c.text) + "', ", 0), 0u) << why;
    EXPECT_NE(why.find(c.why), std::string::npos) << c.text << ": " << why;
  }
}

TEST_F(ReportTime, BadFormats) {
  use_zone("UTC");
  for (const char* bad : {"", "2026", "2026-3-1", "2026-03-1", "26-03-01", " 2026-03-01", "2026-03-01 ", "2026/03/01",
                          "2026-03-01T", "2026-03-01T9:00", "2026-03-01T09", "2026-03-01T09:00:0", "2026-03-01T-1:00",
                          "2026-03-01t09:00", "2026-03-01T09:00Zx", "2026-03-01T09:00+2:00", "2026-03-01T09:00+0200",
                          "2026-03-01T09:00 +02:00", "+2026-03-01", "2026-03-01T09:00:00.5", "yesterday"}) {
    const std::string why = refusal(bad);
    EXPECT_EQ(why, "--since: got '" + std::string(bad) + "', expected a date/time like 2024-05-01T09:00[+02:00]")
        << "'" << bad << "'";
  }
}

// 2026-03-29 in Berlin: at 02:00 CET the clocks go to 03:00 CEST; 02:00-02:59 do not exist.
// 2026-10-25: at 03:00 CEST they go back to 02:00 CET; 02:00-02:59 happen twice.
TEST_F(ReportTime, DaylightSavingGapIsRefusedAndTheRepeatedHourIsItsFirstOccurrence) {
  if (!std::filesystem::exists("/usr/share/zoneinfo/Europe/Berlin"))
    GTEST_SKIP() << "SKIPPED: no tzdata (/usr/share/zoneinfo/Europe/Berlin)";
  use_zone("Europe/Berlin");
  for (const char* skipped : {"2026-03-29T02:00", "2026-03-29T02:30", "2026-03-29 02:59:59"}) {
    const std::string why = refusal(skipped);
    EXPECT_EQ(why, "--since: got '" + std::string(skipped) +
                       "', that local time does not exist: on 2026-03-29 the clocks went forward 60 minutes "
                       "(CET to CEST) and skipped it")
        << skipped;
  }
  // Either side of the gap, and the gap's instant given with a zone, are accepted.
  EXPECT_EQ(parse_report_time("--since", "2026-03-29T01:59:59"), (utc_seconds(2026, 3, 29, 1) - 1) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2026-03-29T03:00"), utc_seconds(2026, 3, 29, 1) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2026-03-29T02:30+01:00"), utc_seconds(2026, 3, 29, 1, 30) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2026-03-29"), utc_seconds(2026, 3, 28, 23) * kMicros);

  // The repeated hour: 02:30 is 00:30Z (CEST) and again 01:30Z (CET); the first is taken.
  EXPECT_EQ(parse_report_time("--since", "2026-10-25T02:30"), utc_seconds(2026, 10, 25, 0, 30) * kMicros);
  EXPECT_EQ(parse_report_time("--until", "2026-10-25T02:00"), utc_seconds(2026, 10, 25, 0) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2026-10-25T01:59"), utc_seconds(2026, 10, 24, 23, 59) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2026-10-25T03:00"), utc_seconds(2026, 10, 25, 2) * kMicros);
  // Summer and winter away from the changes.
  EXPECT_EQ(parse_report_time("--since", "2026-07-01T12:00"), utc_seconds(2026, 7, 1, 10) * kMicros);
  EXPECT_EQ(parse_report_time("--since", "2026-01-15T12:00"), utc_seconds(2026, 1, 15, 11) * kMicros);
}

}  // namespace
