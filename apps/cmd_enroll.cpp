#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/atomic_file.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/face_options.h"
#include "apps/gallery.h"
#include "apps/gallery_scan.h"
#include "apps/image_io.h"
#include "apps/progress.h"
#include "apps/topk.h"
#include "apps/utf8.h"
#include "tools/convert/sha256.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate enroll GALLERY_DIR --db DB --model MODEL.fgw\n"
    "                       (--detector MTCNN.fgw | --no-detect) [--gallery N]\n"
    "                       [--probes M] [--seed S] [--report REPORT.json]\n"
    "                       [--reindex [--drop-failed]] [--threads N]\n"
    "\n"
    "Enrolls GALLERY_DIR/<identity name>/<images> into the database DB (created if\n"
    "missing): one embedding per image, of its largest face. Images are the files\n"
    "named .jpg, .jpeg, .png, .bmp, .webp, .tif(f) or .pbm/.pgm/.ppm/.pnm (any case).\n"
    "Listed on stderr (and in --report's problems) and left out: other files, files\n"
    "directly in GALLERY_DIR, folders inside a person's folder (not searched), and\n"
    "folders whose name is not valid UTF-8 or has control characters (rename them).\n"
    "Hidden entries (names starting with '.': .DS_Store, ._*, .git/) are ignored\n"
    "silently. Left-out entries do not change the exit status. Images already in the\n"
    "DB (same file content, by sha256) are skipped, so re-running adds only new\n"
    "photos. Everything one identity gets is written in one atomic batch.\n"
    "\n"
    "With --probes M, M images per identity are held out (a reproducible split for a\n"
    "given --seed) and searched after enrolling; Top-1/3/5 accuracy is printed per\n"
    "identity and in all, counting identities, not images. An identity always keeps\n"
    "one image for the gallery: of n <= M images, n - 1 are held out (none of a\n"
    "single image), and the summary says so. Probes that cannot be read or have no\n"
    "face count as misses and are reported.\n"
    "\n"
    "options:\n"
    "  --db DIR          the facegate database (RocksDB directory)\n"
    "  --gallery N       enroll at most N images per identity in this run (default,\n"
    "                    or 0: all)\n"
    "  --probes M        hold out M images per identity for the Top-K evaluation\n"
    "                    (default 0; at most all but one of an identity's images)\n"
    "  --seed S          seed of the gallery/probe split (default 42)\n"
    "  --report FILE     write the enrollment and Top-K results as JSON\n"
    "  --reindex         the DB holds another model's embeddings: re-embed its images\n"
    "                    with --model (from their recorded absolute paths) instead of\n"
    "                    refusing; when any of them cannot be re-embedded, nothing\n"
    "                    changes; a calibrated threshold is dropped (it measured the\n"
    "                    old model: calibrate again)\n"
    "  --drop-failed     with --reindex: drop the images that cannot be re-embedded\n"
    "                    instead\n";

struct Counts {
  int added = 0, duplicates = 0, unreadable = 0, no_face = 0, identities_created = 0, probes_enrolled = 0;
  std::vector<std::string> empty_identities;  // ended with no image in the DB
  nlohmann::json problems = nlohmann::json::array();
};

// embed_one's `why` for a readable image without a face; any other reason is an unreadable image.
constexpr const char* kNoFace = "no face found";

// Reads, detects and embeds one image; on failure records why and returns nothing.
std::optional<EmbeddedFace> embed_one(FacePipeline& faces, const std::string& path, std::string& why) {
  const cv::Mat img = read_image_warning("enroll", path, why);
  if (img.empty()) return std::nullopt;
  std::vector<EmbeddedFace> found = faces.faces(img, true);
  if (found.empty()) {
    why = kNoFace;
    return std::nullopt;
  }
  return std::move(found.front());
}

// The file a recorded path (recorded_path) names: each part of it as it is when that exists, else
// the one entry of its folder whose printable name it is ("Ren\xE9e.jpg" for a Latin-1 name);
// `recorded` itself when there is none, or more than one.
std::string source_file(const std::string& recorded) {
  namespace fs = std::filesystem;
  fs::path found;
  for (const fs::path& part : fs::path(recorded)) {
    std::error_code ec;
    if (fs::exists(found / part, ec)) {
      found /= part;
      continue;
    }
    fs::path match;
    for (fs::directory_iterator it(found, ec), end; !ec && it != end; it.increment(ec)) {
      if (printable(it->path().filename().string()) != part.string()) continue;
      if (!match.empty()) return recorded;
      match = it->path();
    }
    if (match.empty()) return recorded;
    found = match;
  }
  return found.string();
}

// Re-embeds every stored image from its recorded path. All or nothing: when an image cannot
// be re-embedded (moved, deleted, or no face for the new model) the DB is left as it was,
// unless drop_failed says to drop those images.
void reindex(Gallery& gallery, FacePipeline& faces, bool drop_failed) {
  std::vector<store::EmbeddingRecord> old;
  gallery.store().for_each_embedding([&](const store::EmbeddingRecord& r) { old.push_back(r); });
  std::fprintf(stderr, "facegate enroll: --reindex: re-embedding %s with %s\n",
               cli::count(old.size(), "image", "images").c_str(), faces.model_id().c_str());
  std::vector<store::EmbeddingRecord> fresh;
  std::vector<std::string> failed;
  Progress progress("reindex", old.size());
  for (auto& r : old) {
    std::string why;
    if (auto f = embed_one(faces, source_file(r.image_path), why)) {
      r.embedding = f->embedding;
      r.model_id = faces.model_id();
      if (f->face) r.box = f->face->box;
      fresh.push_back(std::move(r));
    } else {
      failed.push_back(printable(r.image_path) + ": " + why);
    }
    progress.step();
  }
  progress.finish();
  for (const std::string& f : failed)
    std::fprintf(stderr, "facegate enroll: --reindex %s %s\n", drop_failed ? "drops" : "cannot re-embed", f.c_str());
  if (!failed.empty() && !drop_failed)
    throw std::runtime_error("--reindex: " + std::to_string(failed.size()) + " of " +
                             cli::count(old.size(), "stored image", "stored images") +
                             " cannot be re-embedded (listed above); the DB is unchanged. Put the "
                             "files back at their recorded paths, or add --drop-failed to drop those images");
  const bool was_calibrated = gallery.store().threshold().has_value();
  gallery.store().change_model(faces.model_id(), fresh);
  gallery.rebuild();
  if (was_calibrated)
    std::fprintf(stderr,
                 "facegate enroll: --reindex: the calibrated threshold measured the old model's scores and is "
                 "dropped: run facegate calibrate --db %s\n",
                 gallery.store().state().path.c_str());
}

// True when the DB holds an image with the content of `path` (false when it cannot be read).
bool enrolled_already(Gallery& gallery, const std::string& path) {
  try {
    return gallery.store().has_image(convert::sha256_file(path));
  } catch (const std::exception&) {
    return false;
  }
}

// The path recorded for an image: absolute, so that --reindex finds it from any directory; and
// printable, as every output shows it (export-person, sync, messages): a file name that is not
// UTF-8 or has control characters is stored escaped, and --reindex finds it by source_file.
std::string recorded_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return printable(ec ? path : abs.lexically_normal().string());
}

// The Top-K section after enroll. Its header says how many images were really held out: an
// identity with fewer than --probes + 1 images keeps one for the gallery (split_images).
void print_topk(const TopKReport& topk, const nlohmann::json& capped, int probes, uint64_t seed, int probes_enrolled,
                size_t fewest, size_t most) {
  std::string held = std::to_string(probes) + " per identity";
  if (!capped.empty()) {
    std::string names;
    constexpr size_t kNamed = 5;
    for (size_t i = 0; i < capped.size() && i < kNamed; ++i) {
      const nlohmann::json& c = capped[i];
      names += (i ? ", " : "") + std::to_string(c["held_out"].get<size_t>()) + " of " +
               c["identity"].get<std::string>() + "'s " + std::to_string(c["images"].get<size_t>());
    }
    if (capped.size() > kNamed) names += ", and " + std::to_string(capped.size() - kNamed) + " more";
    std::printf("probes: --probes %d holds out fewer images of %s, one image of each kept for the gallery: %s\n",
                probes, cli::count(capped.size(), "identity", "identities").c_str(), names.c_str());
    held = (fewest == most ? std::to_string(most) : std::to_string(fewest) + " to " + std::to_string(most)) +
           " per identity, --probes " + std::to_string(probes) + " keeping one image each for the gallery";
  }
  const int searched = topk.total().probes + topk.total().failed;
  if (searched == 0 && probes_enrolled == 0) {
    std::printf("\nTop-K: no probes (every identity has a single image, kept for the gallery)\n");
    return;
  }
  std::printf("\nTop-K over %s (seed %llu, %s; %d unreadable or without a face count as misses; "
              "%d already enrolled left out)\n%s",
              cli::count(searched, "probe", "probes").c_str(), static_cast<unsigned long long>(seed), held.c_str(),
              topk.total().failed, probes_enrolled, topk.table().c_str());
}

}  // namespace

int cmd_enroll(int argc, char** argv) {
  std::set<std::string> valued = kFaceValued, flags = kFaceFlags;
  valued.insert({"--db", "--gallery", "--probes", "--seed", "--report"});
  flags.insert({"--reindex", "--drop-failed", "-h", "--help"});
  cli::Args args(argc, argv, valued, flags);
  if (args.flag("-h") || args.flag("--help")) {
    std::printf("%s%s  -h, --help        show this help\n", kHelp, face_help(20, true).c_str());
    return 0;
  }
  if (args.positionals().size() != 1) throw cli::UsageError("expected one GALLERY_DIR");
  const std::string db = args.get("--db");
  if (db.empty()) throw cli::UsageError("missing --db DB");
  const int max_gallery = args.get_int("--gallery", 0, 0, 1000000);
  const int probes = args.get_int("--probes", 0, 0, 1000000);
  const std::string seed_text = args.get("--seed", "42");
  uint64_t seed = 0;
  try {
    size_t used = 0;
    seed = std::stoull(seed_text, &used);
    if (used != seed_text.size()) throw std::invalid_argument("trailing characters");
  } catch (const std::exception&) {
    throw cli::UsageError("--seed: got '" + seed_text + "', expected a non-negative integer");
  }
  const std::string report_path = args.get("--report");
  const std::string root = args.positionals()[0];

  if (args.flag("--drop-failed") && !args.flag("--reindex")) throw cli::UsageError("--drop-failed needs --reindex");
  if (!report_path.empty()) check_output_folder("--report", report_path);
  const FaceOptions face_opts = face_options(args);  // usage errors before any work
  const GalleryScan scan = scan_gallery(root);
  const std::vector<PersonDir>& people = scan.people;
  Counts counts;
  // Problems hold paths escaped (escape_invalid_utf8): they go to stderr and into the JSON report.
  for (const LeftOut& l : scan.left_out)
    counts.problems.push_back({{l.folder ? "folder" : "image", escape_invalid_utf8(l.path)},
                               {"error", "not enrolled (" + l.why + ")"}});
  FacePipeline faces(face_opts);
  GalleryOptions go;
  go.create = true;
  go.model_id = faces.model_id();
  go.allow_model_change = args.flag("--reindex");
  std::error_code ec;
  const bool new_db = !std::filesystem::exists(std::filesystem::path(db) / "CURRENT", ec);
  const bool dir_existed = std::filesystem::exists(db, ec);
  std::optional<Gallery> opened = Gallery::open(db, go);
  Gallery& gallery = *opened;
  const std::string db_model = gallery.store().state().model_id;
  if (!db_model.empty() && db_model != faces.model_id()) reindex(gallery, faces, args.flag("--drop-failed"));

  std::vector<Split> splits;
  size_t total = 0;
  nlohmann::json probes_capped = nlohmann::json::array();  // identities that kept an image from --probes
  size_t fewest_probes = SIZE_MAX, most_probes = 0;
  for (const auto& p : people) {
    splits.push_back(split_images(p, static_cast<size_t>(probes), static_cast<size_t>(max_gallery), seed));
    total += splits.back().gallery.size();
    const size_t held = splits.back().probes.size();
    if (p.images.empty()) continue;
    fewest_probes = std::min(fewest_probes, held);
    most_probes = std::max(most_probes, held);
    if (held < static_cast<size_t>(probes))
      probes_capped.push_back({{"identity", p.name}, {"images", p.images.size()}, {"held_out", held}});
  }

  Progress progress("enroll", total);
  for (size_t i = 0; i < people.size(); ++i) {
    const PersonDir& person = people[i];
    const std::optional<store::Identity> existing = gallery.store().find_identity_by_name(person.name);
    std::vector<store::EmbeddingRecord> records;
    for (const std::string& path : splits[i].gallery) {
      std::string why;
      std::string hash;
      try {
        hash = convert::sha256_file(path);
      } catch (const std::exception& e) {
        const std::string what = e.what();  // "<path>: cannot read: <reason>"
        why = what.rfind(path + ": ", 0) == 0 ? what.substr(path.size() + 2) : what;
      }
      const std::optional<store::Duplicate> enrolled =
          why.empty() ? gallery.store().find_image(hash) : std::nullopt;
      if (enrolled) {
        ++counts.duplicates;
        if (!existing || enrolled->owner_id != existing->id) {
          // The same photo in two people's folders: one of them is misfiled.
          const auto owner = gallery.store().get_identity(enrolled->owner_id);
          counts.problems.push_back(
              {{"image", escape_invalid_utf8(path)},
               {"identity", person.name},
               {"error", "the same photo is already enrolled as '" +
                             escape_invalid_utf8(owner ? owner->name : enrolled->owner_id) + "' (" +
                             escape_invalid_utf8(enrolled->image_path) + "): not added to '" + person.name + "'"}});
        }
      } else if (auto f = why.empty() ? embed_one(faces, path, why) : std::nullopt) {
        store::EmbeddingRecord r;
        r.image_path = recorded_path(path);
        r.content_hash = hash;
        r.embedding = std::move(f->embedding);
        if (f->face) r.box = f->face->box;
        records.push_back(std::move(r));
      }
      if (!why.empty()) {
        (why == kNoFace ? counts.no_face : counts.unreadable)++;
        counts.problems.push_back({{"image", escape_invalid_utf8(path)}, {"identity", person.name}, {"error", why}});
      }
      progress.step(person.name);
    }
    if (!records.empty()) {
      store::Identity who = existing ? *existing : store::Identity{};
      who.name = person.name;
      const store::EnrollResult result = gallery.store().enroll(who, std::move(records));
      gallery.added(result);
      counts.added += static_cast<int>(result.added.size());
      counts.duplicates += static_cast<int>(result.duplicates.size());
      counts.identities_created += result.identity_created;
    } else if (!existing || existing->image_count == 0) {
      counts.empty_identities.push_back(person.name);
    }
  }
  progress.finish();

  TopKReport topk;
  if (probes > 0) {
    size_t n_probes = 0;
    for (const auto& s : splits) n_probes += s.probes.size();
    Progress probe_progress("probes", n_probes);
    for (size_t i = 0; i < people.size(); ++i) {
      for (const std::string& path : splits[i].probes) {
        std::string why;
        if (enrolled_already(gallery, path)) {
          // An earlier run (another --seed or --probes) enrolled it: finding it would prove nothing.
          ++counts.probes_enrolled;
          counts.problems.push_back({{"image", escape_invalid_utf8(path)},
                                     {"identity", people[i].name},
                                     {"probe", true},
                                     {"error", "already enrolled by an earlier run: left out of the Top-K"}});
        } else if (auto f = embed_one(faces, path, why)) {
          std::vector<std::string> ranked;
          for (const auto& m : gallery.index().search(f->embedding, 5)) {
            auto who = gallery.store().get_identity(m.identity_id);
            ranked.push_back(who ? who->name : m.identity_id);
          }
          topk.add_probe(people[i].name, ranked);
        } else {
          topk.add_failure(people[i].name);
          counts.problems.push_back(
              {{"image", escape_invalid_utf8(path)}, {"identity", people[i].name}, {"probe", true}, {"error", why}});
        }
        probe_progress.step(people[i].name);
      }
    }
    probe_progress.finish();
  }

  const store::StoreState st = gallery.store().state();
  std::printf("enrolled %s (%s); skipped %d already enrolled, %d unreadable, %d without a face\n",
              cli::count(counts.added, "new image", "new images").c_str(),
              cli::count(counts.identities_created, "new identity", "new identities").c_str(), counts.duplicates,
              counts.unreadable, counts.no_face);
  std::printf("database %s: %s, %s\n", db.c_str(),
              cli::count(st.identity_count, "identity", "identities").c_str(),
              cli::count(st.embedding_count, "image", "images").c_str());
  for (const auto& p : counts.problems) {
    std::fprintf(stderr, "facegate enroll: %s: %s\n", printable(p.value("image", p.value("folder", ""))).c_str(),
                 printable(p["error"].get<std::string>()).c_str());
  }
  if (probes > 0) print_topk(topk, probes_capped, probes, seed, counts.probes_enrolled, fewest_probes, most_probes);
  if (!report_path.empty()) {
    nlohmann::json report = {{"gallery_dir", escape_invalid_utf8(root)},
                             {"db", escape_invalid_utf8(db)},
                             {"model", faces.model_id()},
                             {"seed", seed},
                             {"probes_per_identity", probes},
                             {"gallery_limit", max_gallery},
                             {"enrolled", {{"added", counts.added},
                                           {"identities_created", counts.identities_created},
                                           {"duplicates", counts.duplicates},
                                           {"unreadable", counts.unreadable},
                                           {"no_face", counts.no_face}}},
                             {"problems", counts.problems}};
    if (probes > 0) {
      report["topk"] = topk.to_json();
      report["topk"]["left_out_already_enrolled"] = counts.probes_enrolled;
      report["probes_capped"] = probes_capped;
    }
    write_file_atomic(report_path, report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }
  if (new_db && st.identity_count == 0) {
    // A run that enrolled nobody leaves no empty DB behind.
    opened.reset();
    if (dir_existed) {  // the empty directory the user made stays
      for (const auto& e : std::filesystem::directory_iterator(db, ec)) std::filesystem::remove_all(e.path(), ec);
    } else {
      std::filesystem::remove_all(db, ec);
    }
    std::fprintf(stderr, "facegate enroll: nothing was enrolled, so the new DB %s was not kept\n", db.c_str());
  }
  if (!counts.empty_identities.empty()) {
    std::string names;
    for (const auto& n : counts.empty_identities) names += (names.empty() ? "" : ", ") + n;
    std::fprintf(stderr, "facegate enroll: no usable image for: %s\n", names.c_str());
    return 1;
  }
  return 0;
}

}  // namespace fg::apps
