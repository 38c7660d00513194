#include <cstdio>

#include <nlohmann/json.hpp>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/utf8.h"
#include "store/store.h"

namespace fg::apps {

int cmd_list(int argc, char** argv) {
  cli::Args args(argc, argv, {"--db"}, {"--json", "-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::printf(
        "usage: facegate list --db DB [--json]\n\n"
        "Lists the enrolled identities: id, name and number of images.\n"
        "With --json, one line per identity: {\"id\": ..., \"name\": ..., \"images\": N}.\n"
        "Bytes of a name that are not UTF-8 (stored by an older facegate) are written as\n"
        "the text \\xE9; in the text listing, so are control characters (a tab as \\t, ESC\n"
        "as \\x1B).\n"
        "Opens the DB read-only, so it works while another facegate process uses it.\n");
    return 0;
  }
  const std::string db = args.get("--db");
  if (db.empty()) throw cli::UsageError("missing --db DB");
  if (!args.positionals().empty()) throw cli::UsageError("unexpected argument '" + args.positionals()[0] + "'");
  store::OpenOptions o;
  o.read_only = true;
  const store::Store s = store::Store::open(db, o);
  const auto people = s.list_identities();
  for (const auto& p : people) {
    if (args.flag("--json")) {
      const nlohmann::json line = {{"id", p.id}, {"name", escape_invalid_utf8(p.name)}, {"images", p.image_count}};
      std::printf("%s\n", line.dump().c_str());
    } else {
      std::printf("%s  %6llu  %s\n", p.id.c_str(), static_cast<unsigned long long>(p.image_count),
                  printable(p.name).c_str());
    }
  }
  if (!args.flag("--json")) std::fprintf(stderr, "%s\n", cli::count(people.size(), "identity", "identities").c_str());
  return 0;
}

}  // namespace fg::apps
