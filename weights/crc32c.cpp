#include "weights/crc32c.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace fg::weights {
namespace {

// Bytes per stream in one step of crc32c_update: the three streams of a step share a cache
// footprint of 3 x 16 KiB.
constexpr size_t kStream = 16 * 1024;

// Advancing the register through n zero bytes is linear over GF(2): its 32 columns (the
// images of each single bit) make it 32 conditional XORs.
struct ZeroShift {
  std::array<uint32_t, 32> column{};
  explicit ZeroShift(size_t n) {
    static const std::array<unsigned char, kStream> zeros{};
    for (int bit = 0; bit < 32; ++bit) {
      uint32_t r = uint32_t{1} << bit;
      for (size_t left = n; left > 0; left -= std::min(left, zeros.size()))
        r = crc32c_update_serial(r, zeros.data(), std::min(left, zeros.size()));
      column[bit] = r;
    }
  }
  uint32_t operator()(uint32_t r) const {
    uint32_t out = 0;
    for (int bit = 0; bit < 32; ++bit)
      if (r >> bit & 1) out ^= column[bit];
    return out;
  }
};

}  // namespace

__attribute__((target("sse4.2"))) uint32_t crc32c_update_serial(uint32_t state, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t s = state;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    s = __builtin_ia32_crc32di(s, v);
  }
  for (; n > 0; ++p, --n) s = __builtin_ia32_crc32qi(static_cast<uint32_t>(s), *p);
  return static_cast<uint32_t>(s);
}

// Feeding A|B|C (each kStream bytes) from s gives shift2(U(s, A)) ^ shift1(U(0, B)) ^ U(0, C),
// where U is the serial update and shiftN advances through N x kStream zero bytes.
__attribute__((target("sse4.2"))) uint32_t crc32c_update(uint32_t state, const void* data, size_t n) {
  static const ZeroShift shift1(kStream), shift2(2 * kStream);
  const auto* p = static_cast<const unsigned char*>(data);
  for (; n >= 3 * kStream; p += 3 * kStream, n -= 3 * kStream) {
    uint64_t a = state, b = 0, c = 0;
    for (size_t i = 0; i < kStream; i += 8) {
      uint64_t va, vb, vc;
      std::memcpy(&va, p + i, 8);
      std::memcpy(&vb, p + kStream + i, 8);
      std::memcpy(&vc, p + 2 * kStream + i, 8);
      a = __builtin_ia32_crc32di(a, va);
      b = __builtin_ia32_crc32di(b, vb);
      c = __builtin_ia32_crc32di(c, vc);
    }
    state = shift2(static_cast<uint32_t>(a)) ^ shift1(static_cast<uint32_t>(b)) ^ static_cast<uint32_t>(c);
  }
  return crc32c_update_serial(state, p, n);
}

}  // namespace fg::weights
