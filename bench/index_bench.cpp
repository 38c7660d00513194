// Identity-level search quality and cost of fg::index at gallery scale: 20 000 identities x 5
// images of random 512-D unit vectors (each identity a random centre plus noise, so its images
// have cosine ~0.7-0.9 with each other). Prints build time, identity-level top-1 recall
// against exact brute force, query latency p50/p99, save/load time and resident memory.
// A plain program (one long run, not repeated timings):
//   fg_index_bench [--identities N] [--per P] [--dim D] [--queries Q] [--threads T]
//                  [--m M] [--ef-construction E]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "index/index.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// VmRSS / VmHWM from /proc/self/status, in MiB.
double status_mib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + std::strlen(field) + 1) / 1024.0;
  return 0;
}

void normalise(float* v, size_t dim) {
  double n2 = 0;
  for (size_t i = 0; i < dim; ++i) n2 += double(v[i]) * v[i];
  const auto inv = static_cast<float>(1.0 / std::sqrt(n2));
  for (size_t i = 0; i < dim; ++i) v[i] *= inv;
}

// Gaussian direction of norm `sigma` added to `centre`, normalised: cosine to the centre is
// 1 / sqrt(1 + sigma^2), between two such views about 1 / (1 + sigma^2).
void noisy_view(const float* centre, float sigma, size_t dim, std::mt19937& rng, float* out) {
  std::normal_distribution<float> g(0.f, sigma / std::sqrt(float(dim)));
  for (size_t i = 0; i < dim; ++i) out[i] = centre[i] + g(rng);
  normalise(out, dim);
}

// Exact identity-level top-1 for a block of queries: one pass over the data per block keeps
// this bound by arithmetic, not memory bandwidth.
void brute_force_top1(const std::vector<float>& data, size_t dim, size_t per, const std::vector<float>& queries,
                      size_t q_begin, size_t q_end, std::vector<uint32_t>& best_identity) {
  constexpr size_t kBlock = 16;
  for (size_t q0 = q_begin; q0 < q_end; q0 += kBlock) {
    const size_t nq = std::min(kBlock, q_end - q0);
    float best[kBlock];
    std::fill(best, best + kBlock, -2.f);
    const size_t n = data.size() / dim;
    for (size_t r = 0; r < n; ++r) {
      const float* row = &data[r * dim];
      for (size_t q = 0; q < nq; ++q) {
        const float* qv = &queries[(q0 + q) * dim];
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (size_t i = 0; i < dim; i += 16) {
          a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + i), _mm256_loadu_ps(qv + i), a0);
          a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + i + 8), _mm256_loadu_ps(qv + i + 8), a1);
        }
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, _mm256_add_ps(a0, a1));
        float dot = 0;
        for (float x : lanes) dot += x;
        if (dot > best[q]) {
          best[q] = dot;
          best_identity[q0 + q] = static_cast<uint32_t>(r / per);
        }
      }
    }
  }
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  size_t identities = 20000, per = 5, dim = 512, queries_per_kind = 1000;
  fg::index::Params params;
  params.threads = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const auto value = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--identities") identities = value;
    else if (flag == "--per") per = value;
    else if (flag == "--dim") dim = value;
    else if (flag == "--queries") queries_per_kind = value;
    else if (flag == "--threads") params.threads = static_cast<unsigned>(value);
    else if (flag == "--m") params.m = static_cast<uint32_t>(value);
    else if (flag == "--ef-construction") params.ef_construction = static_cast<uint32_t>(value);
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (dim % 16 != 0) {
    std::fprintf(stderr, "--dim must be a multiple of 16\n");
    return 2;
  }
  params.dim = static_cast<uint32_t>(dim);
  const size_t n = identities * per;
  std::printf("gallery: %zu identities x %zu images = %zu vectors, dim %zu; M %u, ef_construction %u, %u threads\n",
              identities, per, n, dim, params.m, params.ef_construction, params.threads);

  std::mt19937 rng(2024);
  std::uniform_real_distribution<float> gallery_sigma(0.35f, 0.65f);
  std::vector<float> centres(identities * dim), data(n * dim);
  std::normal_distribution<float> g;
  for (size_t c = 0; c < identities; ++c) {
    for (size_t i = 0; i < dim; ++i) centres[c * dim + i] = g(rng);
    normalise(&centres[c * dim], dim);
    for (size_t j = 0; j < per; ++j)
      noisy_view(&centres[c * dim], gallery_sigma(rng), dim, rng, &data[(c * per + j) * dim]);
  }
  double within = 0;
  for (size_t c = 0; c < 200; ++c) {
    const float* a = &data[c * per * dim];
    const float* b = a + dim;
    double dot = 0;
    for (size_t i = 0; i < dim; ++i) dot += double(a[i]) * b[i];
    within += dot / 200;
  }
  std::printf("mean cosine between two images of one identity: %.3f\n", within);
  const double rss_data = status_mib("VmRSS:");

  std::vector<std::string> names(identities);
  for (size_t c = 0; c < identities; ++c) names[c] = "id" + std::to_string(c);
  std::vector<fg::index::Entry> entries(n);
  for (size_t r = 0; r < n; ++r) entries[r] = {r, names[r / per], fg::index::VectorView(&data[r * dim], dim)};

  auto t0 = Clock::now();
  const double cpu0 = cpu_seconds();
  fg::index::Index index(params, fg::index::Stamp{"bench", "bench", 1});
  index.add(entries);
  const double build_s = seconds_since(t0);
  const double rss_index = status_mib("VmRSS:");
  std::printf("build: %.1f s wall, %.1f s CPU (%.0f vectors/s)\n", build_s, cpu_seconds() - cpu0, n / build_s);

  // Queries: genuine (a new view of an enrolled identity), hard (a much noisier view) and
  // strangers (random directions, whose nearest identity is a near tie among many).
  struct Kind {
    const char* name;
    float sigma;
  };
  const std::vector<Kind> kinds = {{"genuine", 0.5f}, {"hard", 1.2f}, {"stranger", -1.f}};
  const size_t nq = queries_per_kind * kinds.size();
  std::vector<float> queries(nq * dim);
  std::uniform_int_distribution<size_t> pick(0, identities - 1);
  for (size_t k = 0; k < kinds.size(); ++k)
    for (size_t q = 0; q < queries_per_kind; ++q) {
      float* out = &queries[(k * queries_per_kind + q) * dim];
      if (kinds[k].sigma > 0) {
        noisy_view(&centres[pick(rng) * dim], kinds[k].sigma, dim, rng, out);
      } else {
        for (size_t i = 0; i < dim; ++i) out[i] = g(rng);
        normalise(out, dim);
      }
    }

  t0 = Clock::now();
  std::vector<uint32_t> exact(nq);
  {
    const unsigned threads = params.threads;
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        brute_force_top1(data, dim, per, queries, nq * t / threads, nq * (t + 1) / threads, exact);
      });
    for (auto& t : pool) t.join();
  }
  std::printf("brute force over %zu queries: %.1f s\n", nq, seconds_since(t0));

  const std::vector<uint32_t> efs = {16, 32, 64, 128};
  std::printf("\nidentity-level top-1 recall vs brute force (k = 1), latency on 1 thread\n"
              "(a k = 1 search asks for 32 images, so its breadth is max(ef_search, 32)):\n");
  std::printf("%-9s %9s %9s %9s %9s %9s\n", "queries", "ef_search", "recall", "p50 ms", "p99 ms", "mean ms");
  for (size_t k = 0; k < kinds.size(); ++k)
    for (uint32_t ef : efs) {
      index.set_ef_search(ef);
      size_t hits = 0;
      std::vector<double> ms;
      for (size_t q = k * queries_per_kind; q < (k + 1) * queries_per_kind; ++q) {
        const auto t = Clock::now();
        const auto got = index.search(fg::index::VectorView(&queries[q * dim], dim), 1);
        ms.push_back(seconds_since(t) * 1e3);
        hits += !got.empty() && got[0].identity_id == names[exact[q]];
      }
      double mean = 0;
      for (double x : ms) mean += x / ms.size();
      std::printf("%-9s %9u %9.4f %9.3f %9.3f %9.3f\n", kinds[k].name, ef, double(hits) / queries_per_kind,
                  percentile(ms, 0.5), percentile(ms, 0.99), mean);
    }

  index.set_ef_search(params.ef_search);
  std::vector<double> ms5;
  for (size_t q = 0; q < queries_per_kind; ++q) {
    const auto t = Clock::now();
    index.search(fg::index::VectorView(&queries[q * dim], dim), 5);
    ms5.push_back(seconds_since(t) * 1e3);
  }
  std::printf("top-5 identities (genuine, ef %u): p50 %.3f ms, p99 %.3f ms\n", params.ef_search, percentile(ms5, 0.5),
              percentile(ms5, 0.99));

  std::printf("memory: VmRSS %.0f MiB with the raw vectors, %.0f MiB after the build (index ~%.0f MiB), "
              "VmHWM %.0f MiB\n",
              rss_data, rss_index, rss_index - rss_data, status_mib("VmHWM:"));

  const std::string path =
      (std::filesystem::temp_directory_path() / ("facegate-bench-" + std::to_string(::getpid()) + ".fgi")).string();
  t0 = Clock::now();
  index.save(path);
  const double save_s = seconds_since(t0);
  t0 = Clock::now();
  const auto loaded = fg::index::Index::load(path, params);
  const double load_s = seconds_since(t0);
  std::printf("save %.2f s, load (with checks) %.2f s, file %.1f MiB, %llu images\n", save_s, load_s,
              std::filesystem::file_size(path) / 1048576.0, static_cast<unsigned long long>(loaded.size()));
  std::filesystem::remove(path);
  return 0;
}
