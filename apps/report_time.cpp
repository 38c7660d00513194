#include "apps/report_time.h"

#include <algorithm>
#include <ctime>
#include <vector>

#include "apps/cli.h"

namespace fg::apps {
namespace {

// `width` decimal digits at `p` (no sign, no spaces) into `out`, and `p` moved past them.
bool read_digits(const char*& p, int width, int& out) {
  int v = 0;
  for (int i = 0; i < width; ++i) {
    if (p[i] < '0' || p[i] > '9') return false;
    v = v * 10 + (p[i] - '0');
  }
  p += width;
  out = v;
  return true;
}

int days_in_month(int year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Local time at Unix time `t`, with its UTC offset (tm_gmtoff) and zone abbreviation (tm_zone).
std::tm local_at(int64_t t) {
  const auto tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  return tm;
}

// The Unix times whose local clock reads `wall` (the clock's fields counted as if they were UTC),
// earliest first: none when clocks going forward skip it, two when clocks going back repeat it. The
// offsets tried are those a day before and a day after, so any one change of time that day is seen
// (mktime with tm_isdst = -1 instead shifts a skipped time silently and may take either repeat).
std::vector<int64_t> local_instants(int64_t wall) {
  std::vector<int64_t> out;
  for (const int64_t probe : {wall - 86400, wall + 86400}) {
    const int64_t t = wall - local_at(probe).tm_gmtoff;
    if (local_at(t).tm_gmtoff == wall - t && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int64_t parse_report_time(const std::string& option, const std::string& text) {
  const auto refuse = [&](const std::string& why) {
    return cli::UsageError(option + ": got '" + text + "', " + why);
  };
  const std::string expected = "expected a date/time like 2024-05-01T09:00[+02:00]";
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const char* p = text.c_str();
  if (!read_digits(p, 4, y) || *p++ != '-' || !read_digits(p, 2, mo) || *p++ != '-' || !read_digits(p, 2, d))
    throw refuse(expected);
  if (*p == 'T' || *p == ' ') {
    ++p;
    if (!read_digits(p, 2, h) || *p++ != ':' || !read_digits(p, 2, mi)) throw refuse(expected);
    if (*p == ':' && (++p, !read_digits(p, 2, s))) throw refuse(expected);
  }
  int zone_s = 0;
  const bool zoned = *p != '\0';
  if (*p == 'Z') {
    ++p;
  } else if (*p == '+' || *p == '-') {
    const int sign = *p++ == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!read_digits(p, 2, oh) || *p++ != ':' || !read_digits(p, 2, om)) throw refuse(expected);
    if (oh > 23 || om > 59) throw refuse("no such zone offset");
    zone_s = sign * (oh * 3600 + om * 60);
  }
  if (*p != '\0') throw refuse(expected);
  if (mo < 1 || mo > 12) throw refuse("no such month (01-12)");
  if (d < 1 || d > days_in_month(y, mo))
    throw refuse("no such date (" + text.substr(0, 7) + " has " + std::to_string(days_in_month(y, mo)) + " days)");
  if (h > 23 || mi > 59 || s > 59) throw refuse("no such time (00:00:00 to 23:59:59)");

  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const int64_t wall = static_cast<int64_t>(timegm(&tm));
  if (zoned) return (wall - zone_s) * 1000000;
  tzset();  // localtime_r need not read TZ again by itself
  const std::vector<int64_t> instants = local_instants(wall);
  if (instants.empty()) {
    const std::tm before = local_at(wall - 86400), after = local_at(wall + 86400);
    throw refuse("that local time does not exist: on " + text.substr(0, 10) + " the clocks went forward " +
                 std::to_string((after.tm_gmtoff - before.tm_gmtoff) / 60) + " minutes (" + before.tm_zone + " to " +
                 after.tm_zone + ") and skipped it");
  }
  return instants.front() * 1000000;
}

}  // namespace fg::apps
