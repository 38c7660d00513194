#include <cstdio>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/retention.h"
#include "store/clock.h"
#include "store/store.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate prune --db DB --retention DAYS\n"
    "\n"
    "Retention, for cron: drops every attendance event and unknown-face event (with\n"
    "its face thumbnail) older than DAYS days, in one atomic write, and prints what\n"
    "it dropped. The next facegate sync --push drops this DB's expired events from\n"
    "MongoDB too. facegate attend --retention DAYS does the same while it runs. Takes\n"
    "the DB's lock: with attend running on the same DB, use attend's --retention\n"
    "instead.\n"
    "\n"
    "options:\n"
    "  --db DIR          the facegate database\n"
    "  --retention DAYS  keep this many days of events (fractions allowed: 0.5 = 12\n"
    "                    hours)\n"
    "  -h, --help        show this help\n";

}  // namespace

int cmd_prune(int argc, char** argv) {
  cli::Args args(argc, argv, {"--db", "--retention"}, {"-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::printf("%s", kHelp);
    return 0;
  }
  const std::string db = args.get("--db");
  if (db.empty()) throw cli::UsageError("missing --db DB");
  if (!args.positionals().empty()) throw cli::UsageError("unexpected argument '" + args.positionals()[0] + "'");
  const auto days = parse_retention(args);
  if (!days) throw cli::UsageError("missing --retention DAYS");
  store::Store s = store::Store::open(db);
  std::printf("%s\n", apply_retention(s, *days, store::detail::now_us()).c_str());
  return 0;
}

}  // namespace fg::apps
