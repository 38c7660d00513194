// The whole ResNet-50 embedder at 112x112: ms per image at 1 and 2 threads, batch 1 and 8,
// with the build's own GEMM tiles and with the AVX-512 ones (avx512:1, when the CPU has them).
// Runs on random weights written to a temporary .fgw (no real model needed); speed does
// not depend on the values.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <random>
#include <unistd.h>

#include "nn/gemm.h"
#include "nn/resnet50.h"

namespace {

// 2 x 1.076 G multiply-adds + the head.
constexpr double kFlopsPerImage = 2.153e9;

const fg::nn::ResNet50& network() {
  static const std::unique_ptr<fg::nn::ResNet50> net = [] {
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.f, 0.05f);
    fg::weights::WeightsWriter w;
    w.set_meta("arch", std::string(fg::nn::kResNet50Arch));
    w.set_meta("input_size", int64_t{112});
    w.set_meta("embedding_dim", int64_t{512});
    for (const auto& [name, shape] : fg::nn::ResNet50::tensor_shapes(512)) {
      std::vector<float> v(fg::weights::numel(shape));
      for (auto& x : v) x = dist(rng);
      w.add_tensor(name, shape, v.data());
    }
    const auto path =
        std::filesystem::temp_directory_path() / ("facegate-bench-" + std::to_string(::getpid()) + ".fgw");
    w.write(path.string());
    auto file = fg::weights::WeightsFile::open(path.string());
    auto loaded = std::make_unique<fg::nn::ResNet50>(file);
    std::filesystem::remove(path);
    return loaded;
  }();
  return *net;
}

void BM_ResNet50(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  const auto kernel = state.range(2) ? fg::nn::GemmKernel::avx512 : fg::nn::GemmKernel::build_arch;
  if (!fg::nn::gemm_kernel_supported(kernel)) {
    state.SkipWithError("GEMM kernel not supported on this CPU");
    return;
  }
  fg::nn::set_gemm_kernel(kernel);
  state.SetLabel(fg::nn::gemm_kernel_name(kernel));
  const auto& net = network();
  auto ws = net.make_workspace(threads);
  fg::nn::ThreadPool pool(threads);
  std::vector<float> in(static_cast<size_t>(batch) * 3 * 112 * 112), out(static_cast<size_t>(batch) * 512);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (auto& x : in) x = u(rng);
  for (auto _ : state) {
    net.forward(in.data(), batch, out.data(), *ws, pool);
    benchmark::DoNotOptimize(out.data());
  }
  // Images per second, inverted: seconds per image (printed with an SI prefix, e.g. 28ms).
  state.counters["per_image"] = benchmark::Counter(static_cast<double>(state.iterations()) * batch,
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["GFLOPs"] = benchmark::Counter(kFlopsPerImage * batch * static_cast<double>(state.iterations()) / 1e9,
                                                benchmark::Counter::kIsRate);
}
// kernel: 0 = the build's own tiles, 1 = AVX-512 tiles (skipped on CPUs without it).
BENCHMARK(BM_ResNet50)->ArgNames({"batch", "threads", "avx512"})
    ->ArgsProduct({{1, 8}, {1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
