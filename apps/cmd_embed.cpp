#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/face_options.h"
#include "apps/face_pipeline.h"
#include "apps/image_io.h"
#include "nn/embedder.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate embed --model MODEL.fgw IMAGE... [--threads N] [--batch N]\n"
    "                      [--json]\n"
    "                      [--detector MTCNN.fgw [--align MODE] [--min-face N]]\n"
    "\n"
    "Computes the unit-length embedding of each image, taken whole as the face crop\n"
    "(resized to the model's input size: 112x112 for ResNet-50, 150x150 for\n"
    "dlib-resnet). With --detector, embeds the largest face MTCNN finds instead,\n"
    "aligned as the model's 'alignment' metadata says (or --align), and the JSON line\n"
    "adds its \"box\" [x1, y1, x2, y2]; an image with no face is reported like an\n"
    "unreadable one.\n"
    "Output, one line per image in the order given:\n"
    "  default:  PATH<TAB>v1 v2 ... vN\n"
    "  --json:   {\"image\": PATH, \"embedding\": [N floats]}\n"
    "An image that cannot be read is reported on its line ({\"image\": PATH, \"error\":\n"
    "WHY} with --json, on stderr otherwise); the others still run and the exit code\n"
    "is 1.\n"
    "\n"
    "options:\n"
    "  --model FILE     converted weights (facegate convert)\n"
    "  --detector FILE  MTCNN weights: embed the largest detected face\n"
    "  --align MODE     with --detector: box, arcface or dlib-chip (default: the\n"
    "                   model's 'alignment'), as enroll, identify and attend take it\n"
    "  --min-face N     with --detector: smallest face searched, in pixels (default\n"
    "                   20)\n"
    "  --threads N      worker threads (default: all cores)\n"
    "  --batch N        images per forward pass (default 8; without --detector)\n"
    "  --json           JSON lines output\n"
    "  -h, --help       show this help\n";

}  // namespace

int cmd_embed(int argc, char** argv) {
  cli::Args args(argc, argv, {"--model", "--detector", "--align", "--min-face", "--threads", "--batch"},
                 {"--json", "-h", "--help"});
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
  if (!args.has("--detector") && (args.has("--align") || args.has("--min-face")))
    throw cli::UsageError(std::string(args.has("--align") ? "--align" : "--min-face") +
                          " applies with --detector (without it each image is the crop)");

  const auto& paths = args.positionals();
  int failures = 0;
  // One output line per image: its embedding (and box), or why there is none.
  const auto emit = [&](const std::string& path, const float* e, int dim, const detect::Face* face,
                        const std::string& why) {
    if (!e) ++failures;
    if (json) {
      nlohmann::json line = {{"image", path}};
      if (e) {
        line["embedding"] = std::vector<float>(e, e + dim);
        if (face) line["box"] = face->box;
      } else {
        line["error"] = why;
      }
      std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else if (e) {
      std::printf("%s\t", path.c_str());
      for (int k = 0; k < dim; ++k) std::printf(k ? " %.9g" : "%.9g", e[k]);
      std::printf("\n");
    } else {
      std::fprintf(stderr, "facegate embed: %s: %s\n", path.c_str(), why.c_str());
    }
  };

  if (args.has("--detector")) {
    FaceOptions o;
    o.model = model;
    o.detector = args.get("--detector");
    o.align = alignment_option(args);
    o.min_face = args.get_int("--min-face", o.min_face, 12, 65536);
    o.threads = threads;
    FacePipeline pipeline(o);
    for (const std::string& path : paths) {
      std::string why;
      const cv::Mat img = read_image_warning("embed", path, why);
      const auto faces = img.empty() ? std::vector<EmbeddedFace>{} : pipeline.faces(img, true);
      if (faces.empty()) {
        emit(path, nullptr, 0, nullptr, img.empty() ? why : "no face found");
      } else {
        emit(path, faces[0].embedding.data(), pipeline.dim(), &*faces[0].face, "");
      }
      std::fflush(stdout);
    }
  } else {
    nn::Embedder embedder(model, threads);
    std::vector<float> out;
    for (size_t start = 0; start < paths.size(); start += batch) {
      const size_t end = std::min(paths.size(), start + batch);
      std::vector<cv::Mat> images;
      std::vector<std::string> errors(end - start);
      for (size_t i = start; i < end; ++i) {
        cv::Mat img = read_image_warning("embed", paths[i], errors[i - start]);
        if (!img.empty()) images.push_back(std::move(img));
      }
      out.resize(images.size() * embedder.dim());
      embedder.embed(images, out.data());
      size_t next = 0;
      for (size_t i = start; i < end; ++i) {
        const std::string& why = errors[i - start];
        emit(paths[i], why.empty() ? out.data() + (next++) * embedder.dim() : nullptr, embedder.dim(), nullptr, why);
      }
      std::fflush(stdout);
    }
  }
  if (failures)
    std::fprintf(stderr, "facegate embed: %d of %s failed\n", failures,
                 cli::count(paths.size(), "image", "images").c_str());
  return failures ? 1 : 0;
}

}  // namespace fg::apps
