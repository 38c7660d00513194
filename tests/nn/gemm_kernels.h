// Runs a test body under each GEMM tile set the CPU supports.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>

#include "nn/gemm.h"

namespace fg::nn::test {

// Runs body under every GEMM kernel this CPU supports (both tile sets on an AVX-512 CPU),
// then restores the start-up choice.
template <typename Fn>
void for_each_gemm_kernel(Fn&& body) {
  const GemmKernel before = gemm_kernel();
  for (GemmKernel k : {GemmKernel::build_arch, GemmKernel::avx512}) {
    if (!gemm_kernel_supported(k)) {
      std::printf("GEMM kernel %s: not supported here, not tested\n", gemm_kernel_name(k));
      continue;
    }
    set_gemm_kernel(k);
    SCOPED_TRACE(gemm_kernel_name(k));
    body();
  }
  set_gemm_kernel(before);
}

}  // namespace fg::nn::test
