// GFLOP/s of the nn kernels on ResNet-50 shapes (112x112 input), next to the machine's
// single-core FMA peak. Needs no weights: everything is random.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "nn/gemm.h"
#include "nn/kernels.h"
#include "nn/simd.h"
#include "nn/winograd.h"

namespace fg::nn {
namespace {

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Multi-threaded benchmarks use real time (UseRealTime), so this is wall-clock GFLOP/s.
void set_gflops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops_per_iteration * 1e-9 * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// 12 independent FMA chains: enough to cover FMA latency x throughput (4 x 2) on current
// x86 cores, few enough to stay in registers.
void BM_fma_peak(benchmark::State& state) {
  constexpr int kChains = 12, kSteps = 4096;
  vfloat acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vfloat(float(i));
  const vfloat a(0.999999f), b(1e-7f);
  for (auto _ : state) {
    for (int s = 0; s < kSteps; ++s)
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = xsimd::fma(acc[i], a, b);
    for (auto& x : acc) benchmark::DoNotOptimize(x);
  }
  set_gflops(state, 2.0 * kVecWidth * kChains * kSteps);
  state.SetLabel(simd_arch_name());
}
BENCHMARK(BM_fma_peak);

// The same with 16-wide AVX-512 FMAs: the peak of the tiles facegate picks on a CPU that has
// them while the build targets AVX2 (nn/gemm.h), so the one to measure their share against.
// Compiled for AVX-512 on its own, run only after the CPU check.
__attribute__((target("avx512f"))) void fma_chains_avx512(int steps, float* out) {
  constexpr int kChains = 12;
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(float(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int s = 0; s < steps; ++s)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  for (int i = 0; i < kChains; ++i) _mm512_storeu_ps(out + 16 * i, acc[i]);
}

void BM_fma_peak_avx512(benchmark::State& state) {
  if (!gemm_kernel_supported(GemmKernel::avx512)) {
    state.SkipWithError("no AVX-512 on this CPU (or build)");
    return;
  }
  constexpr int kChains = 12, kSteps = 4096;
  float out[kChains * 16];
  for (auto _ : state) {
    fma_chains_avx512(kSteps, out);
    benchmark::DoNotOptimize(out);
  }
  set_gflops(state, 2.0 * 16 * kChains * kSteps);
  state.SetLabel("avx512f");
}
BENCHMARK(BM_fma_peak_avx512);

// One core reading a buffer front to back: the bandwidth that bounds batch 1, where stages 3
// and 4 of ResNet-50 use each weight for only 49 or 16 columns (their 88 MB of weights are 94%
// of the 94 MiB converted file). Buffers larger than this core's share of the caches measure
// memory.
void BM_stream_read(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0)) << 18;  // MiB, in floats
  std::vector<float> buf(n, 1.0f);
  constexpr size_t kStep = 4 * kVecWidth;  // four independent sums
  for (auto _ : state) {
    vfloat s[4] = {vfloat(0.0f), vfloat(0.0f), vfloat(0.0f), vfloat(0.0f)};
    for (size_t i = 0; i + kStep <= n; i += kStep)
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) s[j] += vfloat::load_unaligned(buf.data() + i + j * kVecWidth);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * sizeof(float)));
}
BENCHMARK(BM_stream_read)->ArgName("MiB")->Arg(1)->Arg(24)->Arg(94)->Arg(400)->Unit(benchmark::kMillisecond);

// Selects the GEMM tiles of the benchmark's "avx512" argument (0: the build's own tiles);
// false, with the run skipped, when this CPU lacks them.
bool select_gemm_kernel(benchmark::State& state, int64_t avx512) {
  const GemmKernel kernel = avx512 ? GemmKernel::avx512 : GemmKernel::build_arch;
  if (!gemm_kernel_supported(kernel)) {
    state.SkipWithError("GEMM kernel not supported on this CPU");
    return false;
  }
  set_gemm_kernel(kernel);
  return true;
}

struct ConvBench {
  const char* name;
  int in_c, out_c, k, stride, h;
};

// The distinct conv shapes of ResNet-50 at 112x112 (torchvision v1.5: stride on the 3x3).
const ConvBench kConvs[] = {
    {"conv1_7x7s2_3-64_112", 3, 64, 7, 2, 112},
    {"l1_1x1_64-64_28", 64, 64, 1, 1, 28},
    {"l1_3x3_64-64_28", 64, 64, 3, 1, 28},
    {"l1_1x1_64-256_28", 64, 256, 1, 1, 28},
    {"l1_1x1_256-64_28", 256, 64, 1, 1, 28},
    {"l2_1x1_256-128_28", 256, 128, 1, 1, 28},
    {"l2_3x3s2_128-128_28", 128, 128, 3, 2, 28},
    {"l2_3x3_128-128_14", 128, 128, 3, 1, 14},
    {"l2_1x1_128-512_14", 128, 512, 1, 1, 14},
    {"l2_1x1_512-128_14", 512, 128, 1, 1, 14},
    {"l2_ds_1x1s2_256-512_28", 256, 512, 1, 2, 28},
    {"l3_3x3_256-256_7", 256, 256, 3, 1, 7},
    {"l3_1x1_256-1024_7", 256, 1024, 1, 1, 7},
    {"l3_1x1_1024-256_7", 1024, 256, 1, 1, 7},
    {"l3_ds_1x1s2_512-1024_14", 512, 1024, 1, 2, 14},
    {"l4_3x3_512-512_4", 512, 512, 3, 1, 4},
    {"l4_3x3s2_512-512_7", 512, 512, 3, 2, 7},
    {"l4_1x1_512-2048_4", 512, 2048, 1, 1, 4},
    {"l4_1x1_2048-512_4", 2048, 512, 1, 1, 4},
    {"l4_ds_1x1s2_1024-2048_7", 1024, 2048, 1, 2, 7},
    // Each stage runs conv3 and the downsample of its first block as one 1x1 conv over both
    // inputs' channels (nn/resnet50.cpp): 64 + 64, 128 + 256, 256 + 512, 512 + 1024.
    {"l1_conv3+ds_1x1_128-256_28", 128, 256, 1, 1, 28},
    {"l2_conv3+ds_1x1_384-512_14", 384, 512, 1, 1, 14},
    {"l3_conv3+ds_1x1_768-1024_7", 768, 1024, 1, 1, 7},
    {"l4_conv3+ds_1x1_1536-2048_4", 1536, 2048, 1, 1, 4},
};

Conv2dShape shape_of(const ConvBench& c) {
  Conv2dShape s;
  s.in_c = c.in_c;
  s.out_c = c.out_c;
  s.kh = s.kw = c.k;
  s.stride_h = s.stride_w = c.stride;
  s.pad_h = s.pad_w = c.k / 2;
  return s;
}

// Winograd rows count the direct conv's FLOPs (as their label says), so that their GFLOP/s
// compare with the im2col rows of the same shape: the ratio is the speed-up.
void BM_conv(benchmark::State& state, ConvBench c, ConvAlgo algo) {
  if (!select_gemm_kernel(state, state.range(1))) return;
  const Conv2dShape s = shape_of(c);
  const auto weight = random_floats(size_t(c.out_c) * c.in_c * c.k * c.k, 1);
  const auto bias = random_floats(c.out_c, 2);
  const auto in = random_floats(size_t(c.in_c) * c.h * c.h, 3);
  const Conv2d conv(s, weight.data(), bias.data(), algo);
  const int oh = s.out_h(c.h), ow = s.out_w(c.h);
  std::vector<float> out(size_t(c.out_c) * oh * ow), ws(conv.workspace_floats(c.h, c.h));
  ThreadPool pool(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    conv.forward(in.data(), c.h, c.h, nullptr, Act::relu, out.data(), ws.data(), pool);
    benchmark::ClobberMemory();
  }
  set_gflops(state, 2.0 * c.out_c * oh * ow * c.in_c * c.k * c.k);
  state.SetLabel(std::string(gemm_kernel_name(gemm_kernel())) +
                 (algo == ConvAlgo::winograd ? ", Winograd F(2x2,3x3), GFLOP/s of the direct conv" : ""));
}

// Every conv of one ResNet-50 forward pass in order, each with its own weights, each reading
// the previous one's output (ping-pong buffers), the last of each block adding a residual:
// the conv part of the per-image time, with the weight and activation traffic of the network.
void BM_resnet50_all_convs(benchmark::State& state) {
  if (!select_gemm_kernel(state, state.range(1))) return;
  struct Layer {
    Conv2d conv;
    int h;
    bool residual;
  };
  std::vector<Layer> layers;
  double flops = 0;
  size_t ws_floats = 0, act_floats = 0;
  auto add = [&](int in_c, int out_c, int k, int stride, int h, bool residual) {
    const ConvBench c{"", in_c, out_c, k, stride, h};
    const Conv2dShape s = shape_of(c);
    const auto w = random_floats(size_t(out_c) * in_c * k * k, unsigned(layers.size()));
    const size_t out_floats = size_t(out_c) * s.out_h(h) * s.out_w(h);
    layers.push_back({Conv2d(s, w.data(), nullptr), h, residual});
    flops += 2.0 * out_floats * in_c * k * k;
    ws_floats = std::max(ws_floats, layers.back().conv.workspace_floats(h, h));
    act_floats = std::max({act_floats, out_floats, size_t(in_c) * h * h});
  };
  add(3, 64, 7, 2, 112, false);
  const int blocks[] = {3, 4, 6, 3};
  int in_c = 64, h = 28;
  for (int stage = 0; stage < 4; ++stage) {
    const int mid = 64 << stage, out_c = mid * 4;
    for (int b = 0; b < blocks[stage]; ++b) {
      const int stride = (b == 0 && stage > 0) ? 2 : 1;
      const int oh = (h + 2 - 3) / stride + 1;
      if (b == 0) add(in_c, out_c, 1, stride, h, false);
      add(in_c, mid, 1, 1, h, false);
      add(mid, mid, 3, stride, h, false);
      add(mid, out_c, 1, 1, oh, true);
      in_c = out_c;
      h = oh;
    }
  }
  // Small values keep 53 layers of random weights away from overflow.
  std::vector<float> a = random_floats(act_floats, 9), b(act_floats, 0.0f), ws(ws_floats);
  const std::vector<float> residual = random_floats(act_floats, 10);
  for (auto& x : a) x *= 1e-3f;
  ThreadPool pool(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    float* cur = a.data();
    float* next = b.data();
    for (const auto& l : layers) {
      l.conv.forward(cur, l.h, l.h, l.residual ? residual.data() : nullptr, Act::relu, next,
                     ws.data(), pool);
      std::swap(cur, next);
    }
    benchmark::ClobberMemory();
  }
  set_gflops(state, flops);
  state.SetLabel(std::to_string(layers.size()) + " convs, " + std::to_string(flops * 1e-9) +
                 " GFLOP, " + gemm_kernel_name(gemm_kernel()));
}
BENCHMARK(BM_resnet50_all_convs)
    ->ArgNames({"threads", "avx512"})
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_linear(benchmark::State& state) {
  const int in = static_cast<int>(state.range(0)), out = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  const auto w = random_floats(size_t(in) * out, 1);
  const auto b = random_floats(out, 2);
  const auto x = random_floats(size_t(batch) * in, 3);
  std::vector<float> y(size_t(batch) * out);
  const Linear lin(in, out, w.data(), b.data());
  ThreadPool pool(static_cast<int>(state.range(3)));
  for (auto _ : state) {
    lin.forward(x.data(), batch, y.data(), pool);
    benchmark::ClobberMemory();
  }
  set_gflops(state, 2.0 * in * out * batch);
}
BENCHMARK(BM_linear)
    ->ArgNames({"in", "out", "batch", "threads"})
    ->Args({2048, 512, 1, 1})
    ->Args({2048, 512, 1, 2})
    ->Args({576, 128, 1, 1})
    ->Args({576, 128, 64, 1})
    ->Args({576, 128, 64, 2})
    ->Args({1152, 256, 16, 2})
    ->UseRealTime();

void BM_max_pool_stem(benchmark::State& state) {
  const auto in = random_floats(64 * 56 * 56, 1);
  std::vector<float> out(64 * 28 * 28);
  PoolShape p;
  p.k = 3;
  p.stride = 2;
  p.pad = 1;
  ThreadPool pool(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    max_pool2d(p, in.data(), 64, 56, 56, out.data(), pool);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_max_pool_stem)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

int register_convs() {
  for (const auto& c : kConvs)
    for (const ConvAlgo algo : {ConvAlgo::im2col, ConvAlgo::winograd}) {
      if (algo == ConvAlgo::winograd && !winograd_supports(shape_of(c))) continue;
      const std::string name = algo == ConvAlgo::winograd ? "BM_conv_winograd/" : "BM_conv/";
      benchmark::RegisterBenchmark((name + c.name).c_str(), BM_conv, c, algo)
          ->ArgNames({"threads", "avx512"})
          ->ArgsProduct({{1, 2}, {0, 1}})
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  return 0;
}
const int registered = register_convs();

}  // namespace
}  // namespace fg::nn

BENCHMARK_MAIN();
