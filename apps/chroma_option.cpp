#include "apps/chroma_option.h"

#include "store/chroma/error.h"

namespace fg::apps {

store::chroma::Endpoint chroma_endpoint(const cli::Args& args, const std::string& option) {
  try {
    return store::chroma::parse_endpoint(args.get(option));
  } catch (const store::chroma::ChromaError& e) {
    throw cli::UsageError(option + ": " + e.what());
  }
}

}  // namespace fg::apps
