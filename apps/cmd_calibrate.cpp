#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/atomic_file.h"
#include "apps/calibrate.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/threshold.h"
#include "store/store.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate calibrate --db DB [--far RATE] [--plot FILE.png] [--threads N]\n"
    "                          [--dry-run]\n"
    "\n"
    "Chooses the open-set threshold from the enrolled images themselves\n"
    "(leave-one-out):\n"
    "  genuine score:  each image's best cosine to another image of its identity\n"
    "                  (identities with 2 or more images only)\n"
    "  impostor score: each image's best cosine to an image of any other identity\n"
    "The threshold is the smallest value that at most a fraction RATE of the impostor\n"
    "scores reach (scores >= threshold are accepted); the false-reject rate there is\n"
    "the fraction of genuine scores below it. Needs at least 2 identities, one of\n"
    "them with 2 or more images; a RATE below 1 / (number of images) cannot be\n"
    "measured and is reported as such.\n"
    "The threshold is stored in the DB and used by later commands unless --dry-run.\n"
    "\n"
    "options:\n"
    "  --db DB          the facegate database (facegate enroll)\n"
    "  --far RATE       false-accept rate to calibrate for, in (0, 1) (default 1e-3)\n"
    "  --plot FILE.png  also write score histograms and the ROC curve there as PNG\n"
    "                   (no plot without it)\n"
    "  --threads N      worker threads (default: all cores)\n"
    "  --dry-run        print the result, keep the stored threshold (opens the DB\n"
    "                   read-only)\n"
    "  -h, --help       show this help\n";

double parse_far(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (s.empty() || used != s.size() || !(v > 0 && v < 1))
    throw cli::UsageError("--far: got '" + s + "', expected a rate in (0, 1) such as 1e-3");
  return v;
}

std::vector<CalibrationSample> load_samples(const store::Store& db) {
  std::vector<CalibrationSample> samples;
  db.for_each_embedding([&](const store::EmbeddingRecord& r) { samples.push_back({r.identity_id, r.embedding}); });
  return samples;
}

void row(const char* name, const std::string& value) { std::printf("  %-20s %s\n", name, value.c_str()); }

std::string number(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string of(size_t part, size_t whole) {
  return " (" + std::to_string(part) + " of " + std::to_string(whole) + ")";
}

}  // namespace

int cmd_calibrate(int argc, char** argv) {
  cli::Args args(argc, argv, {"--db", "--far", "--plot", "--threads"}, {"--dry-run", "-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (!args.positionals().empty()) throw cli::UsageError("unexpected argument '" + args.positionals()[0] + "'");
  const std::string path = args.get("--db");
  if (path.empty()) throw cli::UsageError("missing --db DB");
  const double far = parse_far(args.get("--far", "1e-3"));
  const std::string plot = args.get("--plot");
  if (args.has("--plot") && plot.empty()) throw cli::UsageError("--plot needs a file name");
  if (!plot.empty() && cli::lowercase_extension(plot) != ".png")
    throw cli::UsageError("--plot " + plot + ": expected a .png file name (the plot is written as PNG)");
  const int threads = args.get_int("--threads", cli::default_threads(), 1, 256);
  const bool dry_run = args.flag("--dry-run");
  if (!plot.empty()) check_output_folder("--plot", plot);

  store::OpenOptions options;
  options.read_only = dry_run;
  store::Store db = store::Store::open(path, options);
  const auto previous = db.threshold();
  const Calibration c = choose_threshold(leave_one_out_scores(load_samples(db), threads), far);

  const auto& s = c.scores;
  std::printf("calibration of %s (leave-one-out cosine scores)\n", path.c_str());
  row("identities", std::to_string(s.identities));
  row("images", std::to_string(s.images));
  row("genuine scores", std::to_string(s.genuine.size()) + " (images with another of their identity)");
  row("impostor scores", std::to_string(s.impostor.size()) + " (best other identity, per image)");
  row("requested FAR", number("%g", far));
  row("threshold", threshold_text(c.threshold));
  row("FAR achieved", number("%.3g", c.far()) + of(c.false_accepts, s.impostor.size()));
  row("FRR there", number("%.2f%%", 100 * c.frr()) + of(c.false_rejects, s.genuine.size()));
  row("previous threshold", previous ? threshold_text(float(*previous)) : "none");
  if (c.below_resolution())
    std::printf("note: %zu impostor scores cannot measure a FAR of %g (that needs %.0f or more images);\n"
                "      the threshold sits just above the highest impostor score\n",
                s.impostor.size(), far, std::ceil(1.0 / far));
  // The threshold first: a plot that cannot be written must not cost the calibration.
  if (dry_run) {
    std::printf("dry run: threshold not stored\n");
  } else {
    db.set_threshold(c.threshold);
    std::printf("threshold stored in %s\n", path.c_str());
  }
  std::fflush(stdout);
  if (!plot.empty()) {
    write_calibration_plot(c, plot);
    std::printf("plot written to %s\n", plot.c_str());
  }
  return 0;
}

}  // namespace fg::apps
