#include <cstdio>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/gallery.h"
#include "apps/utf8.h"

namespace fg::apps {

int cmd_forget(int argc, char** argv) {
  cli::Args args(argc, argv, {"--db"}, {"--purge-events", "-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::printf(
        "usage: facegate forget IDENTITY --db DB [--purge-events]\n\n"
        "Removes an identity (given by id or by name), its embeddings and its index\n"
        "entries, in one atomic write. Its attendance events are kept as history, without\n"
        "their face thumbnails (stripped in the same write), unless --purge-events\n"
        "deletes them.\n"
        "The DB keeps a tombstone (the id and when, not the name), so that the next\n"
        "facegate sync --push deletes the person's records from ChromaDB and MongoDB (and\n"
        "their remote thumbnails / events), and no sync --pull, here or at another door,\n"
        "brings the identity back. The id cannot be enrolled again; enrolling the person\n"
        "anew gives a new id. The events of an identity forgotten without --purge-events\n"
        "can be purged later: facegate forget ID --purge-events, with the id it printed.\n"
        "It writes the DB, so it cannot run while another facegate process has the DB\n"
        "open (a running facegate attend, an enroll): stop that process or wait for it to\n"
        "finish.\n");
    return 0;
  }
  const std::string db = args.get("--db");
  if (db.empty()) throw cli::UsageError("missing --db DB");
  if (args.positionals().size() != 1) throw cli::UsageError("expected one IDENTITY (id or name)");
  Gallery gallery = Gallery::open(db, {});
  const std::string& given = args.positionals()[0];
  const auto who = gallery.store().find_identity(given);
  if (!who && gallery.store().is_forgotten(given)) {
    // Only the id and its events are left; the store says when there is nothing to purge.
    const store::ForgetResult r = gallery.store().forget(given, args.flag("--purge-events"));
    std::printf("purged %s of forgotten identity %s; run facegate sync --push to purge them remotely\n",
                cli::count(r.events_purged, "event", "events").c_str(), printable(given).c_str());
    return 0;
  }
  if (!who) throw std::runtime_error(db + ": no identity with id or name '" + printable(given) + "'");
  const store::ForgetResult r = gallery.store().forget(who->id, args.flag("--purge-events"));
  gallery.removed(r);
  const std::string events = args.flag("--purge-events")
                                 ? cli::count(r.events_purged, "event", "events") + " purged"
                                 : cli::count(r.thumbnails_removed, "event thumbnail", "event thumbnails") + " removed";
  std::printf("forgot %s (%s): %s, %s; run facegate sync --push to remove it remotely\n",
              printable(r.identity.name).c_str(), r.identity.id.c_str(),
              cli::count(r.labels.size(), "image", "images").c_str(), events.c_str());
  return 0;
}

}  // namespace fg::apps
