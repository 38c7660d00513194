#include "index/open.h"

#include <filesystem>
#include <iostream>
#include <optional>

#include "common/count.h"

namespace fg::index {
namespace {

constexpr size_t kChunk = 4096;

// Why the loaded index cannot serve `source`, or "".
std::string mismatch(const Index& index, const Source& source) {
  const Stamp s = index.stamp();
  if (s.model_id != source.stamp.model_id)
    return "it was built for model '" + s.model_id + "', the DB holds model '" + source.stamp.model_id + "'";
  if (s.db_id != source.stamp.db_id) return "it was built from another DB (" + s.db_id + ")";
  if (s.generation != source.stamp.generation || index.size() != source.count)
    return "it is out of step with the DB (generation " + std::to_string(s.generation) + " with " +
           fg::count(index.size(), "image", "images") + ", the DB is at generation " +
           std::to_string(source.stamp.generation) + " with " + std::to_string(source.count) + ")";
  if (index.label_sum() != source.label_sum)
    return "its images are not the DB's (same count and generation, other labels)";
  if (index.deleted_count() > index.size())
    return "more than half of its slots are deleted images (" + std::to_string(index.deleted_count()) + ")";
  return "";
}

}  // namespace

void log_to_stderr(const std::string& line) { std::cerr << "facegate: " << line << std::endl; }

Index build(const Source& source, const Params& params) {
  Params p = params;
  p.initial_capacity = std::max<uint64_t>(params.initial_capacity, source.count + source.count / 8);
  Index index(p, source.stamp);
  // Entries view the caller's vectors only during emit, so each chunk keeps its own copies.
  std::vector<Entry> chunk;
  std::vector<std::vector<float>> vectors;
  vectors.reserve(kChunk);
  auto flush = [&] {
    index.add(chunk);
    chunk.clear();
    vectors.clear();
  };
  source.for_each([&](const Entry& e) {
    vectors.emplace_back(e.vector.data, e.vector.data + e.vector.size);
    chunk.push_back({e.label, e.identity_id, VectorView(vectors.back())});
    if (chunk.size() == kChunk) flush();
  });
  if (!chunk.empty()) flush();
  return index;
}

namespace {

// The index at `path` when it serves `source` as it is; otherwise nothing, and `reason` says why.
std::optional<Index> load_fresh(const std::string& path, const Source& source, const Params& params,
                                std::string& reason) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    reason = "index " + path + " is missing";
    return std::nullopt;
  }
  try {
    Index index = Index::load(path, params);
    reason = mismatch(index, source);
    if (reason.empty()) return index;
    reason = "index " + path + " is stale: " + reason;
  } catch (const IndexError& e) {
    reason = std::string("index is unusable: ") + e.what();
  }
  return std::nullopt;
}

}  // namespace

Opened open_or_rebuild(const std::string& path, const Source& source, const Params& params, const Logger& log) {
  std::string reason;
  if (auto index = load_fresh(path, source, params, reason)) return {std::move(*index), false, ""};
  // A new DB has nothing to rebuild: no line for it.
  if (source.count > 0)
    log("rebuilding the index from the DB (" + fg::count(source.count, "image", "images") + "): " + reason);
  Index index = build(source, params);
  try {
    index.save(path);
  } catch (const IndexError& e) {
    log(std::string("could not save the rebuilt index: ") + e.what());
  }
  return {std::move(index), true, reason};
}

Opened open_or_build(const std::string& path, const Source& source, const Params& params, const Logger& log) {
  std::string reason;
  if (auto index = load_fresh(path, source, params, reason)) return {std::move(*index), false, ""};
  if (source.count > 0)
    log("building the index in memory from the DB (" + fg::count(source.count, "image", "images") + "): " + reason);
  return {build(source, params), true, reason};
}

}  // namespace fg::index
