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

  // Removes the identity, its embeddings and their dedup keys (and, with purge_events, its
  // events) in one WriteBatch. not_found when there is no such identity.
  ForgetResult forget(const std::string& identity_id, bool purge_events = false);

  // --reindex: switches the DB to `model_id` in one WriteBatch. `reembedded` holds the new
  // vectors for existing (identity_id, label) pairs; embeddings not listed are dropped.
  void change_model(const std::string& model_id, const std::vector<EmbeddingRecord>& reembedded);

  // Events. append_event assigns event.seq and returns it; with sync the write is on disk
  // (WAL fsync) before it returns. events() returns since_us <= time_us < until_us in time
  // order, only `camera`'s when it is not empty.
  uint64_t append_event(Event& event, bool sync = true);
  std::vector<Event> events(int64_t since_us, int64_t until_us, const std::string& camera = "") const;

  // Caller-owned meta entries (kept apart from the store's own keys), and the calibrated
  // open-set threshold.
  void set_meta(const std::string& key, const std::string& value);
  std::optional<std::string> get_meta(const std::string& key) const;
  void set_threshold(double threshold);
  std::optional<double> threshold() const;

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fg::store
