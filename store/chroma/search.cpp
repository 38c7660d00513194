#include "store/chroma/search.h"

#include <algorithm>
#include <map>

#include "store/chroma/error.h"
#include "store/chroma/layout.h"

namespace fg::store::chroma {

RemoteGallery::RemoteGallery(Client client, const std::string& collection, uint32_t dim, const std::string& model_id)
    : client_(std::move(client)) {
  client_.check_server();
  const auto c = client_.find_collection(collection);
  if (!c)
    throw ChromaError(ErrorKind::not_found, "no collection '" + collection + "' at " + client_.endpoint().server());
  check_collection(*c, dim, model_id);
  collection_ = *c;
  count_ = client_.count(collection_);
}

std::vector<RemoteMatch> RemoteGallery::search(const std::vector<float>& query, size_t k) {
  std::vector<RemoteMatch> best;
  if (count_ == 0 || k == 0) return best;
  // Most identities have a handful of images: 8 per wanted identity usually suffices in one call.
  uint64_t n = std::min<uint64_t>(count_, std::max<uint64_t>(k * 8, 32));
  for (;;) {
    const std::vector<Hit> hits = client_.query(collection_, {query}, static_cast<uint32_t>(n)).at(0);
    std::map<std::string, RemoteMatch> by_identity;
    for (const Hit& h : hits) {
      const GalleryImage g = decode_record({h.id, {}, h.metadata}, 0);
      const float score = 1.f - h.distance;
      auto [it, fresh] = by_identity.emplace(g.identity_id, RemoteMatch{g.identity_id, g.name, score, h.id});
      if (!fresh && score > it->second.score) it->second = {g.identity_id, g.name, score, h.id};
    }
    best.clear();
    for (auto& kv : by_identity) best.push_back(std::move(kv.second));
    if (best.size() >= k || n >= count_ || hits.size() < n) break;
    n = std::min<uint64_t>(count_, n * 4);
  }
  std::sort(best.begin(), best.end(), [](const RemoteMatch& a, const RemoteMatch& b) {
    return a.score != b.score ? a.score > b.score : a.identity_id < b.identity_id;
  });
  if (best.size() > k) best.resize(k);
  return best;
}

}  // namespace fg::store::chroma
