#include "index/index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/count.h"
#include "index/hnsw.h"
#include "index/index_file.h"
#include "index/rw_lock.h"

namespace fg::index {

struct Index::Impl {
  Params params;
  Stamp stamp;
  mutable detail::WriterFirstMutex mu;  // shared: search, save; exclusive: add, remove
  std::unique_ptr<detail::Hnsw> graph;
  std::vector<std::string> ids;                  // interned identity ids
  std::unordered_map<std::string, uint32_t> id_index;
  std::vector<std::vector<uint64_t>> labels_of;  // live labels per interned id
  std::unordered_map<uint64_t, uint32_t> identity_of;  // live label -> interned id
  uint64_t identities = 0;                       // interned ids with live labels
  uint64_t label_sum = 0;                        // of the live labels, wrapping

  uint32_t intern(const std::string& id);
  void link(uint64_t label, uint32_t ident);
  void unlink(uint64_t label);
  std::vector<float> unit(VectorView v, const std::string& what) const;
  void reserve(uint64_t extra);
};

namespace {

// Runs fn(i) for i in [0, n) on up to `threads` threads; rethrows the first exception.
template <typename Fn>
void parallel_for(size_t n, unsigned threads, Fn fn) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(1, n / 64)));
  std::atomic<size_t> next{0};
  std::exception_ptr first;
  std::mutex first_mu;
  auto work = [&] {
    try {
      for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
    } catch (...) {
      std::lock_guard lock(first_mu);
      if (!first) first = std::current_exception();
      next = n;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (first) std::rethrow_exception(first);
}

// The first k distinct identities in `hits` (best first) are the k best identities.
std::vector<Match> best_identities(const Index::Impl& impl, const std::vector<std::pair<float, uint64_t>>& hits,
                                   size_t k) {
  std::vector<Match> out;
  std::unordered_set<uint32_t> seen;
  for (const auto& [score, label] : hits) {
    auto found = impl.identity_of.find(label);
    if (found == impl.identity_of.end() || !seen.insert(found->second).second) continue;
    out.push_back({impl.ids[found->second], score, label});
    if (out.size() == k) break;
  }
  return out;
}

}  // namespace

uint32_t Index::Impl::intern(const std::string& id) {
  auto [it, added] = id_index.emplace(id, static_cast<uint32_t>(ids.size()));
  if (added) {
    ids.push_back(id);
    labels_of.emplace_back();
  }
  return it->second;
}

void Index::Impl::link(uint64_t label, uint32_t ident) {
  identity_of.emplace(label, ident);
  label_sum += label;
  if (labels_of[ident].empty()) ++identities;
  labels_of[ident].push_back(label);
}

void Index::Impl::unlink(uint64_t label) {
  auto found = identity_of.find(label);
  auto& labels = labels_of[found->second];
  labels.erase(std::find(labels.begin(), labels.end(), label));
  if (labels.empty()) --identities;
  identity_of.erase(found);
  label_sum -= label;
  graph->mark_deleted(label);
}

std::vector<float> Index::Impl::unit(VectorView v, const std::string& what) const {
  if (v.size != params.dim)
    throw IndexError(what + " has " + fg::count(v.size, "value", "values") + ", the index holds dim " +
                     std::to_string(params.dim));
  double norm2 = 0;
  for (size_t i = 0; i < v.size; ++i) norm2 += double(v.data[i]) * v.data[i];
  if (!std::isfinite(norm2) || norm2 <= 0) throw IndexError(what + " is zero or not finite");
  const auto inv = static_cast<float>(1.0 / std::sqrt(norm2));
  std::vector<float> out(v.size);
  for (size_t i = 0; i < v.size; ++i) out[i] = v.data[i] * inv;
  return out;
}

void Index::Impl::reserve(uint64_t extra) {
  const uint64_t need = graph->size() + extra;
  if (need > graph->capacity()) graph->reserve(std::max(need, graph->capacity() * 2));
}

Index::Index(const Params& params, Stamp stamp) : impl_(std::make_unique<Impl>()) {
  if (params.dim == 0 || params.dim > 65536 || params.m < 2 || params.m > 1024)
    throw IndexError("index parameters out of range: dim " + std::to_string(params.dim) + " (1..65536), M " +
                     std::to_string(params.m) + " (2..1024)");
  impl_->params = params;
  impl_->stamp = std::move(stamp);
  impl_->graph = std::make_unique<detail::Hnsw>(params.dim, params.m, params.ef_construction,
                                                std::max<uint64_t>(params.initial_capacity, 1));
  impl_->graph->set_ef(params.ef_search);
}

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::Index(Index&&) noexcept = default;
Index& Index::operator=(Index&&) noexcept = default;
Index::~Index() = default;

void Index::add(uint64_t label, const std::string& identity_id, VectorView vector) {
  add(std::vector<Entry>{{label, identity_id, vector}});
}

void Index::add(const std::vector<Entry>& entries) {
  auto& d = *impl_;
  std::unordered_set<uint64_t> batch;
  for (const auto& e : entries) {
    const std::string what = "image " + std::to_string(e.label) + " of '" + e.identity_id + "'";
    if (e.identity_id.empty()) throw IndexError(what + " has no identity id");
    if (!batch.insert(e.label).second) throw IndexError(what + ": label given twice");
    d.unit(e.vector, what);
  }

  std::unique_lock lock(d.mu);
  for (const auto& e : entries)
    if (d.identity_of.count(e.label))
      throw IndexError("label " + std::to_string(e.label) + " is already in the index");
  // Normalised copies are made a chunk at a time, so a bulk add needs little memory beside the graph.
  constexpr size_t kChunk = 4096;
  const size_t dim = d.params.dim;
  std::vector<float> units(std::min(entries.size(), kChunk) * dim);
  try {
    d.reserve(entries.size());
    for (size_t begin = 0; begin < entries.size(); begin += kChunk) {
      const size_t n = std::min(kChunk, entries.size() - begin);
      for (size_t i = 0; i < n; ++i) {
        const auto u = d.unit(entries[begin + i].vector, "");
        std::copy(u.begin(), u.end(), units.begin() + i * dim);
      }
      parallel_for(n, d.params.threads, [&](size_t i) { d.graph->add(&units[i * dim], entries[begin + i].label); });
      for (size_t i = begin; i < begin + n; ++i) d.link(entries[i].label, d.intern(entries[i].identity_id));
    }
  } catch (const std::exception& e) {
    throw IndexError(std::string("adding to the index: ") + e.what());
  }
}

bool Index::remove(uint64_t label) { return remove(std::vector<uint64_t>{label}) == 1; }

size_t Index::remove(const std::vector<uint64_t>& labels) {
  std::unique_lock lock(impl_->mu);
  size_t n = 0;
  for (uint64_t label : labels)
    if (impl_->identity_of.count(label)) {
      impl_->unlink(label);
      ++n;
    }
  return n;
}

size_t Index::remove_identity(const std::string& identity_id) {
  std::unique_lock lock(impl_->mu);
  auto found = impl_->id_index.find(identity_id);
  if (found == impl_->id_index.end()) return 0;
  const std::vector<uint64_t> labels = impl_->labels_of[found->second];
  for (uint64_t label : labels) impl_->unlink(label);
  return labels.size();
}

std::vector<Match> Index::search(VectorView query, size_t k) const {
  const auto& d = *impl_;
  const auto q = d.unit(query, "query");
  std::shared_lock lock(d.mu);
  const uint64_t live = d.identity_of.size();
  if (k == 0 || live == 0) return {};
  // Several images of one identity can crowd the nearest images; ask for more until k
  // distinct identities appear or every image was asked for.
  size_t n = std::min<uint64_t>(live, std::max<size_t>(8 * k, 32));
  for (;;) {
    auto matches = best_identities(d, d.graph->search(q.data(), n), k);
    if (matches.size() >= k || n >= live) return matches;
    n = std::min<uint64_t>(live, 4 * n);
  }
}

Identification Index::identify(VectorView query, size_t k, float threshold) const {
  Identification out;
  out.matches = search(query, k);
  out.unknown = out.matches.empty() || out.matches.front().score < threshold;
  return out;
}

void Index::save(const std::string& path) const {
  static std::atomic<uint64_t> counter{0};
  const auto& d = *impl_;
  std::shared_lock lock(d.mu);

  std::vector<uint32_t> remap(d.ids.size(), UINT32_MAX);
  std::vector<const std::string*> used;
  uint64_t map_bytes = 4 + 8 + 12 * d.identity_of.size();
  for (size_t i = 0; i < d.ids.size(); ++i)
    if (!d.labels_of[i].empty()) {
      remap[i] = static_cast<uint32_t>(used.size());
      used.push_back(&d.ids[i]);
      map_bytes += 4 + d.ids[i].size();
    }

  detail::FileHeader h;
  h.dim = d.params.dim;
  h.m = d.params.m;
  h.ef_construction = d.params.ef_construction;
  h.elements = d.graph->size();
  h.live = d.identity_of.size();
  h.generation = d.stamp.generation;
  h.model_id = d.stamp.model_id;
  h.db_id = d.stamp.db_id;
  h.file_bytes = detail::header_bytes(h) + d.graph->serialized_bytes() + map_bytes + 4;

  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  try {
    detail::FileSink out(tmp);
    detail::write_header(out, h);
    d.graph->write(out);
    out.u32(static_cast<uint32_t>(used.size()));
    for (const auto* id : used) out.str(*id);
    out.u64(d.identity_of.size());
    for (const auto& [label, ident] : d.identity_of) {
      out.u64(label);
      out.u32(remap[ident]);
    }
    if (out.written() + 4 != h.file_bytes)
      throw IndexError("wrote " + std::to_string(out.written() + 4) + " bytes, planned " +
                       std::to_string(h.file_bytes));
    out.u32(out.crc());
    out.finish();
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      const int e = errno;
      throw IndexError("cannot rename " + tmp + " to " + path + ": " + std::strerror(e), e);
    }
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  // The rename is durable once the directory is synced.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

Index Index::load(const std::string& path, const Params& params) {
  try {
    detail::FileSource in(path);
    const auto h = detail::read_header(in);
    if (h.dim != params.dim)
      throw IndexError(path + " holds dim " + std::to_string(h.dim) + ", expected " + std::to_string(params.dim));

    auto impl = std::make_unique<Impl>();
    impl->params = params;
    impl->params.m = h.m;
    impl->params.ef_construction = h.ef_construction;
    impl->stamp = {h.model_id, h.db_id, h.generation};
    impl->graph = detail::Hnsw::read(in, h.dim, h.m, h.ef_construction);
    impl->graph->set_ef(params.ef_search);
    auto& graph = *impl->graph;
    if (graph.size() != h.elements || graph.size() - graph.deleted() != h.live)
      throw IndexError(path + ": the graph holds " + std::to_string(graph.size() - graph.deleted()) + " live of " +
                       fg::count(graph.size(), "element", "elements") + ", the header says " + std::to_string(h.live) +
                       " of " + std::to_string(h.elements));

    const uint32_t n_ids = in.u32();
    if (n_ids > h.live)
      throw IndexError(path + ": " + fg::count(n_ids, "identity", "identities") + " for " +
                       fg::count(h.live, "image", "images"));
    for (uint32_t i = 0; i < n_ids; ++i) {
      std::string id = in.str(detail::kMaxStringBytes);
      if (id.empty() || impl->id_index.count(id))
        throw IndexError(path + ": identity id '" + id + "' is empty or repeated");
      impl->intern(id);
    }
    const uint64_t n = in.u64();
    if (n != h.live)
      throw IndexError(path + ": the map has " + fg::count(n, "label", "labels") + ", the header says " +
                       std::to_string(h.live));
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t label = in.u64();
      const uint32_t ident = in.u32();
      if (ident >= n_ids || !graph.is_live(label) || impl->identity_of.count(label))
        throw IndexError(path + ": map entry " + std::to_string(i) + " (label " + std::to_string(label) +
                         ") does not match the graph");
      impl->link(label, ident);
    }
    const uint32_t computed = in.crc();
    const uint32_t stored = in.u32();
    if (computed != stored)
      throw IndexError(path + ": checksum mismatch (stored " + std::to_string(stored) + ", computed " +
                       std::to_string(computed) + ")");
    return Index(std::move(impl));
  } catch (const IndexError&) {
    throw;
  } catch (const std::exception& e) {
    throw IndexError(path + ": " + e.what());
  }
}

Stamp Index::stamp() const {
  std::shared_lock lock(impl_->mu);
  return impl_->stamp;
}

void Index::set_stamp(Stamp stamp) {
  std::unique_lock lock(impl_->mu);
  impl_->stamp = std::move(stamp);
}

void Index::set_ef_search(uint32_t ef) {
  std::unique_lock lock(impl_->mu);
  impl_->params.ef_search = ef;
  impl_->graph->set_ef(ef);
}

uint32_t Index::dim() const { return impl_->params.dim; }

uint64_t Index::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->identity_of.size();
}

uint64_t Index::identity_count() const {
  std::shared_lock lock(impl_->mu);
  return impl_->identities;
}

uint64_t Index::label_sum() const {
  std::shared_lock lock(impl_->mu);
  return impl_->label_sum;
}

uint64_t Index::deleted_count() const {
  std::shared_lock lock(impl_->mu);
  return impl_->graph->deleted();
}

uint64_t Index::capacity() const {
  std::shared_lock lock(impl_->mu);
  return impl_->graph->capacity();
}

}  // namespace fg::index
