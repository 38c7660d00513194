// Push a facegate DB to a ChromaDB collection, or pull a collection (facegate's or the
// prototype's, layout.h) into a local DB.
//
// Both are resumable and idempotent: records have deterministic ids ("<identity id>_<i>", i
// the image's rank by label within its identity), writes are upserts, and a re-run after a
// crash compares what is there with what should be and sends only the difference. Deletions:
// push removes the remote records of identities it pushed before (remembered in the DB's meta
// per collection uuid) that are gone locally, and stale records of identities that remain;
// records of identities it never pushed (another door's) are left alone.
// Forgotten identities (Store::tombstones) are the exception that reaches every door: push
// publishes their ids in the collection's "facegate:forgotten" metadata (layout.h) and deletes
// their records whoever pushed them; pull never adds a forgotten id, forgets locally the ones
// another door forgot, and records the rest as tombstones, so a later pull or push cannot
// bring them back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "store/chroma/client.h"
#include "store/store.h"

namespace fg::store::chroma {

using Progress = std::function<void(const std::string& line)>;

struct PushResult {
  size_t records = 0;    // local images
  size_t upserted = 0;   // sent because missing or different remotely
  size_t deleted = 0;    // remote records removed
  size_t forgotten_elsewhere = 0;  // local identities not pushed: another door forgot them
};

// Throws ChromaError (server, collection of another metric/dimension/model, an unstamped
// collection that already has records) before writing anything, or StoreError.
PushResult push(Store& store, Client& client, const std::string& collection, size_t batch, const Progress& progress);

struct PullResult {
  std::string model_id;
  size_t identities = 0;  // identities in the collection
  size_t added = 0;       // images written locally (the rest were there already)
  size_t skipped_forgotten = 0;  // remote identities not pulled: forgotten here or at another door
  size_t forgotten = 0;          // local identities forgotten because another door forgot them
};

// Reads the whole collection, checks it (metric, dimension, model: `model_id`/`dim` are the
// --model's, "" / 0 when none was given, and then the collection's stamp must name one), and
// only then opens or creates the DB at `db` and enrolls it, one identity per write.
PullResult pull(Client& client, const std::string& collection, const std::string& db, const std::string& model_id,
                uint32_t dim, const Progress& progress);

// The meta key under which push remembers the identities it has pushed to a collection.
std::string pushed_key(const std::string& collection_uuid);

}  // namespace fg::store::chroma
