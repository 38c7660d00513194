#include <algorithm>
#include <stdexcept>

#include "apps/face_options.h"

namespace fg::apps {

const std::set<std::string> kFaceValued = {"--model", "--detector", "--align", "--min-face", "--threads"};
const std::set<std::string> kFaceFlags = {"--no-detect"};

std::string face_help(int column, bool no_detect) {
  struct Line {
    const char* option;
    const char* text;
  };
  static const Line kLines[] = {
      {"--model FILE", "embedding model (facegate convert model.pt -o FILE)"},
      {"--detector FILE", "MTCNN weights\n(facegate convert pnet.pt rnet.pt onet.pt -o FILE)"},
      {"--no-detect", "images are already face crops: embed each whole image"},
      {"--align MODE", "box, arcface or dlib-chip\n(default: the model's 'alignment')"},
      {"--min-face N", "smallest face searched, in pixels (default 20)"},
      {"--threads N", "worker threads (default: all cores)"},
  };
  std::string out;
  for (const Line& l : kLines) {
    if (!no_detect && std::string(l.option) == "--no-detect") continue;
    std::string head = std::string("  ") + l.option;
    head.resize(std::max<size_t>(head.size() + 1, static_cast<size_t>(column)), ' ');
    // A '\n' in a text is where it breaks when it does not fit in 80 columns on one line.
    std::string text = l.text;
    std::string flat = text;
    std::replace(flat.begin(), flat.end(), '\n', ' ');
    if (head.size() + flat.size() <= 80) text = flat;
    for (size_t at = 0, nl = 0; nl != std::string::npos; at = nl + 1) {
      nl = text.find('\n', at);
      out += (at == 0 ? head : std::string(head.size(), ' ')) + text.substr(at, nl - at) + '\n';
    }
  }
  return out;
}

std::optional<detect::Alignment> alignment_option(const cli::Args& args) {
  if (!args.has("--align")) return std::nullopt;
  const std::string mode = args.get("--align");
  try {
    return detect::parse_alignment(mode);
  } catch (const std::invalid_argument&) {
    throw cli::UsageError("--align: got '" + mode + "', expected box, arcface or dlib-chip");
  }
}

FaceOptions face_options(const cli::Args& args, bool no_detect_allowed) {
  FaceOptions o;
  o.model = args.get("--model");
  if (o.model.empty()) throw cli::UsageError("missing --model MODEL.fgw");
  const bool no_detect = args.flag("--no-detect");
  o.detector = args.get("--detector");
  if (!no_detect_allowed && o.detector.empty()) throw cli::UsageError("missing --detector MTCNN.fgw");
  if (no_detect == !o.detector.empty()) {
    throw cli::UsageError("give either --detector MTCNN.fgw or --no-detect");
  }
  o.align = alignment_option(args);
  o.min_face = args.get_int("--min-face", 20, 12, 65536);
  o.threads = args.get_int("--threads", cli::default_threads(), 1, 256);
  return o;
}

}  // namespace fg::apps
