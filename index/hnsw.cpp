#include "index/hnsw.h"

#include <cpuid.h>
#include <x86intrin.h>

#include <cstdlib>
#include <cstring>

// hnswlib.h defines these at global scope without `inline`; renaming them keeps them from
// clashing with another library's symbols of the same name.
#define cpuid fg_hnswlib_cpuid
#define xgetbv fg_hnswlib_xgetbv
#define AVXCapable fg_hnswlib_avx_capable
#define AVX512Capable fg_hnswlib_avx512_capable
#include <hnswlib/hnswlib.h>
#undef cpuid
#undef xgetbv
#undef AVXCapable
#undef AVX512Capable

#include "common/count.h"
#include "index/error.h"

namespace fg::index::detail {

using Graph = hnswlib::HierarchicalNSW<float>;

struct Hnsw::Impl {
  hnswlib::InnerProductSpace space;
  Graph graph;
  Impl(uint32_t dim, uint32_t m, uint32_t ef_construction, uint64_t capacity)
      : space(dim), graph(&space, std::max<uint64_t>(capacity, 1), m, ef_construction) {}
};

namespace {

constexpr uint64_t kFixedBytes = 6 * 8 + 4 + 4 + 3 * 8 + 8 + 8;
constexpr int kMaxLevel = 255;

uint16_t list_count(const hnswlib::linklistsizeint* list) {
  uint16_t n;
  std::memcpy(&n, list, 2);
  return n;
}

}  // namespace

Hnsw::Hnsw(uint32_t dim, uint32_t m, uint32_t ef_construction, uint64_t capacity)
    : impl_(std::make_unique<Impl>(dim, m, ef_construction, capacity)) {}

Hnsw::Hnsw(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Hnsw::~Hnsw() = default;

uint64_t Hnsw::size() const { return impl_->graph.cur_element_count; }
uint64_t Hnsw::deleted() const { return impl_->graph.num_deleted_; }
uint64_t Hnsw::capacity() const { return impl_->graph.max_elements_; }

bool Hnsw::is_live(uint64_t label) const {
  const auto& g = impl_->graph;
  auto found = g.label_lookup_.find(label);
  return found != g.label_lookup_.end() && !g.isMarkedDeleted(found->second);
}

void Hnsw::reserve(uint64_t capacity) {
  if (capacity > impl_->graph.max_elements_) impl_->graph.resizeIndex(capacity);
}

void Hnsw::add(const float* unit, uint64_t label) { impl_->graph.addPoint(unit, label); }

void Hnsw::mark_deleted(uint64_t label) { impl_->graph.markDelete(label); }

void Hnsw::set_ef(size_t ef) { impl_->graph.setEf(ef); }

std::vector<std::pair<float, uint64_t>> Hnsw::search(const float* unit, size_t n) const {
  auto heap = impl_->graph.searchKnn(unit, n);  // farthest on top
  std::vector<std::pair<float, uint64_t>> out(heap.size());
  for (size_t i = out.size(); i-- > 0; heap.pop()) out[i] = {1.f - heap.top().first, heap.top().second};
  return out;
}

uint64_t Hnsw::serialized_bytes() const {
  const auto& g = impl_->graph;
  uint64_t bytes = kFixedBytes + g.cur_element_count * g.size_data_per_element_;
  for (size_t i = 0; i < g.cur_element_count; ++i)
    bytes += 4 + static_cast<uint64_t>(g.element_levels_[i]) * g.size_links_per_element_;
  return bytes;
}

void Hnsw::write(FileSink& out) const {
  const auto& g = impl_->graph;
  out.u64(g.offsetLevel0_);
  out.u64(g.max_elements_);
  out.u64(g.cur_element_count);
  out.u64(g.size_data_per_element_);
  out.u64(g.label_offset_);
  out.u64(g.offsetData_);
  out.i32(g.maxlevel_);
  out.u32(g.enterpoint_node_);
  out.u64(g.maxM_);
  out.u64(g.maxM0_);
  out.u64(g.M_);
  out.f64(g.mult_);
  out.u64(g.ef_construction_);
  out.write(g.data_level0_memory_, g.cur_element_count * g.size_data_per_element_);
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    const auto bytes = static_cast<uint32_t>(g.element_levels_[i] * g.size_links_per_element_);
    out.u32(bytes);
    if (bytes) out.write(g.linkLists_[i], bytes);
  }
}

std::unique_ptr<Hnsw> Hnsw::read(FileSource& in, uint32_t dim, uint32_t m, uint32_t ef_construction) {
  auto fail = [&](const std::string& what) { return IndexError(in.path() + ": graph section: " + what); };
  auto impl = std::make_unique<Impl>(dim, m, ef_construction, 1);
  Graph& g = impl->graph;

  auto expect = [&](const char* field, uint64_t got, uint64_t want) {
    if (got != want)
      throw fail(std::string(field) + " is " + std::to_string(got) + ", dim " + std::to_string(dim) + " and M " +
                 std::to_string(m) + " imply " + std::to_string(want));
  };
  expect("offset_level0", in.u64(), g.offsetLevel0_);
  in.u64();  // max_elements: the capacity when saved; ours is chosen below
  const uint64_t count = in.u64();
  expect("size_data_per_element", in.u64(), g.size_data_per_element_);
  expect("label_offset", in.u64(), g.label_offset_);
  expect("offset_data", in.u64(), g.offsetData_);
  const int32_t max_level = in.i32();
  const uint32_t entry = in.u32();
  expect("max_m", in.u64(), g.maxM_);
  expect("max_m0", in.u64(), g.maxM0_);
  expect("m", in.u64(), g.M_);
  const double mult = in.f64();
  if (std::memcmp(&mult, &g.mult_, sizeof mult) != 0)
    throw fail("mult is " + std::to_string(mult) + ", M implies " + std::to_string(g.mult_));
  expect("ef_construction", in.u64(), g.ef_construction_);

  const uint64_t sdpe = g.size_data_per_element_;
  if (count > UINT32_MAX / 2 || count * sdpe > in.remaining())
    throw fail(fg::count(count, "element needs", "elements need") + " " + std::to_string(count * sdpe) + " bytes, " +
               fg::count(in.remaining(), "is", "are") + " left");
  if (count == 0 ? max_level != -1 : (max_level < 0 || max_level > kMaxLevel))
    throw fail("max level " + std::to_string(max_level) + " for " + fg::count(count, "element", "elements"));
  if (count > 0 && entry >= count)
    throw fail("entry point " + std::to_string(entry) + " of " + fg::count(count, "element", "elements"));

  g.resizeIndex(count + count / 8 + 64);
  in.read(g.data_level0_memory_, count * sdpe);

  // cur_element_count grows with each installed link list, so the destructor frees exactly
  // what was allocated if anything below throws.
  const uint64_t spl = g.size_links_per_element_;
  for (uint64_t i = 0; i < count; ++i) {
    const uint32_t bytes = in.u32();
    if (bytes % spl != 0 || bytes / spl > static_cast<uint64_t>(max_level))
      throw fail("element " + std::to_string(i) + " has " + fg::count(bytes, "byte", "bytes") + " of upper links");
    const int level = static_cast<int>(bytes / spl);
    g.linkLists_[i] = nullptr;
    if (level > 0) {
      // hnswlib's search prefetches one link id past a list's end; keep that read in bounds.
      g.linkLists_[i] = static_cast<char*>(std::malloc(bytes + sizeof(hnswlib::tableint)));
      if (!g.linkLists_[i]) throw fail("out of memory");
    }
    g.element_levels_[i] = level;
    g.cur_element_count = i + 1;
    if (level > 0) in.read(g.linkLists_[i], bytes);
  }

  for (uint64_t i = 0; i < count; ++i) {
    const auto id = static_cast<hnswlib::tableint>(i);
    for (int level = 0; level <= g.element_levels_[i]; ++level) {
      const auto* list = g.get_linklist_at_level(id, level);
      const uint16_t n = list_count(list);
      if (n > (level == 0 ? g.maxM0_ : g.maxM_))
        throw fail("element " + std::to_string(i) + " has " + std::to_string(n) + " links at level " +
                   std::to_string(level));
      const auto* links = reinterpret_cast<const hnswlib::tableint*>(list + 1);
      for (uint16_t j = 0; j < n; ++j)
        if (links[j] >= count || g.element_levels_[links[j]] < level)
          throw fail("element " + std::to_string(i) + " links to " + std::to_string(links[j]) + " at level " +
                     std::to_string(level));
    }
    if (!g.label_lookup_.emplace(g.getExternalLabel(id), id).second)
      throw fail("label " + std::to_string(g.getExternalLabel(id)) + " appears twice");
    if (g.isMarkedDeleted(id)) ++g.num_deleted_;
  }
  if (count > 0 && g.element_levels_[entry] != max_level)
    throw fail("entry point " + std::to_string(entry) + " is not on the top level");
  g.enterpoint_node_ = entry;
  g.maxlevel_ = max_level;
  return std::unique_ptr<Hnsw>(new Hnsw(std::move(impl)));
}

}  // namespace fg::index::detail
