// The three-stream CRC-32C against the one-stream reference, on lengths around the stream
// size, and the standard check values.
#include "weights/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "weights/fgw.h"

namespace {

using fg::weights::crc32c_update;
using fg::weights::crc32c_update_serial;

TEST(Crc32c, StandardCheckValues) {
  EXPECT_EQ(fg::weights::crc32c("", 0), 0u);
  EXPECT_EQ(fg::weights::crc32c("123456789", 9), 0xE3069283u);
  const std::vector<unsigned char> zeros(32, 0), ones(32, 0xFF);
  EXPECT_EQ(fg::weights::crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720, B.4
  EXPECT_EQ(fg::weights::crc32c(ones.data(), ones.size()), 0x62A8AB43u);
}

TEST(Crc32c, ThreeStreamsEqualOneOnOddLengthsAndStates) {
  constexpr size_t kStep = 3 * 16 * 1024;  // one step of the three streams
  std::mt19937 rng(11);
  std::vector<unsigned char> data(3 * kStep + 100);
  for (auto& b : data) b = static_cast<unsigned char>(rng());
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, kStep - 1, kStep, kStep + 1, kStep + 13, 2 * kStep + 8,
                   3 * kStep + 99}) {
    for (size_t offset : {size_t{0}, size_t{1}}) {  // unaligned too
      const uint32_t state = static_cast<uint32_t>(rng());
      EXPECT_EQ(crc32c_update(state, data.data() + offset, n), crc32c_update_serial(state, data.data() + offset, n))
          << "n " << n << " offset " << offset;
    }
  }
  // Split anywhere, the register carries over.
  const uint32_t whole = crc32c_update(~0u, data.data(), data.size());
  for (size_t cut : {size_t{5}, kStep + 3, 2 * kStep}) {
    EXPECT_EQ(crc32c_update(crc32c_update(~0u, data.data(), cut), data.data() + cut, data.size() - cut), whole) << cut;
  }
}

}  // namespace
