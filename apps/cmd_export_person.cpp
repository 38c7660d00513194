#include <cstdio>

#include "apps/atomic_file.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/person_export.h"
#include "apps/utf8.h"
#include "store/clock.h"
#include "store/store.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate export-person IDENTITY --db DB -o OUT.json\n"
    "\n"
    "Right of access: writes everything the DB holds about one person (given by id or\n"
    "by name) to OUT.json: the identity record, every enrolled image's source path,\n"
    "content hash and face box, its embedding with the model id it came from, and the\n"
    "person's attendance events with their face thumbnails (JPEG, base64 in the\n"
    "JSON). Unknown-face events are not attributed to anyone and are not included.\n"
    "For an identity forgotten without --purge-events (by id, or by the name its kept\n"
    "events carry) that is its events.\n"
    "OUT is written whole or not at all (temporary file, fsync, rename), owner-only\n"
    "(0600). Reads the DB without locking it, so it works while attend runs. Bytes\n"
    "that are not valid UTF-8 (a name an older facegate stored from a Latin-1 folder\n"
    "name) are written as the text \\xHH and listed in \"invalid_utf8_escaped\", with a\n"
    "warning.\n"
    "\n"
    "options:\n"
    "  --db DIR        the facegate database\n"
    "  -o, --output F  the JSON file to write (required; '-' = stdout)\n"
    "  -h, --help      show this help\n";

}  // namespace

int cmd_export_person(int argc, char** argv) {
  cli::Args args(argc, argv, {"--db", "-o", "--output"}, {"-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::printf("%s", kHelp);
    return 0;
  }
  const std::string db = args.get("--db");
  if (db.empty()) throw cli::UsageError("missing --db DB");
  const std::string out = args.has("-o") ? args.get("-o") : args.get("--output");
  if (out.empty()) throw cli::UsageError("missing -o OUT.json");
  if (args.positionals().size() != 1) throw cli::UsageError("expected one IDENTITY (id or name)");

  store::OpenOptions o;
  o.read_only = true;
  const store::Store s = store::Store::open(db, o);
  const nlohmann::json doc = export_person(s, args.positionals()[0], store::detail::now_us());
  // export_person escaped any byte that is not UTF-8 (a name stored by an older facegate), so
  // that the dump cannot throw; `replace` only guards against a string it missed.
  const std::string text = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    write_file_atomic(out, text, /*owner_only=*/true);
  }
  // The doc's strings are UTF-8 already; printable writes a tab or an escape in a name as text.
  const nlohmann::json& name = doc["identity"]["name"];
  std::fprintf(stderr, "facegate export-person: %s (%s%s): %s, %s -> %s\n",
               name.is_null() ? "no name" : printable(name.get<std::string>()).c_str(),
               printable(doc["identity"]["id"].get<std::string>()).c_str(),
               doc["identity"].contains("forgotten") ? ", forgotten" : "",
               cli::count(doc["images"].size(), "image", "images").c_str(),
               cli::count(doc["events"].size(), "event", "events").c_str(),
               out == "-" ? "stdout" : printable(out).c_str());
  if (doc.contains("invalid_utf8_escaped")) {
    const nlohmann::json& escaped = doc["invalid_utf8_escaped"];
    std::string where;
    for (size_t i = 0; i < escaped.size() && i < 3; ++i) where += (i ? ", " : "") + escaped[i].get<std::string>();
    if (escaped.size() > 3) where += " and " + cli::count(escaped.size() - 3, "more string", "more strings");
    std::fprintf(stderr,
                 "facegate export-person: warning: the DB holds bytes that are not valid UTF-8 (stored by an older "
                 "facegate?) in %s: written escaped, each such byte as the text \\xHH\n",
                 where.c_str());
  }
  return 0;
}

}  // namespace fg::apps
