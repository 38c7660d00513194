// MTCNN detection, whole pipeline: ms per photo for a 640x480 frame (group/bbt2.jpg resized,
// 4 faces) and for group/multiface.jpg (1200x630, 6 faces), at 1 and 2 threads. Candidate
// counts, hence speed, depend on the real weights and real photos, so this bench uses
// ../shared/data (or $FACEGATE_DATA) and says so when it is missing.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <unistd.h>

#include "detect/detector.h"
#include "tools/convert/convert.h"

namespace {

namespace fs = std::filesystem;

std::string data_dir() {
  if (const char* env = std::getenv("FACEGATE_DATA")) return env;
  return std::string(FACEGATE_SOURCE_DIR) + "/../shared/data";
}

// The converted weights, made once in a temporary directory; "" without the shared data.
const std::string& weights() {
  static const std::string path = [] {
    const std::string src = data_dir() + "/mtcnn/";
    if (!fs::exists(src + "pnet.pt")) return std::string();
    const fs::path out = fs::temp_directory_path() / ("facegate-bench-mtcnn-" + std::to_string(::getpid()) + ".fgw");
    fg::convert::convert_mtcnn(src + "pnet.pt", src + "rnet.pt", src + "onet.pt", out.string());
    std::atexit([] {
      fs::remove(fs::temp_directory_path() / ("facegate-bench-mtcnn-" + std::to_string(::getpid()) + ".fgw"));
    });
    return out.string();
  }();
  return path;
}

cv::Mat photo(const std::string& which) {
  const std::string faces = data_dir() + "/faces/group/";
  if (which == "frame640x480") {
    cv::Mat img = cv::imread(faces + "bbt2.jpg", cv::IMREAD_COLOR), frame;
    if (img.empty()) return img;
    cv::resize(img, frame, cv::Size(640, 480), 0, 0, cv::INTER_AREA);
    return frame;
  }
  return cv::imread(faces + "multiface.jpg", cv::IMREAD_COLOR);
}

void BM_Detect(benchmark::State& state, const std::string& which) {
  if (weights().empty()) {
    state.SkipWithError(("no shared data at " + data_dir() + " (set FACEGATE_DATA)").c_str());
    return;
  }
  const cv::Mat img = photo(which);
  if (img.empty()) {
    state.SkipWithError(("cannot read the photo for " + which).c_str());
    return;
  }
  fg::detect::Options opt;
  opt.threads = static_cast<int>(state.range(0));
  fg::detect::Detector detector(weights(), opt);
  size_t faces = 0;
  for (auto _ : state) {
    faces = detector.detect(img).size();
    benchmark::DoNotOptimize(faces);
  }
  state.counters["faces"] = static_cast<double>(faces);
  state.counters["ms_per_photo"] = benchmark::Counter(static_cast<double>(state.iterations()) / 1000.0,
                                                      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK_CAPTURE(BM_Detect, frame640x480, std::string("frame640x480"))
    ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Detect, multiface, std::string("multiface"))
    ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
