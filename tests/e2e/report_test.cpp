// facegate report on a DB whose events are written here directly (no model needed): --csv -
// on stdout, impossible dates refused, the per-day CSV's day column, what was written told on
// stderr, and singular/plural wording; names and cameras escaped and aligned in report's and list's
// tables; unknown faces without a thumbnail counted; a local time the clocks skip refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <iterator>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "store/store.h"
#include "tests/e2e/facegate_process.h"
#include "tests/support/test_env.h"
#include "tests/support/utc_time.h"

namespace {

namespace fs = std::filesystem;
using fg::test::Result;
using fg::test::sh_quote;

constexpr int32_t kOffset = 2 * 3600;  // the camera's zone: +02:00

// Unix micros of the local time y-mo-d h:mi at +02:00.
int64_t at(int y, int mo, int d, int h, int mi) { return (fg::test::utc_seconds(y, mo, d, h, mi) - kOffset) * 1000000; }

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> f;
  std::istringstream in(line);
  for (std::string x; std::getline(in, x, ',');) f.push_back(x);
  if (!line.empty() && line.back() == ',') f.push_back("");  // getline drops a last empty field
  return f;
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  for (const std::string& line : fg::test::lines_of(text)) rows.push_back(split(line));
  return rows;
}

class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(fg::test::facegate_binary().empty()) << "no facegate binary";
    dir_ = fg::test::scratch_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    db_ = dir_ + "/site.db";
    fg::store::OpenOptions o;
    o.create_if_missing = true;
    fg::store::Store s = fg::store::Store::open(db_, o);
    // amy late on March 1st and early on the 2nd (local time: on the 1st in UTC too, but
    // 21:30Z), bob once, two unknown faces with thumbnails.
    append(s, at(2026, 3, 1, 23, 30), "amy");
    append(s, at(2026, 3, 2, 8, 0), "amy");
    append(s, at(2026, 3, 2, 9, 0), "bob");
    append(s, at(2026, 3, 2, 10, 0), "");
    append(s, at(2026, 3, 2, 11, 0), "");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  static void append(fg::store::Store& s, int64_t time_us, const std::string& name) {
    fg::store::Event e;
    e.time_us = time_us;
    e.utc_offset_s = kOffset;
    e.camera = "door";
    if (name.empty()) {
      e.kind = fg::store::EventKind::unknown;
      e.thumbnail_jpeg = {0xFF, 0xD8, 0xFF, 0xD9};
    } else {
      e.kind = fg::store::EventKind::attendance;
      e.name = name;
      e.identity_id = "id-" + name;
    }
    e.score = 0.9f;
    e.frames = 3;
    s.append_event(e);
  }

  // facegate report on the DB, run in dir_ (in `zone`, UTC unless told, so local --since/--until are fixed).
  Result report(const std::string& args, const std::string& zone = "UTC") {
    return fg::test::run_facegate("report --db " + sh_quote(db_) + " " + args, dir_,
                                  "cd " + sh_quote(dir_) + " && env TZ=" + sh_quote(zone) + " ");
  }

  std::string dir_, db_;
};

TEST_F(Report, CsvDashWritesTheCsvToStdoutAndNoFile) {
  const Result r = report("--csv -");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/-")) << "'-' is stdout, not a file named '-'";
  const std::vector<std::string> lines = fg::test::lines_of(r.out);
  ASSERT_EQ(lines.size(), 5u) << "the header, 2 people, 2 unknown and nothing else: " << r.out;
  EXPECT_EQ(lines[0], "kind,name,id,count,first_seen,last_seen,cameras,seq,day");
  EXPECT_EQ(lines[1].rfind("attendance,amy,id-amy,2,2026-03-01T23:30:00.000+02:00,", 0), 0u) << lines[1];
  EXPECT_EQ(lines[3].rfind("unknown,,,1,", 0), 0u) << lines[3];
  EXPECT_EQ(r.out.find("events:"), std::string::npos) << "no text report mixed into the CSV: " << r.out;
  EXPECT_EQ(r.err, "facegate report: wrote 4 rows to stdout\n");

  // The same CSV as a file gets.
  ASSERT_EQ(report("--csv " + sh_quote(dir_ + "/r.csv")).code, 0);
  EXPECT_EQ(fg::test::read_text(dir_ + "/r.csv"), r.out);
}

TEST_F(Report, ImpossibleDatesAndTimesAreUsageErrors) {
  for (const std::string bad : {"2026-02-30", "2025-02-29", "2026-04-31", "2026-00-10", "2026-13-45",
                                "2026-03-01T25:00", "2026-03-01T24:00", "2026-03-01T09:60", "2026-03-01 09:00:60",
                                "2026-03-01T-1:00", "2026-3-1", "2026-03-01T09:00+02:60", "2026-03-01T09:00+2:00",
                                " 2026-03-01", "2026-03-01T09:00Zx"}) {
    for (const std::string option : {"--since", "--until"}) {
      const Result r = report(option + " " + sh_quote(bad));
      EXPECT_EQ(r.code, 2) << option << " " << bad << ": " << r.out << r.err;
      EXPECT_NE(r.err.find(option + ": got '" + bad + "'"), std::string::npos) << r.err;
      EXPECT_EQ(r.out, "") << option << " " << bad;
    }
  }
  const Result r = report("--since 2026-02-30");
  EXPECT_NE(r.err.find("2026-02 has 28 days"), std::string::npos) << r.err;

  // What does exist is accepted, and the zone is honoured: from midnight of the 2nd at +02:00
  // (22:00Z on the 1st) amy's 23:30 on the 1st is out.
  for (const std::string good : {"2024-02-29", "2026-03-01T23:59:59+02:00", "2026-03-01 00:00", "2026-01-31T23:59Z"})
    EXPECT_EQ(report("--since " + sh_quote(good)).code, 0) << good;
  Result in = report("--since 2026-03-02T00:00+02:00");
  EXPECT_NE(in.out.find("4 events: attendance of 2 people, 2 unknown"), std::string::npos) << in.out;
  in = report("--since 2026-03-01T21:30 --until 2026-03-01T21:31");  // local = UTC here
  EXPECT_NE(in.out.find("1 event: attendance of 1 person, 0 unknown"), std::string::npos) << in.out;
}

TEST_F(Report, PerDayCsvHasTheLocalDayColumn) {
  const Result r = report("--per-day --csv " + sh_quote(dir_ + "/days.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = csv_rows(fg::test::read_text(dir_ + "/days.csv"));
  ASSERT_FALSE(rows.empty());
  const std::vector<std::string> header = {"kind",      "name",    "id",  "count", "first_seen",
                                           "last_seen", "cameras", "seq", "day"};
  EXPECT_EQ(rows[0], header) << "the old columns first, in order, then day";
  std::vector<std::string> days;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& f = rows[i];
    ASSERT_EQ(f.size(), header.size()) << "row " << i;
    if (f[0] != "day") {
      EXPECT_EQ(f[8], "") << "only day rows have a day: row " << i;
      continue;
    }
    EXPECT_EQ(f[8], f[4].substr(0, 10)) << "the local day of first_seen: row " << i;
    EXPECT_EQ(f[8], f[5].substr(0, 10)) << "the local day of last_seen: row " << i;
    // The text report groups by the same day.
    EXPECT_NE(r.out.find(f[8] + "  " + f[1]), std::string::npos) << f[8] << " " << f[1] << ":\n" << r.out;
    days.push_back(f[8] + " " + f[1] + " " + f[3]);
  }
  // amy's 23:30 (+02:00) is on March 1st locally though 21:30Z; her 08:00 on the 2nd.
  EXPECT_EQ(days, (std::vector<std::string>{"2026-03-01 amy 1", "2026-03-02 amy 1", "2026-03-02 bob 1"}));
  EXPECT_EQ(r.err, "facegate report: wrote 7 rows to " + dir_ + "/days.csv\n");
}

TEST_F(Report, SaysWhatItWroteOnStderr) {
  const std::string thumbs = dir_ + "/thumbs";
  Result r = report("--csv " + sh_quote(dir_ + "/r.csv") + " --thumbnails " + sh_quote(thumbs));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("facegate report: wrote 4 rows to " + dir_ + "/r.csv\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("facegate report: saved 2 unknown faces to " + thumbs + "\n"), std::string::npos) << r.err;
  EXPECT_EQ(std::distance(fs::directory_iterator(thumbs), fs::directory_iterator()), 2);
  EXPECT_NE(r.out.find("5 events: attendance of 2 people, 2 unknown"), std::string::npos) << "text still on stdout";

  // One of each: singular.
  r = report("--since 2026-03-02T09:00+02:00 --until 2026-03-02T10:30+02:00 --csv " + sh_quote(dir_ + "/one.csv") +
             " --thumbnails " + sh_quote(thumbs));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("facegate report: wrote 2 rows to "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("facegate report: saved 1 unknown face to " + thumbs + "\n"), std::string::npos) << r.err;
  r = report("--since 2026-03-02T09:00+02:00 --until 2026-03-02T09:30+02:00 --csv " + sh_quote(dir_ + "/one.csv") +
             " --thumbnails " + sh_quote(thumbs));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("facegate report: wrote 1 row to " + dir_ + "/one.csv\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("facegate report: saved 0 unknown faces to " + thumbs + "\n"), std::string::npos) << r.err;

  // Without --csv and --thumbnails, stderr stays empty.
  r = report("");
  EXPECT_EQ(r.err, "");
}

TEST_F(Report, CountsAreSingularForOne) {
  Result r = report("--since 2026-03-02T09:00+02:00 --until 2026-03-02T09:30+02:00");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 event: attendance of 1 person, 0 unknown\n"), std::string::npos) << r.out;
  r = report("--since 2026-03-02T09:00+02:00 --until 2026-03-02T10:30+02:00");
  EXPECT_NE(r.out.find("2 events: attendance of 1 person, 1 unknown\n"), std::string::npos) << r.out;
  r = report("--camera elsewhere");
  EXPECT_NE(r.out.find("0 events: attendance of 0 people, 0 unknown\n"), std::string::npos) << r.out;
}

// Names an older build stored (bytes that are not UTF-8), with control characters (a tab, a
// newline, an escape sequence that clears the screen) and with wide characters: list and the
// text report print them escaped (printable) and pad them by display width, one line each.
TEST_F(Report, NamesAreEscapedAndAlignedInListAndReport) {
  struct Name {
    std::string stored, shown;
    size_t columns;  // of `shown`
  };
  const std::vector<Name> names = {{"Ren\xE9" "e", "Ren\\xE9e", 8},
                                   {"Ann\tLee\n\x1B[2J", "Ann\\tLee\\n\\x1B[2J", 17},
                                   {"\xE6\x9D\x8E\xE5\xB0\x8F\xE9\xBE\x99", "\xE6\x9D\x8E\xE5\xB0\x8F\xE9\xBE\x99", 6},
                                   {"Zo\xC3\xAB", "Zo\xC3\xAB", 3}};
  std::vector<std::string> ids;
  {
    fg::store::Store s = fg::store::Store::open(db_);
    for (const Name& n : names) {
      ids.push_back(s.add_identity(fg::store::Identity{"", n.stored, 0, "", 0}).id);
      fg::store::Event e;
      e.time_us = at(2026, 3, 2, 12, 0);
      e.utc_offset_s = kOffset;
      e.camera = "door";
      e.kind = fg::store::EventKind::attendance;
      e.name = n.stored;
      e.identity_id = ids.back();
      s.append_event(e);
    }
  }
  const auto has_raw_controls = [](const std::string& text) {
    for (const char c : text)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7F) return true;
    return false;
  };

  // list: "<id>  <images>  <name>", the name last, escaped, so one line per identity.
  Result r = fg::test::run_facegate("list --db " + sh_quote(db_), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> expected;
  for (size_t i = 0; i < names.size(); ++i) expected.push_back(ids[i] + "       0  " + names[i].shown);
  std::vector<std::string> lines = fg::test::lines_of(r.out);
  std::sort(lines.begin(), lines.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(lines, expected) << r.out;
  EXPECT_FALSE(has_raw_controls(r.out)) << r.out;
  // --json: JSON escapes control characters itself; a byte that is not UTF-8 is written as
  // export-person writes it (it was U+FFFD).
  r = fg::test::run_facegate("list --db " + sh_quote(db_) + " --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"name\":\"Ren\\\\xE9e\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\":\"Ann\\tLee\\n\\u001b[2J\""), std::string::npos) << r.out;

  // report: the count column lines up with the header's ("name" padded to 24 columns).
  r = report("--per-day");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\nname                      count  first seen"), std::string::npos) << r.out;
  for (const Name& n : names) {
    const std::string padded = n.shown + std::string(24 - n.columns, ' ');
    EXPECT_NE(r.out.find("\n" + padded + "      1  2026-03-02T12:00:00.000+02:00  "), std::string::npos)
        << n.shown << ":\n" << r.out;
    EXPECT_NE(r.out.find("\n2026-03-02  " + padded + "      1  12:00:00"), std::string::npos)
        << n.shown << ":\n" << r.out;
  }
  EXPECT_FALSE(has_raw_controls(r.out)) << r.out;
  EXPECT_EQ(r.out.find("Ren\xE9"), std::string::npos) << "the raw byte";

  // The CSV keeps the name's characters (quoted) but stays UTF-8.
  r = report("--csv -");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\nattendance,Ren\\xE9e," + ids[0] + ",1,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nattendance,\"Ann\tLee\n\x1B[2J\"," + ids[1] + ",1,"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Ren\xE9"), std::string::npos) << "the raw byte";
}


// Camera names are printed like person names: escaped (printable) and padded by display width,
// in the unknown-faces table's camera column and the attendance table's cameras column.
TEST_F(Report, CameraNamesAreEscapedAndAligned) {
  struct Camera {
    std::string stored, shown;
    size_t columns;  // of `shown`
  };
  const std::vector<Camera> cameras = {{"T\xFCr", "T\\xFCr", 6},
                                       {"gate\t\x1B[2J", "gate\\t\\x1B[2J", 13},
                                       {"\xE5\xA4\xA7\xE9\x97\xA8", "\xE5\xA4\xA7\xE9\x97\xA8", 4}};
  {
    fg::store::Store s = fg::store::Store::open(db_);
    for (const Camera& c : cameras) {
      fg::store::Event e;
      e.time_us = at(2026, 3, 3, 12, 0);
      e.utc_offset_s = kOffset;
      e.camera = c.stored;
      e.kind = fg::store::EventKind::unknown;
      e.score = 0.9f;
      e.frames = 3;
      s.append_event(e);
      e.kind = fg::store::EventKind::attendance;
      e.name = "cy";
      e.identity_id = "id-cy";
      s.append_event(e);
    }
  }
  const Result r = report("--since 2026-03-03");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const Camera& c : cameras) {
    const std::string padded = c.shown + std::string(16 - c.columns, ' ');
    EXPECT_NE(r.out.find("2026-03-03T12:00:00.000+02:00  " + padded + "  0.900      3 "), std::string::npos)
        << c.shown << ":\n" << r.out;
    EXPECT_NE(r.out.find(c.shown), std::string::npos) << "in the cameras column: " << c.shown << ":\n" << r.out;
  }
  for (const char c : r.out)
    EXPECT_FALSE((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7F) << "a raw control:\n" << r.out;
  EXPECT_EQ(r.out.find("T\xFCr"), std::string::npos) << "the raw byte";
}

// An unknown event without a thumbnail (none was stored) cannot be saved: stderr says how many.
TEST_F(Report, UnknownFacesWithoutAThumbnailAreCounted) {
  {
    fg::store::Store s = fg::store::Store::open(db_);
    fg::store::Event e;
    e.time_us = at(2026, 3, 2, 12, 0);
    e.utc_offset_s = kOffset;
    e.camera = "door";
    e.kind = fg::store::EventKind::unknown;
    s.append_event(e);
  }
  const std::string thumbs = dir_ + "/thumbs";
  Result r = report("--thumbnails " + sh_quote(thumbs));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "facegate report: saved 2 unknown faces to " + thumbs + "; 1 unknown event has no thumbnail\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(thumbs), fs::directory_iterator()), 2);
  {
    fg::store::Store s = fg::store::Store::open(db_);
    fg::store::Event e;
    e.time_us = at(2026, 3, 2, 13, 0);
    e.utc_offset_s = kOffset;
    e.camera = "door";
    e.kind = fg::store::EventKind::unknown;
    s.append_event(e);
  }
  r = report("--since 2026-03-02T12:00+02:00 --thumbnails " + sh_quote(thumbs));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "facegate report: saved 0 unknown faces to " + thumbs + "; 2 unknown events have no thumbnail\n");
}

// list's count on stderr agrees with its number.
TEST_F(Report, ListCountsIdentitiesInTheSingularForOne) {
  const auto list_err = [&] {
    const Result r = fg::test::run_facegate("list --db " + sh_quote(db_), dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.err;
  };
  EXPECT_EQ(list_err(), "0 identities\n");
  fg::store::Store::open(db_).add_identity(fg::store::Identity{"", "amy", 0, "", 0});
  EXPECT_EQ(list_err(), "1 identity\n");
  fg::store::Store::open(db_).add_identity(fg::store::Identity{"", "bob", 0, "", 0});
  EXPECT_EQ(list_err(), "2 identities\n");
}

// In Europe/Berlin the clocks go from 02:00 to 03:00 on 2026-03-29: 02:30 that day is refused,
// not moved to 03:30; in the hour repeated on 2026-10-25, 02:30 is its first occurrence (CEST).
TEST_F(Report, ALocalTimeTheClocksSkipIsRefused) {
  if (!fs::exists("/usr/share/zoneinfo/Europe/Berlin"))
    GTEST_SKIP() << "SKIPPED: no tzdata (/usr/share/zoneinfo/Europe/Berlin)";
  Result r = report("--since 2026-03-29T02:30", "Europe/Berlin");
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--since: got '2026-03-29T02:30', that local time does not exist: on 2026-03-29 the clocks "
                       "went forward 60 minutes (CET to CEST) and skipped it"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  r = report("--until '2026-03-29 02:00'", "Europe/Berlin");
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_EQ(report("--since 2026-03-29T03:00", "Europe/Berlin").code, 0);

  // 02:30 CEST is 00:30Z, 02:30 CET 01:30Z: an event at 01:00Z is after the first only.
  {
    fg::store::Store s = fg::store::Store::open(db_);
    fg::store::Event e;
    e.time_us = at(2026, 10, 25, 3, 0);  // 01:00Z
    e.utc_offset_s = kOffset;
    e.camera = "door";
    e.kind = fg::store::EventKind::attendance;
    e.name = "amy";
    e.identity_id = "id-amy";
    s.append_event(e);
  }
  r = report("--since 2026-10-25T02:30", "Europe/Berlin");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 event: attendance of 1 person, 0 unknown\n"), std::string::npos) << r.out;
}

}  // namespace
