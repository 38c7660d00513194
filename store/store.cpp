#include "store/store.h"

#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <filesystem>
#include <memory>
#include <random>

#include "store/codec.h"
#include "store/keys.h"
#include "store/owner_only_env.h"
#include "store/store_impl.h"

namespace fg::store {
namespace {

namespace fs = std::filesystem;
using detail::DecodeError;

const std::vector<std::string> kFamilies = {"identities", "embeddings", "events", "meta"};
const std::string kUserPrefix = "user/";

std::string random_hex(size_t bytes) {
  std::random_device rd;
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<uint8_t>(rd());
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// Readers write nothing into the DB directory, not even RocksDB's LOG: it may be on a
// read-only mount, or belong to another user.
class NoLog : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

rocksdb::Options db_options(bool read_only = false) {
  rocksdb::Options o;
  o.env = detail::owner_only_env();  // face templates: every file 0600
  o.paranoid_checks = true;
  o.info_log_level = rocksdb::WARN_LEVEL;
  o.keep_log_file_num = 2;
  if (read_only) o.info_log = std::make_shared<NoLog>();
  return o;
}

bool disk_full(const rocksdb::Status& s) {
  const std::string msg = s.ToString();
  return s.IsNoSpace() || msg.find("No space left on device") != std::string::npos ||
         msg.find("Disk quota exceeded") != std::string::npos;
}

// RocksDB's status, and what to do when it is a full disk.
std::string describe(const rocksdb::Status& s) {
  return s.ToString() + (disk_full(s) ? " (the disk is full: free some space and run again)" : "");
}

// RocksDB's lock failures are IOErrors naming the LOCK file.
StoreError open_error(const std::string& path, const rocksdb::Status& s) {
  const std::string msg = s.ToString();
  // Before the catch-all below: a full disk is not a corrupt DB.
  if (disk_full(s)) return StoreError(ErrorKind::io, "cannot open DB " + path + ": " + describe(s));
  if (s.IsIOError() && msg.find("lock hold by current process") != std::string::npos)
    return StoreError(ErrorKind::locked, "DB " + path + " is already open in this process (" + msg + ")");
  // RocksDB's own text ("While lock file: .../LOCK: Resource temporarily unavailable") says
  // nothing a user can act on.
  if (s.IsIOError() && msg.find("While lock file") != std::string::npos)
    return StoreError(ErrorKind::locked, "DB " + path + " is in use by another process: another facegate process "
                                         "(such as a running facegate attend) has it open; stop it or wait for it "
                                         "to finish, then run this again");
  if (s.IsIOError() && (msg.find("Read-only file system") != std::string::npos ||
                        msg.find("Permission denied") != std::string::npos))
    return StoreError(ErrorKind::not_writable, "DB " + path + " is not writable by this user (" + msg +
                                         "); commands that only read it (list, identify, report, export-person) "
                                         "still work");
  if (s.IsCorruption() || s.IsNotFound() || s.IsInvalidArgument() || s.IsIOError())
    return StoreError(ErrorKind::corrupt, "DB " + path + " is corrupt or unreadable: " + msg);
  return StoreError(ErrorKind::io, "cannot open DB " + path + ": " + msg);
}

// What RocksDB writes while it creates a DB, before anything can be stored in it: data
// would be in a table (.sst) or a non-empty WAL (.log).
bool creation_file(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  const auto ends = [&](const std::string& tail) {
    return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  std::error_code ec;
  return name == "CURRENT" || name == "IDENTITY" || name == "LOCK" || name == "LOG" || name.rfind("LOG.old.", 0) == 0 ||
         name.rfind("MANIFEST-", 0) == 0 || name.rfind("OPTIONS-", 0) == 0 || ends(".dbtmp") ||
         (ends(".log") && e.file_size(ec) == 0 && !ec);
}

// True when another process holds RocksDB's lock on `lock_file` (an fcntl lock). Only asked
// of a DB that never finished its creation, so this process cannot hold that lock itself
// (closing the probe would drop it).
bool locked_elsewhere(const std::string& lock_file) {
  const int fd = ::open(lock_file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  const bool held = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

// kill -9 while RocksDB creates a DB (it makes the column families one by one) leaves a
// directory that no open accepts: no CURRENT yet, or only some of our column families. Nothing
// was ever stored there, so its files are removed and the creating open starts over. A
// directory with data, or an empty DB with none of our families (someone else's), is left alone.
void clear_interrupted_creation(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec) || fs::is_empty(path, ec)) return;
  std::vector<fs::path> files;
  bool options_file = false;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (!creation_file(e)) return;
    files.push_back(e.path());
    options_file = options_file || e.path().filename().string().rfind("OPTIONS-", 0) == 0;
  }
  if (ec || locked_elsewhere((fs::path(path) / "LOCK").string())) return;
  if (fs::exists(fs::path(path) / "CURRENT", ec)) {
    std::vector<std::string> present;
    if (!rocksdb::DB::ListColumnFamilies(db_options(), path, &present).ok()) return;
    const auto ours = std::count_if(kFamilies.begin(), kFamilies.end(), [&](const std::string& f) {
      return std::find(present.begin(), present.end(), f) != present.end();
    });
    if (ours == static_cast<long>(kFamilies.size()) || (ours == 0 && options_file)) return;
  }
  for (const auto& f : files) fs::remove(f, ec);
}

}  // namespace

Store::Impl::~Impl() {
  if (!db) return;
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  db->Close();
}

StoreError Store::Impl::error(ErrorKind kind, const std::string& what) const {
  return StoreError(kind, "DB " + path + ": " + what);
}

void Store::Impl::check(const rocksdb::Status& s, const std::string& what) const {
  if (s.ok()) return;
  throw error(s.IsCorruption() ? ErrorKind::corrupt : ErrorKind::io, what + ": " + describe(s));
}

StoreError Store::Impl::corrupt_record(const char* cf, const rocksdb::Slice& key, const std::exception& e) const {
  return error(ErrorKind::corrupt, std::string("bad record in ") + cf + " at key '" + key.ToString(true) +
                                       "': " + e.what());
}

void Store::Impl::require_writable(const char* operation) const {
  if (read_only) throw error(ErrorKind::invalid_argument, std::string(operation) + ": opened read-only");
}

std::optional<std::string> Store::Impl::get(rocksdb::ColumnFamilyHandle* cf, const std::string& key) const {
  std::string value;
  auto s = db->Get(rocksdb::ReadOptions(), cf, key, &value);
  if (s.IsNotFound()) return std::nullopt;
  check(s, "reading " + cf->GetName());
  return value;
}

void Store::Impl::write(rocksdb::WriteBatch& batch, bool sync, const char* operation) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  check(db->Write(wo, &batch), operation);
}

std::unique_ptr<rocksdb::Iterator> Store::Impl::iterate(rocksdb::ColumnFamilyHandle* cf) const {
  return std::unique_ptr<rocksdb::Iterator>(db->NewIterator(rocksdb::ReadOptions(), cf));
}

void Store::Impl::put_counters(rocksdb::WriteBatch& batch, const Counters& c) const {
  batch.Put(meta, "generation", detail::le_u64(c.generation));
  batch.Put(meta, "embedding_count", detail::le_u64(c.embedding_count));
  batch.Put(meta, "next_label", detail::le_u64(c.next_label));
  batch.Put(meta, "label_sum", detail::le_u64(c.label_sum));
}

Store Store::open(const std::string& path, const OpenOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->read_only = options.read_only;
  impl->opened_model_id = options.model_id;

  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_directory(path, ec))
    throw StoreError(ErrorKind::io, "DB path " + path + " is not a directory");
  if (options.create_if_missing && !options.read_only) clear_interrupted_creation(path);
  const bool exists = fs::exists(fs::path(path) / "CURRENT", ec);
  if (ec) throw StoreError(ErrorKind::io, "cannot open DB " + path + ": " + ec.message());  // e.g. another user's
  if (!exists) {
    if (!options.create_if_missing || options.read_only)
      throw StoreError(ErrorKind::not_found, "no facegate DB at " + path);
    // A non-empty directory without CURRENT is a damaged DB or someone else's files: never
    // create a DB over it.
    if (fs::exists(path, ec) && !fs::is_empty(path, ec))
      throw StoreError(ErrorKind::corrupt, "DB " + path +
                                               " is corrupt or not a facegate DB: the directory has files "
                                               "but no RocksDB CURRENT file");
    fs::create_directories(path, ec);
    if (ec) throw StoreError(ErrorKind::io, "cannot create DB directory " + path + ": " + ec.message());
    // Biometric data: owner-only whatever the umask (files: owner_only_env.h).
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) throw StoreError(ErrorKind::io, "cannot make DB directory " + path + " owner-only: " + ec.message());
  } else {
    std::vector<std::string> present;
    auto s = rocksdb::DB::ListColumnFamilies(db_options(), path, &present);
    if (!s.ok()) throw open_error(path, s);
    for (const auto& f : kFamilies)
      if (std::find(present.begin(), present.end(), f) == present.end()) {
        // ListColumnFamilies reports just "default" for an unreadable MANIFEST; opening says why.
        rocksdb::DB* probe = nullptr;
        s = rocksdb::DB::OpenForReadOnly(db_options(true), path, &probe);
        if (!s.ok()) throw open_error(path, s);
        delete probe;
        throw StoreError(ErrorKind::corrupt, "DB " + path + " is not a facegate DB: it has no '" + f +
                                                 "' column family");
      }
  }

  rocksdb::Options o = db_options(options.read_only);
  o.create_if_missing = !exists;
  o.create_missing_column_families = !exists;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()}};
  for (const auto& f : kFamilies) families.emplace_back(f, rocksdb::ColumnFamilyOptions());
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only)
    s = rocksdb::DB::OpenForReadOnly(o, path, families, &impl->handles, &raw);
  else
    s = rocksdb::DB::Open(o, path, families, &impl->handles, &raw);
  if (!s.ok()) throw open_error(path, s);
  impl->db.reset(raw);
  impl->identities = impl->handles[1];
  impl->embeddings = impl->handles[2];
  impl->events = impl->handles[3];
  impl->meta = impl->handles[4];

  auto version = impl->get(impl->meta, "schema_version");
  if (!version) {
    // A new DB, or one whose creation stopped before its meta was written.
    auto it = impl->iterate(impl->embeddings);
    it->SeekToFirst();
    if (it->Valid()) throw impl->error(ErrorKind::corrupt, "has embeddings but no schema_version in meta");
    impl->require_writable("initialising a new DB");
    rocksdb::WriteBatch batch;
    impl->db_id = random_hex(16);
    batch.Put(impl->meta, "schema_version", detail::le_u32(kSchemaVersion));
    batch.Put(impl->meta, "db_id", impl->db_id);
    batch.Put(impl->meta, "model_id", "");
    batch.Put(impl->meta, "dim", detail::le_u32(0));
    batch.Put(impl->meta, "event_seq", detail::le_u64(0));
    impl->put_counters(batch, Impl::Counters());
    impl->write(batch, true, "initialising a new DB");
    version = detail::le_u32(kSchemaVersion);
  }

  try {
    const uint32_t got = detail::read_le_u32(*version);
    if (got != kSchemaVersion)
      throw impl->error(ErrorKind::schema_mismatch, "has schema v" + std::to_string(got) +
                                                        ", this build reads v" + std::to_string(kSchemaVersion));
    auto need = [&](const char* key) {
      auto v = impl->get(impl->meta, key);
      if (!v) throw DecodeError(std::string("meta has no ") + key);
      return *v;
    };
    impl->db_id = need("db_id");
    impl->model_id = need("model_id");
    impl->dim = detail::read_le_u32(need("dim"));
    impl->counters.generation = detail::read_le_u64(need("generation"));
    impl->counters.next_label = detail::read_le_u64(need("next_label"));
    impl->counters.embedding_count = detail::read_le_u64(need("embedding_count"));
    impl->counters.label_sum = detail::read_le_u64(need("label_sum"));
    impl->event_seq = detail::read_le_u64(need("event_seq"));
  } catch (const DecodeError& e) {
    throw impl->error(ErrorKind::corrupt, e.what());
  }

  if (!options.model_id.empty() && !impl->model_id.empty() && options.model_id != impl->model_id &&
      !options.allow_model_change)
    throw impl->error(ErrorKind::model_mismatch, "was enrolled with model '" + impl->model_id +
                                                     "', but model '" + options.model_id +
                                                     "' was given (re-embed the gallery to switch models)");

  auto it = impl->iterate(impl->identities);
  for (it->Seek(std::string(detail::kIdentityPrefix)); it->Valid() && it->key().starts_with("i/"); it->Next())
    ++impl->identity_count;
  impl->check(it->status(), "counting identities");
  if (!options.read_only) impl->normalize_stored_names();

  return Store(std::move(impl));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

StoreState Store::state() const {
  std::lock_guard lock(impl_->write_mu);
  StoreState s;
  s.path = impl_->path;
  s.db_id = impl_->db_id;
  s.model_id = impl_->model_id;
  s.dim = impl_->dim;
  s.generation = impl_->counters.generation;
  s.embedding_count = impl_->counters.embedding_count;
  s.label_sum = impl_->counters.label_sum;
  s.identity_count = impl_->identity_count;
  return s;
}

void Store::set_meta(const std::string& key, const std::string& value) {
  impl_->require_writable("set_meta");
  if (key.empty()) throw impl_->error(ErrorKind::invalid_argument, "set_meta: empty key");
  rocksdb::WriteBatch batch;
  batch.Put(impl_->meta, kUserPrefix + key, value);
  impl_->write(batch, true, "set_meta");
}

std::optional<std::string> Store::get_meta(const std::string& key) const {
  return impl_->get(impl_->meta, kUserPrefix + key);
}

void Store::set_threshold(double threshold) {
  impl_->require_writable("set_threshold");
  if (!(threshold >= -1.0 && threshold <= 1.0))
    throw impl_->error(ErrorKind::invalid_argument,
                       "threshold " + std::to_string(threshold) + " is not a cosine in [-1, 1]");
  rocksdb::WriteBatch batch;
  batch.Put(impl_->meta, "threshold", detail::le_f64(threshold));
  impl_->write(batch, true, "set_threshold");
}

std::optional<double> Store::threshold() const {
  auto v = impl_->get(impl_->meta, "threshold");
  if (!v) return std::nullopt;
  try {
    return detail::read_le_f64(*v);
  } catch (const DecodeError& e) {
    throw impl_->error(ErrorKind::corrupt, std::string("meta threshold: ") + e.what());
  }
}

}  // namespace fg::store
