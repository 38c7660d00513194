#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/chroma_option.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/face_options.h"
#include "apps/gallery.h"
#include "apps/image_io.h"
#include "apps/threshold.h"
#include "apps/utf8.h"
#include "store/chroma/endpoint.h"
#include "store/chroma/search.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate identify IMAGE...\n"
    "                         (--db DB | --index chroma://HOST:PORT/COLLECTION)\n"
    "                         --model MODEL.fgw (--detector MTCNN.fgw | --no-detect)\n"
    "                         [--top K] [--threshold T] [--json]\n"
    "\n"
    "For every face in each image, the K most similar enrolled identities (each\n"
    "scored by the cosine similarity of its best image), or \"unknown\" when the best\n"
    "score is below the threshold. With --no-detect each image is taken as one face\n"
    "crop.\n"
    "With --json, one line per image:\n"
    "  {\"image\": PATH, \"faces\": [{\"box\": [x1,y1,x2,y2] | null, \"matches\": [{\"id\",\n"
    "   \"name\", \"score\"}], \"unknown\": bool}]}   or   {\"image\": PATH, \"error\": WHY}\n"
    "An unreadable image does not stop the others; the exit code is then 1.\n"
    "\n"
    "options:\n"
    "  --db DIR          the facegate database\n"
    "  --index URL       search this ChromaDB collection (a central gallery, see\n"
    "                    facegate sync) instead of DB's index; --db then only gives\n"
    "                    the threshold\n"
    "  --top K           identities per face (default 5)\n"
    "  --threshold T     cosine similarity (-1..1) below which a face is unknown\n"
    "                    (default: the DB's calibrated threshold, else the model's:\n"
    "                    0.5 for resnet50-arcface, 0.91 for dlib-resnet)\n"
    "  --json            JSON lines output\n";

}  // namespace

int cmd_identify(int argc, char** argv) {
  std::set<std::string> valued = kFaceValued, flags = kFaceFlags;
  valued.insert({"--db", "--index", "--top", "--threshold"});
  flags.insert({"--json", "-h", "--help"});
  cli::Args args(argc, argv, valued, flags);
  if (args.flag("-h") || args.flag("--help")) {
    std::printf("%s%s  -h, --help        show this help\n", kHelp, face_help(20, true).c_str());
    return 0;
  }
  if (args.positionals().empty()) throw cli::UsageError("no images given");
  const std::string db = args.get("--db");
  if (db.empty() && !args.has("--index")) throw cli::UsageError("missing --db DB (or --index URL)");
  const int top = args.get_int("--top", 5, 1, 1000);
  const bool json = args.flag("--json");
  std::optional<store::chroma::Endpoint> index_at;
  if (args.has("--index")) index_at = chroma_endpoint(args, "--index");
  FacePipeline faces(face_options(args));
  GalleryOptions go;
  go.model_id = faces.model_id();
  std::optional<Gallery> gallery;
  if (!db.empty()) {
    try {
      gallery.emplace(Gallery::open(db, go));  // writable: a rebuilt index is saved for next time
    } catch (const store::StoreError& e) {
      // Only reading: alongside the door's attend (which holds the lock), or on a read-only DB.
      if (e.kind() != store::ErrorKind::locked && e.kind() != store::ErrorKind::not_writable) throw;
      go.read_only = true;
      gallery.emplace(Gallery::open(db, go));
    }
  }
  std::optional<store::chroma::RemoteGallery> central;
  if (index_at)
    central.emplace(store::chroma::Client(*index_at), index_at->collection, static_cast<uint32_t>(faces.dim()),
                    faces.model_id());
  const std::optional<double> calibrated = gallery ? gallery->store().threshold() : std::nullopt;
  const Threshold picked = pick_threshold(args, calibrated, faces.model_id());
  const float threshold = picked.value;
  if (gallery && gallery->store().state().embedding_count == 0 && !central)
    throw std::runtime_error("DB " + db + " has no enrolled images: run facegate enroll first");
  const std::string warning = uncalibrated_warning(picked, faces.model_id());
  if (!warning.empty()) std::fprintf(stderr, "facegate identify: %s\n", warning.c_str());

  int failures = 0;
  for (const std::string& path : args.positionals()) {
    std::string why;
    const cv::Mat img = read_image_warning("identify", path, why);
    std::vector<EmbeddedFace> found;
    if (!img.empty()) found = faces.faces(img, false);
    // Names and paths in the JSON with bytes that are not UTF-8 escaped; in the text printable.
    nlohmann::json line = {{"image", escape_invalid_utf8(path)}};
    if (img.empty()) {
      ++failures;
      line["error"] = why;
      if (!json) std::fprintf(stderr, "facegate identify: %s: %s\n", printable(path).c_str(), why.c_str());
    } else {
      line["faces"] = nlohmann::json::array();
      if (!json) std::printf("%s: %s\n", printable(path).c_str(), cli::count(found.size(), "face", "faces").c_str());
      for (const auto& f : found) {
        nlohmann::json face = {{"box", f.face ? nlohmann::json(f.face->box) : nlohmann::json(nullptr)},
                               {"matches", nlohmann::json::array()},
                               {"unknown", true}};
        if (central) {
          for (const auto& m : central->search(f.embedding, static_cast<size_t>(top))) {
            face["matches"].push_back(
                {{"id", m.identity_id}, {"name", escape_invalid_utf8(m.name)}, {"score", m.score}});
          }
          face["unknown"] = face["matches"].empty() || face["matches"][0]["score"].get<float>() < threshold;
        } else {
          const index::Identification r = gallery->index().identify(f.embedding, static_cast<size_t>(top), threshold);
          face["unknown"] = r.unknown;
          for (const auto& m : r.matches) {
            const auto who = gallery->store().get_identity(m.identity_id);
            face["matches"].push_back(
                {{"id", m.identity_id}, {"name", escape_invalid_utf8(who ? who->name : "")}, {"score", m.score}});
          }
        }
        if (!json) {
          std::string where =
              f.face ? "[" + std::to_string(int(f.face->box[0])) + "," + std::to_string(int(f.face->box[1])) + "," +
                           std::to_string(int(f.face->box[2])) + "," + std::to_string(int(f.face->box[3])) + "]"
                     : "whole image";
          std::printf("  %s: %s\n", where.c_str(),
                      face["unknown"].get<bool>() ? "unknown"
                                                  : printable(face["matches"][0]["name"].get<std::string>()).c_str());
          for (const auto& m : face["matches"]) {
            std::printf("    %s %.4f\n", pad_right(printable(m["name"].get<std::string>()), 24).c_str(),
                        m["score"].get<float>());
          }
        }
        line["faces"].push_back(std::move(face));
      }
    }
    if (json) std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
  }
  return failures ? 1 : 0;
}

}  // namespace fg::apps
