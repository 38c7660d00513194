#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/atomic_file.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/face_options.h"
#include "apps/image_io.h"
#include "apps/media/plugin_loader.h"
#include "detect/align.h"
#include "detect/detector.h"
#include "nn/dlib_resnet.h"
#include "nn/resnet50.h"
#include "weights/fgw.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate detect --detector MTCNN.fgw IMAGE... [--json] [--min-face N]\n"
    "                       [--max-faces N] [--threads N] [--save-crops DIR]\n"
    "                       [--align box|arcface|dlib-chip] [--model MODEL.fgw]\n"
    "\n"
    "Finds faces with MTCNN, as facenet-pytorch's MTCNN(keep_all=True) does, from its\n"
    "own weights (facegate convert pnet.pt rnet.pt onet.pt -o mtcnn.fgw): the same\n"
    "boxes, probabilities and landmarks. Faces are listed largest first; the\n"
    "landmarks are left eye, right eye, nose, left and right mouth corner ('left' =\n"
    "image left).\n"
    "Output, one line per image in the order given:\n"
    "  default:  PATH<TAB>N faces<TAB>WxH, then per face\n"
    "            <TAB>x1 y1 x2 y2<TAB>prob<TAB>x y of the 5 landmarks\n"
    "  --json:   {\"image\": PATH, \"width\": W, \"height\": H, \"faces\": [\n"
    "            {\"box\": [x1,y1,x2,y2], \"prob\": p, \"landmarks\": [[x,y] x5]}]}\n"
    "Images are decoded as 8-bit colour (grayscale, 16-bit and alpha are converted).\n"
    "An image with a side above 4096 px is shrunk to 4096 (area interpolation) before\n"
    "detection, which bounds the detector's memory (under 300 MB beyond the decoded\n"
    "image), and its faces are mapped back to its own pixels; --min-face then applies\n"
    "to the shrunk image. An image below 12 px on a side has no faces.\n"
    "An image that cannot be read or processed is reported on its line ({\"image\":\n"
    "PATH, \"error\": WHY} with --json, on stderr otherwise); the others still run and\n"
    "the exit code is 1.\n"
    "\n"
    "options:\n"
    "  --detector FILE   converted MTCNN weights (required)\n"
    "  --json            JSON lines output\n"
    "  --min-face N      smallest face searched, in pixels (default 20, at least 12)\n"
    "  --max-faces N     keep only the N largest faces (default, or 0: all)\n"
    "  --threads N       worker threads (default: all cores)\n"
    "  --save-crops DIR  write each face's crop (112x112; 150x150 for dlib-chip) as\n"
    "                    DIR/<image name>_<k>.png (k = 1 for the largest face; a name\n"
    "                    seen before gets -<argument #>), owner-only: they are face\n"
    "                    images\n"
    "  --align MODE      the crop: box (the box clipped and stretched), arcface\n"
    "                    (5-point similarity onto the ArcFace template) or dlib-chip\n"
    "                    (dlib's 150x150 face chip); default: the 'alignment' of\n"
    "                    --model, else box\n"
    "  --model FILE      embedding model whose 'alignment' metadata chooses the crop\n"
    "  -h, --help        show this help\n";

detect::Alignment crop_alignment(const cli::Args& args) {
  if (auto mode = alignment_option(args)) return *mode;
  if (args.has("--model")) {
    const weights::WeightsFile model = weights::WeightsFile::open(args.get("--model"));
    // Every embedding model carries its crop; a detector's weights (a common slip) do not.
    if (!model.meta().count("alignment") && model.meta().count("arch"))
      throw weights::WeightsError(model.path() + ": arch '" + model.meta_string("arch") +
                                  "' has no crop to give --model: expected an embedding model (" +
                                  nn::kResNet50Arch + " or " + nn::kDlibResNetArch + ")");
    const std::string& mode = model.meta_string("alignment");
    try {
      return detect::parse_alignment(mode);
    } catch (const std::invalid_argument& e) {
      throw weights::WeightsError(model.path() + ": " + e.what());
    }
  }
  return detect::Alignment::box;
}

// Writes the crops of one image; returns "" or what went wrong.
std::string save_crops(const std::string& dir, const std::string& stem, const cv::Mat& image,
                       const std::vector<detect::Face>& faces, detect::Alignment mode) {
  for (size_t k = 0; k < faces.size(); ++k) {
    const std::string path = dir + "/" + stem + "_" + std::to_string(k + 1) + ".png";
    cv::Mat crop;
    try {
      crop = detect::align(image, faces[k], mode);
      std::vector<uint8_t> png;
      if (!media::plugin("write --crops PNGs").encode_png(crop, png)) return "cannot encode " + path;
      write_file_atomic(path, std::string(png.begin(), png.end()), /*owner_only=*/true);
    } catch (const std::exception& e) {
      return "crop " + std::to_string(k + 1) + ": " + e.what();
    }
  }
  return "";
}

nlohmann::json to_json(const std::string& path, const cv::Mat& img, const std::vector<detect::Face>& faces) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : faces) {
    nlohmann::json marks = nlohmann::json::array();
    for (const auto& p : f.landmarks) marks.push_back({p[0], p[1]});
    list.push_back({{"box", f.box}, {"prob", f.prob}, {"landmarks", marks}});
  }
  return {{"image", path}, {"width", img.cols}, {"height", img.rows}, {"faces", list}};
}

void print_text(const std::string& path, const cv::Mat& img, const std::vector<detect::Face>& faces) {
  std::printf("%s\t%s\t%dx%d\n", path.c_str(), cli::count(faces.size(), "face", "faces").c_str(), img.cols, img.rows);
  for (const auto& f : faces) {
    std::printf("\t%.4f %.4f %.4f %.4f\t%.7f\t", f.box[0], f.box[1], f.box[2], f.box[3], f.prob);
    for (size_t i = 0; i < f.landmarks.size(); ++i)
      std::printf(i ? " %.4f %.4f" : "%.4f %.4f", f.landmarks[i][0], f.landmarks[i][1]);
    std::printf("\n");
  }
}

}  // namespace

int cmd_detect(int argc, char** argv) {
  cli::Args args(argc, argv,
                 {"--detector", "--min-face", "--max-faces", "--threads", "--save-crops", "--align", "--model"},
                 {"--json", "-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string weights = args.get("--detector");
  if (weights.empty()) throw cli::UsageError("missing --detector MTCNN.fgw");
  if (args.positionals().empty()) throw cli::UsageError("no images given");
  detect::Options opt;
  opt.min_face = args.get_int("--min-face", opt.min_face, 12, 65536);
  opt.max_faces = args.get_int("--max-faces", 0, 0, 1 << 20);
  opt.threads = args.get_int("--threads", cli::default_threads(), 1, 256);
  const bool json = args.flag("--json");
  const std::string crops = args.get("--save-crops");
  const detect::Alignment mode = crop_alignment(args);
  if (args.has("--save-crops")) {
    if (crops.empty()) throw cli::UsageError("--save-crops needs a directory");
    make_output_dir("--save-crops", crops, /*owner_only=*/true);
  }

  detect::Detector detector(weights, opt);
  const auto& paths = args.positionals();
  std::set<std::string> stems;
  int failures = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    std::string why;
    const cv::Mat img = read_image_warning("detect", paths[i], why);
    std::vector<detect::Face> faces;
    if (why.empty()) {
      try {
        faces = detector.detect(img);
      } catch (const std::exception& e) {
        why = e.what();
      }
    }
    // A crop that cannot be written is an error of its own: the detections still print.
    if (why.empty() && !crops.empty()) {
      std::string stem = std::filesystem::path(paths[i]).stem().string();
      if (!stems.insert(stem).second) stem += "-" + std::to_string(i + 1);
      const std::string crop_error = save_crops(crops, stem, img, faces, mode);
      if (!crop_error.empty()) {
        ++failures;
        std::fprintf(stderr, "facegate detect: %s: %s\n", paths[i].c_str(), crop_error.c_str());
      }
    }
    if (!why.empty()) {
      ++failures;
      if (json) {
        const nlohmann::json line = {{"image", paths[i]}, {"error", why}};
        std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      } else {
        std::fprintf(stderr, "facegate detect: %s: %s\n", paths[i].c_str(), why.c_str());
      }
    } else if (json) {
      std::printf("%s\n",
                  to_json(paths[i], img, faces).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      print_text(paths[i], img, faces);
    }
    std::fflush(stdout);
  }
  if (failures)
    std::fprintf(stderr, "facegate detect: %d of %s failed\n", failures,
                 cli::count(paths.size(), "image", "images").c_str());
  return failures ? 1 : 0;
}

}  // namespace fg::apps
