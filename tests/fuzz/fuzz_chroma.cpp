// The parsing of ChromaDB's answers. The first input byte picks the answer being parsed
// (collection, count, pre-flight, get with/without embeddings, query, error body, heartbeat);
// the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "store/chroma/error.h"
#include "store/chroma/responses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fg::store::chroma;
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string what = "fuzz";
  try {
    switch (data[0] % 9) {
      case 0: parse_collection(body, what); break;
      case 1: parse_count(body, what); break;
      case 2: parse_max_batch_size(body, what); break;
      case 3: parse_records(body, what, false); break;
      case 4: parse_records(body, what, true); break;
      case 5: parse_hits(body, what, 1); break;
      case 6: parse_hits(body, what, 2); break;
      case 7: error_message(body); break;
      default: is_heartbeat(body); break;
    }
  } catch (const ChromaError&) {
  }
  return 0;
}
