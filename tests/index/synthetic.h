// Clustered synthetic embeddings and the exact identity ranking to check the index against.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "index/index.h"

namespace fg::test {

inline std::vector<float> random_unit(size_t dim, std::mt19937& rng) {
  std::normal_distribution<float> g;
  std::vector<float> v(dim);
  double n2 = 0;
  for (auto& x : v) {
    x = g(rng);
    n2 += double(x) * x;
  }
  for (auto& x : v) x = static_cast<float>(x / std::sqrt(n2));
  return v;
}

// `centre` plus Gaussian noise of total norm ~`noise`, normalised: cosine to the centre is
// about 1 / sqrt(1 + noise^2).
inline std::vector<float> near(const std::vector<float>& centre, float noise, std::mt19937& rng) {
  auto v = random_unit(centre.size(), rng);
  double n2 = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = centre[i] + noise * v[i];
    n2 += double(v[i]) * v[i];
  }
  for (auto& x : v) x = static_cast<float>(x / std::sqrt(n2));
  return v;
}

struct Gallery {
  size_t dim = 0;
  std::vector<std::vector<float>> centres;
  std::vector<index::Entry> entries;  // view `vectors`
  std::vector<std::vector<float>> vectors;
};

inline std::string identity_name(size_t i) { return "id" + std::to_string(i); }

// n_ids identities with min..max images each; labels 1, 2, ... in order.
inline Gallery make_gallery(size_t n_ids, size_t min_images, size_t max_images, size_t dim, float noise,
                            uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> count(min_images, max_images);
  Gallery g;
  g.dim = dim;
  for (size_t i = 0; i < n_ids; ++i) {
    g.centres.push_back(random_unit(dim, rng));
    for (size_t n = count(rng); n > 0; --n) g.vectors.push_back(near(g.centres.back(), noise, rng));
    for (size_t j = g.entries.size(); j < g.vectors.size(); ++j)
      g.entries.push_back({j + 1, identity_name(i), {}});
  }
  for (size_t j = 0; j < g.entries.size(); ++j) g.entries[j].vector = index::VectorView(g.vectors[j]);
  return g;
}

// The exact k best identities among the entries whose label is not in `removed`.
inline std::vector<index::Match> brute_force(const Gallery& g, const std::vector<float>& query, size_t k,
                                             const std::set<uint64_t>& removed = {}) {
  std::map<std::string, index::Match> best;
  for (const auto& e : g.entries) {
    if (removed.count(e.label)) continue;
    double dot = 0;
    for (size_t i = 0; i < g.dim; ++i) dot += double(query[i]) * e.vector.data[i];
    auto [it, added] = best.emplace(e.identity_id, index::Match{e.identity_id, float(dot), e.label});
    if (!added && dot > it->second.score) it->second = {e.identity_id, float(dot), e.label};
  }
  std::vector<index::Match> out;
  for (auto& [id, m] : best) out.push_back(m);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  if (out.size() > k) out.resize(k);
  return out;
}

inline std::vector<std::string> ids_of(const std::vector<index::Match>& matches) {
  std::vector<std::string> out;
  for (const auto& m : matches) out.push_back(m.identity_id);
  return out;
}

}  // namespace fg::test
