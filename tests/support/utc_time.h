// Unix times of calendar dates, computed with timegm for tests to compare with: a test should
// not build its expected values with the parser it checks (apps/report_time.h).
#pragma once

#include <cstdint>
#include <ctime>

namespace fg::test {

// Unix seconds of y-mo-d h:mi:s UTC.
inline int64_t utc_seconds(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace fg::test
