// Top-K accuracy of probe images against the gallery, counted on identities: a probe's rank
// is the position of its true identity among the distinct identities returned, so one
// person's many images never fill the top K.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fg::apps {

constexpr int kTopK[] = {1, 3, 5};

struct TopKCounts {
  int probes = 0;        // probes that were searched
  int hits[3] = {0, 0, 0};  // within top 1, 3, 5
  int failed = 0;        // unreadable, or no face found: not searched, counted as misses
};

class TopKReport {
 public:
  // `ranked` is the identities returned for the probe, best first (distinct ids).
  void add_probe(const std::string& identity, const std::vector<std::string>& ranked);
  void add_failure(const std::string& identity);

  const TopKCounts& total() const { return total_; }
  const std::map<std::string, TopKCounts>& per_identity() const { return per_identity_; }

  // The table printed after enroll: one row per identity and a total row. Accuracy is over
  // all probes, failed ones included (they count as misses).
  std::string table() const;
  nlohmann::json to_json() const;

 private:
  TopKCounts total_;
  std::map<std::string, TopKCounts> per_identity_;
};

}  // namespace fg::apps
