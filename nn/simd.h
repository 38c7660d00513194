// The one SIMD type the fast kernels are written against: xsimd's best architecture for the
// -march this build targets (fma3<avx2> for x86-64-v3). facegate checks at start-up that the
// CPU has it and logs simd_arch_name().
#pragma once

#include <xsimd/xsimd.hpp>

namespace fg::nn {

using vfloat = xsimd::batch<float>;
constexpr int kVecWidth = static_cast<int>(vfloat::size);

inline const char* simd_arch_name() { return xsimd::default_arch::name(); }

}  // namespace fg::nn
