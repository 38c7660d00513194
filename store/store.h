// The facegate database: identities, their per-image embeddings, attendance events and meta,
// in one RocksDB directory (layout in records.h). It is the source of truth; the index is
// rebuilt from it. All methods may be called from several threads; writes are serialised.
// Every failure is a StoreError (error.h) whose message names the DB path.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/error.h"
#include "store/ids.h"
#include "store/names.h"
#include "store/records.h"

namespace fg::store {

constexpr uint32_t kSchemaVersion = 1;

struct OpenOptions {
  bool create_if_missing = false;
  std::string model_id;             // "" skips the model check (list, forget, events)
  bool allow_model_change = false;  // open a DB of another model anyway, to change_model() it
  bool read_only = false;           // no lock taken: works while another process has it open
};

// What an index must match to be in step with this DB.
struct StoreState {
  std::string path;
  std::string db_id;          // random, fixed at creation: tells two DBs apart
  std::string model_id;       // "" until the first enroll
  uint32_t dim = 0;           // 0 until the first enroll
  uint64_t generation = 0;    // bumped by every write that adds, removes or changes an embedding
  uint64_t embedding_count = 0;
  uint64_t label_sum = 0;     // sum of the embeddings' labels (wrapping): a cheap content check
  uint64_t identity_count = 0;
};

struct Duplicate {
  std::string content_hash;
  std::string image_path;
  std::string owner_id;  // the identity that already has this image
};

struct EnrollResult {
  Identity identity;                    // as stored (id and created_us filled)
  bool identity_created = false;
  std::vector<EmbeddingRecord> added;   // with labels: add these to the index
  std::vector<Duplicate> duplicates;    // skipped: already in the DB or twice in this call
};

struct ForgetResult {
  Identity identity;
  std::vector<uint64_t> labels;  // remove these from the index
  uint64_t events_purged = 0;
  uint64_t thumbnails_removed = 0;  // stripped from the identity's kept events
};

// What forget leaves behind so that no sync brings a forgotten identity back: its id (not its
// name: the point is to keep nothing personal) and when. Adapters delete the id remotely and
// skip it when pulling; the store refuses to create an identity under that id again.
struct Tombstone {
  std::string identity_id;
  int64_t forgotten_us = 0;
  bool events_purged = false;  // forget --purge-events: remote events of the id go too
};

struct PruneResult {
  uint64_t attendance = 0;  // attendance events dropped
  uint64_t unknown = 0;     // unknown-face events dropped
  uint64_t thumbnails = 0;  // of those, the ones that carried a face thumbnail
};

class Store {
 public:
  // Opens (or creates) the DB at `path`. Throws StoreError: not_found (no DB and
  // !create_if_missing), locked ("is in use by another process"), corrupt, schema_mismatch
  // ("schema v2, this build reads v1"), model_mismatch (names both models) unless
  // allow_model_change.
  static Store open(const std::string& path, const OpenOptions& options = {});

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  StoreState state() const;

  // Identities. add_identity fills an empty id / created_us and returns what was stored;
  // conflict when the id or name exists. find_identity takes an id or a name (id first).
  Identity add_identity(Identity identity);
  std::optional<Identity> get_identity(const std::string& id) const;
  std::optional<Identity> find_identity_by_name(const std::string& name) const;
  std::optional<Identity> find_identity(const std::string& id_or_name) const;
  std::vector<Identity> list_identities() const;  // ordered by id, with image_count

  // Embeddings. enroll writes the identity (created if its id is empty or unknown), the new
  // embeddings and the counters in one WriteBatch. Records whose content hash is already in
  // the DB are skipped (reported in duplicates). Every embedding must have the DB's dim and
  // model (the first enroll fixes both) and finite values.
  bool has_image(const std::string& content_hash) const;
  std::optional<Duplicate> find_image(const std::string& content_hash) const;
  EnrollResult enroll(const Identity& identity, std::vector<EmbeddingRecord> records);
  std::vector<EmbeddingRecord> embeddings_of(const std::string& identity_id) const;
  // Visits every embedding, grouped by identity; for index rebuilds.
  void for_each_embedding(const std::function<void(const EmbeddingRecord&)>& visit) const;

  // Removes the identity, its embeddings and their dedup keys, and either its events
  // (purge_events) or the face thumbnails of its kept events, and records its Tombstone, all
  // in one WriteBatch. An identity forgotten earlier without purge_events can still have its
  // events purged so (result.identity then holds only the id). not_found when there is no such
  // identity, or it was forgotten already and there is nothing left to purge.
  ForgetResult forget(const std::string& identity_id, bool purge_events = false);
  // Every identity forgotten in this DB, ordered by id.
  std::vector<Tombstone> tombstones() const;
  bool is_forgotten(const std::string& identity_id) const;
  // Records a tombstone learnt from elsewhere (another door's forget, via an adapter). Returns
  // false when the id already has one. Throws conflict while the identity still exists here
  // (forget it instead).
  bool remember_forgotten(const Tombstone& tombstone);

  // --reindex: switches the DB to `model_id` in one WriteBatch. `reembedded` holds the new
  // vectors for existing (identity_id, label) pairs; embeddings not listed are dropped. A
  // calibrated threshold is dropped with the old model.
  void change_model(const std::string& model_id, const std::vector<EmbeddingRecord>& reembedded);

  // Events. append_event assigns event.seq and returns it; with sync the write is on disk
  // (WAL fsync) before it returns. events() returns since_us <= time_us < until_us in time
  // order, only `camera`'s when it is not empty.
  uint64_t append_event(Event& event, bool sync = true);
  std::vector<Event> events(int64_t since_us, int64_t until_us, const std::string& camera = "") const;
  // Retention: drops every event with time_us < before_us in one WriteBatch and remembers the
  // latest cutoff (pruned_before), so adapters can drop the same events remotely.
  PruneResult prune_events(int64_t before_us);
  std::optional<int64_t> pruned_before() const;

  // Caller-owned meta entries (kept apart from the store's own keys), and the calibrated
  // open-set threshold.
  void set_meta(const std::string& key, const std::string& value);
  std::optional<std::string> get_meta(const std::string& key) const;
  void set_threshold(double threshold);
  std::optional<double> threshold() const;

  struct Impl;

 private:
  ForgetResult purge_forgotten_events(const std::string& identity_id, bool purge_events);
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fg::store
