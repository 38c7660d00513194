// The --chroma and --index options: a ChromaDB URL that does not parse is bad usage (exit 2),
// told before anything runs.
#pragma once

#include <string>

#include "apps/cli.h"
#include "store/chroma/endpoint.h"

namespace fg::apps {

// The endpoint `option` names; throws cli::UsageError naming the option and what is wrong.
store::chroma::Endpoint chroma_endpoint(const cli::Args& args, const std::string& option);

}  // namespace fg::apps
