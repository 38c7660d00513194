#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/image_io.h"
#include "nn/embedder.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate embed --model MODEL.fgw IMAGE... [--threads N] [--batch N] [--json]\n"
    "\n"
    "Computes the unit-length embedding of each image, taken whole as the face crop\n"
    "(resized to the model's input size, 112x112 for ResNet-50).\n"
    "Output, one line per image in the order given:\n"
    "  default:  PATH<TAB>v1 v2 ... vN\n"
    "  --json:   {\"image\": PATH, \"embedding\": [N floats]}\n"
    "An image that cannot be read is reported on its line ({\"image\": PATH, \"error\": WHY}\n"
    "with --json, on stderr otherwise); the others still run and the exit code is 1.\n"
    "\n"
    "options:\n"
    "  --model FILE    converted weights (facegate convert)\n"
    "  --threads N     worker threads (default: all cores)\n"
    "  --batch N       images per forward pass (default 8)\n"
    "  --json          JSON lines output\n"
    "  -h, --help      show this help\n";

}  // namespace

int cmd_embed(int argc, char** argv) {
  cli::Args args(argc, argv, {"--model", "--threads", "--batch"}, {"--json", "-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string model = args.get("--model");
  if (model.empty()) throw cli::UsageError("missing --model MODEL.fgw");
  if (args.positionals().empty()) throw cli::UsageError("no images given");
  const int threads = args.get_int("--threads", cli::default_threads(), 1, 256);
  const int batch = args.get_int("--batch", 8, 1, 1024);
  const bool json = args.flag("--json");

  nn::Embedder embedder(model, threads);
  const auto& paths = args.positionals();
  std::vector<float> out;
  int failures = 0;
  for (size_t start = 0; start < paths.size(); start += batch) {
    const size_t end = std::min(paths.size(), start + batch);
    std::vector<cv::Mat> images;
    std::vector<std::string> errors(end - start);
    for (size_t i = start; i < end; ++i) {
      cv::Mat img = read_image(paths[i], errors[i - start]);
      if (!img.empty()) images.push_back(std::move(img));
    }
    out.resize(images.size() * embedder.dim());
    embedder.embed(images, out.data());
    size_t next = 0;
    for (size_t i = start; i < end; ++i) {
      const std::string& why = errors[i - start];
      if (!why.empty()) ++failures;
      const float* e = why.empty() ? out.data() + (next++) * embedder.dim() : nullptr;
      if (json) {
        nlohmann::json line = {{"image", paths[i]}};
        if (e) {
          line["embedding"] = std::vector<float>(e, e + embedder.dim());
        } else {
          line["error"] = why;
        }
        std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      } else if (e) {
        std::printf("%s\t", paths[i].c_str());
        for (int k = 0; k < embedder.dim(); ++k) std::printf(k ? " %.9g" : "%.9g", e[k]);
        std::printf("\n");
      } else {
        std::fprintf(stderr, "facegate embed: %s: %s\n", paths[i].c_str(), why.c_str());
      }
    }
    std::fflush(stdout);
  }
  if (failures) std::fprintf(stderr, "facegate embed: %d of %zu images failed\n", failures, paths.size());
  return failures ? 1 : 0;
}

}  // namespace fg::apps
