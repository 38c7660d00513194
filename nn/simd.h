// The one SIMD type the fast kernels are written against: xsimd's best architecture for the
// -march this build targets (fma3<avx2> for x86-64-v3). facegate checks at start-up that the
// CPU has it and logs simd_arch_name().
#pragma once

#include <cstdint>

#include <xsimd/xsimd.hpp>

namespace fg::nn {

using vfloat = xsimd::batch<float>;
constexpr int kVecWidth = static_cast<int>(vfloat::size);

inline const char* simd_arch_name() { return xsimd::default_arch::name(); }

namespace detail {
// Lane orders that gather lanes First, First + 2, ... of a vector into its low half (or,
// when High, its high half).
template <int First, bool High>
struct Gather {
  static constexpr uint32_t get(uint32_t i, uint32_t n) {
    const uint32_t j = High ? i + n / 2 : i;
    return (2 * j + First) % n;
  }
};
struct LowHalf {
  static constexpr bool get(uint32_t i, uint32_t n) { return i < n / 2; }
};
}  // namespace detail

// The lanes of the 2 kVecWidth floats lo then hi at even (First = 0) or odd positions: two
// swizzles and a blend.
template <int First>
vfloat deinterleave(const vfloat& lo, const vfloat& hi) {
  using index = xsimd::batch<uint32_t>;
  return xsimd::select(xsimd::make_batch_bool_constant<vfloat, detail::LowHalf>(),
                       xsimd::swizzle(lo, xsimd::make_batch_constant<index, detail::Gather<First, false>>()),
                       xsimd::swizzle(hi, xsimd::make_batch_constant<index, detail::Gather<First, true>>()));
}

}  // namespace fg::nn
