// "Now" for records the caller did not stamp.
#pragma once

#include <chrono>
#include <cstdint>

namespace fg::store::detail {

inline int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace fg::store::detail
