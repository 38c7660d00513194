#include <cstdio>
#include <optional>
#include <string>

#include "apps/chroma_option.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/gallery.h"
#include "apps/sync_summary.h"
#include "nn/embedder.h"
#include "store/chroma/endpoint.h"
#include "store/chroma/layout.h"
#include "store/chroma/sync.h"
#include "store/mongo/sync.h"
#include "store/mongo/uri.h"

namespace fg::apps {
namespace {

constexpr const char* kHelp =
    "usage: facegate sync --db DB (--push | --pull) [--chroma URL]\n"
    "                     [--collection NAME] [--mongo URI] [--model MODEL.fgw]\n"
    "                     [--batch N]\n"
    "\n"
    "Pushes the local gallery to a ChromaDB collection and/or MongoDB, or pulls a\n"
    "deployment (facegate's or the Python prototype's) into a local DB. Both\n"
    "directions can be re-run: an interrupted sync completes, a repeated one changes\n"
    "nothing.\n"
    "\n"
    "Forgotten identities (facegate forget) reach every door: --push publishes their\n"
    "ids (ChromaDB: the collection's facegate:forgotten metadata; MongoDB: the\n"
    "'forgotten' collection) and deletes their records whoever pushed them (MongoDB:\n"
    "the identity, and their events' thumbnails, or their events after\n"
    "--purge-events); --pull never adds a forgotten id and forgets locally the\n"
    "identities another door forgot. --push also drops from MongoDB this DB's events\n"
    "older than its last retention cutoff (facegate prune, attend --retention).\n"
    "\n"
    "options:\n"
    "  --push              local -> remote\n"
    "  --pull              remote -> local (creates DB if missing)\n"
    "  --chroma URL        http://HOST:PORT or chroma://HOST:PORT/COLLECTION\n"
    "  --collection NAME   the ChromaDB collection (default face_embeddings)\n"
    "  --mongo URI         MongoDB connection string (default: $FACEGATE_MONGO_URI);\n"
    "                      database from the URI, else 'attendance'\n"
    "  --model FILE        --pull: the model the remote embeddings were computed\n"
    "                      with; required when the collection carries no facegate\n"
    "                      model stamp (the prototype's)\n"
    "  --batch N           records per ChromaDB request (default 100)\n"
    "  -h, --help          show this help\n";

void log(const std::string& line) {
  std::fprintf(stderr, "facegate sync: %s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace

int cmd_sync(int argc, char** argv) {
  cli::Args args(argc, argv, {"--db", "--chroma", "--collection", "--mongo", "--model", "--batch"},
                 {"--push", "--pull", "-h", "--help"});
  if (args.flag("-h") || args.flag("--help")) {
    std::printf("%s", kHelp);
    return 0;
  }
  const std::string db = args.get("--db");
  if (db.empty()) throw cli::UsageError("missing --db DB");
  if (args.flag("--push") == args.flag("--pull")) throw cli::UsageError("give one of --push / --pull");
  if (!args.positionals().empty()) throw cli::UsageError("unexpected argument '" + args.positionals()[0] + "'");
  const std::string mongo_uri = store::mongo::resolve_uri(args.get("--mongo"));
  if (!args.has("--chroma") && mongo_uri.empty()) {
    throw cli::UsageError("nothing to sync with: give --chroma URL and/or --mongo URI (or set FACEGATE_MONGO_URI)");
  }
  std::optional<store::chroma::Endpoint> chroma;
  if (args.has("--chroma")) {
    chroma = chroma_endpoint(args, "--chroma");
    if (args.has("--collection")) chroma->collection = args.get("--collection");
  }
  if (!mongo_uri.empty()) {
    try {
      store::mongo::check_uri(mongo_uri);
    } catch (const store::mongo::UriError& e) {
      throw cli::UsageError(std::string(args.get("--mongo").empty() ? "FACEGATE_MONGO_URI" : "--mongo") + ": " +
                            e.what());
    }
  }
  const int batch = args.get_int("--batch", 100, 1, 5000);

  if (args.flag("--push")) {
    if (args.has("--model")) throw cli::UsageError("--model is for --pull (push sends the DB's own model id)");
    store::Store s = store::Store::open(db);
    if (chroma) {
      store::chroma::Client client(*chroma);
      const auto r = store::chroma::push(s, client, chroma->collection, static_cast<size_t>(batch), log);
      std::printf("%s", chroma_push_summary(chroma->text(), r).c_str());
    }
    if (!mongo_uri.empty()) {
      const auto r = store::mongo::push(s, mongo_uri);
      std::printf("%s", mongo_push_summary(store::mongo::redact_uri(mongo_uri), r).c_str());
    }
    return 0;
  }

  std::string model_id;
  uint32_t dim = 0;
  if (args.has("--model")) {
    const nn::Embedder model(args.get("--model"), 1);
    model_id = model.model_id();
    dim = static_cast<uint32_t>(model.dim());
  }
  if (chroma) {
    store::chroma::Client client(*chroma);
    const auto r = store::chroma::pull(client, chroma->collection, db, model_id, dim, log);
    model_id = r.model_id;
    std::printf("%s", chroma_pull_summary(chroma->text(), r).c_str());
  }
  if (!mongo_uri.empty()) {
    store::OpenOptions o;
    o.create_if_missing = true;
    store::Store s = store::Store::open(db, o);
    const auto r = store::mongo::pull(s, mongo_uri);
    std::printf("%s", mongo_pull_summary(store::mongo::redact_uri(mongo_uri), r).c_str());
  }
  if (chroma) {
    GalleryOptions go;
    go.model_id = model_id;
    Gallery::open(db, go);  // builds and saves the index now rather than at the first identify
  }
  return 0;
}

}  // namespace fg::apps
