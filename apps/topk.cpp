#include "apps/topk.h"

#include <algorithm>
#include <cstdio>

namespace fg::apps {
namespace {

void count(TopKCounts& c, int rank) {
  ++c.probes;
  for (int k = 0; k < 3; ++k) c.hits[k] += rank >= 0 && rank < kTopK[k];
}

double percent(int hits, const TopKCounts& c) {
  const int all = c.probes + c.failed;
  return all ? 100.0 * hits / all : 0.0;
}

nlohmann::json counts_json(const TopKCounts& c) {
  nlohmann::json j = {{"probes", c.probes + c.failed}, {"searched", c.probes}, {"failed", c.failed}};
  for (int k = 0; k < 3; ++k) {
    const std::string key = "top" + std::to_string(kTopK[k]);
    j[key] = {{"hits", c.hits[k]}, {"accuracy", percent(c.hits[k], c) / 100.0}};
  }
  return j;
}

}  // namespace

void TopKReport::add_probe(const std::string& identity, const std::vector<std::string>& ranked) {
  const auto it = std::find(ranked.begin(), ranked.end(), identity);
  const int rank = it == ranked.end() ? -1 : static_cast<int>(it - ranked.begin());
  count(total_, rank);
  count(per_identity_[identity], rank);
}

void TopKReport::add_failure(const std::string& identity) {
  ++total_.failed;
  ++per_identity_[identity].failed;
}

std::string TopKReport::table() const {
  std::string out;
  char line[256];
  auto row = [&](const std::string& name, const TopKCounts& c) {
    std::snprintf(line, sizeof line, "%-24.24s %7d %7d %9.2f%% %9.2f%% %9.2f%%\n", name.c_str(), c.probes + c.failed,
                  c.failed, percent(c.hits[0], c), percent(c.hits[1], c), percent(c.hits[2], c));
    out += line;
  };
  std::snprintf(line, sizeof line, "%-24s %7s %7s %10s %10s %10s\n", "identity", "probes", "failed", "top-1", "top-3",
                "top-5");
  out += line;
  for (const auto& [name, c] : per_identity_) row(name, c);
  row("all", total_);
  return out;
}

nlohmann::json TopKReport::to_json() const {
  nlohmann::json j = counts_json(total_);
  nlohmann::json per = nlohmann::json::object();
  for (const auto& [name, c] : per_identity_) per[name] = counts_json(c);
  j["per_identity"] = per;
  return j;
}

}  // namespace fg::apps
