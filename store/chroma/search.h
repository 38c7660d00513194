// Identity-level search in a ChromaDB collection (layout.h), scored like the local index:
// an identity's score is the cosine of its best image, identities best first, at most k.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "store/chroma/client.h"

namespace fg::store::chroma {

struct RemoteMatch {
  std::string identity_id;
  std::string name;
  float score = 0.f;       // cosine similarity
  std::string record_id;   // the best image
};

class RemoteGallery {
 public:
  // Checks the server and the collection (cosine, `dim`, `model_id` against its stamp; an
  // unstamped collection is taken on trust). Throws ChromaError.
  RemoteGallery(Client client, const std::string& collection, uint32_t dim, const std::string& model_id);

  // Asks for more images until k distinct identities are found or the collection is exhausted.
  std::vector<RemoteMatch> search(const std::vector<float>& query, size_t k);

 private:
  Client client_;
  Collection collection_;
  uint64_t count_ = 0;
};

}  // namespace fg::store::chroma
