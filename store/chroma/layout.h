// The Python prototype's layout of a gallery in ChromaDB, which facegate reads and writes
// exactly:
//   collection "face_embeddings", metadata {"hnsw:space": "cosine"} (+ "facegate:model" when
//   facegate pushed it: the model id its embeddings come from);
//   one record per gallery image: id "<mongo_id>_<i>" (i = 0, 1, ... within the identity),
//   the embedding, metadata {"mongo_id": "<identity id>", "identity_name": "<name>"}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/chroma/client.h"

namespace fg::store::chroma {

constexpr const char* kDefaultCollection = "face_embeddings";
constexpr const char* kSpaceKey = "hnsw:space";
constexpr const char* kModelKey = "facegate:model";
constexpr const char* kMongoIdKey = "mongo_id";
constexpr const char* kNameKey = "identity_name";
// Collection metadata: the ids of identities forgotten by any door, one per line, so that no
// door pushes them again and no pull brings them back (sync.h).
constexpr const char* kForgottenKey = "facegate:forgotten";

std::string record_id(const std::string& identity_id, size_t i);
Metadata record_metadata(const std::string& identity_id, const std::string& name);
Metadata collection_metadata(const std::string& model_id);

// One gallery image as read from a collection.
struct GalleryImage {
  std::string record_id;
  std::string identity_id;
  std::string name;             // in Unicode NFC (store/names.h), whatever the writer sent
  size_t position = 0;          // the i of "<mongo_id>_<i>"
  std::vector<float> embedding;
};

// Throws ChromaError(invalid) naming the record for a missing or empty mongo_id /
// identity_name, an id that is not "<mongo_id>_<i>", or an embedding other than `dim` long
// (dim 0: any).
GalleryImage decode_record(const Record& r, uint32_t dim);

// What a collection must be to hold our embeddings. Throws ChromaError(mismatch) saying what
// it is and what was expected: another metric than cosine, another dimension (when it has
// records), another model in its stamp. An unstamped collection passes (the caller decides).
void check_collection(const Collection& c, uint32_t dim, const std::string& model_id);

// The model the collection's stamp names; "" when it has none (e.g. written by the prototype).
std::string collection_model(const Collection& c);

// The ids in the collection's kForgottenKey (none when it has no such key).
std::set<std::string> collection_forgotten(const Collection& c);
std::string forgotten_value(const std::set<std::string>& ids);

}  // namespace fg::store::chroma
