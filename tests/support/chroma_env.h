// The ChromaDB server of the CTest fixture (tests/chroma/start.sh): its URL, or why there is
// none. Outside CI a missing server skips; in CI ($CI set, not "false") it fails.
#pragma once

#include <cstdlib>
#include <string>

#include "tests/support/test_env.h"

namespace fg::test {

// $FACEGATE_TEST_CHROMA_URL, else the URL the fixture wrote; "" when there is none.
inline std::string chroma_url() {
  if (const char* env = std::getenv("FACEGATE_TEST_CHROMA_URL")) return env;
  std::string url = read_text(std::string(FG_TEST_CHROMA_STATE) + "/url");
  while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
  return url;
}

}  // namespace fg::test

// In a test body or SetUp: the server's URL into `var`, else skip (fail in CI) with the reason.
#define FG_REQUIRE_CHROMA(var)                                                                  \
  const std::string var = ::fg::test::chroma_url();                                             \
  if (var.empty()) {                                                                            \
    if (::fg::test::in_ci()) FAIL() << "no ChromaDB server: the chroma_server_start fixture failed"; \
    GTEST_SKIP() << "SKIPPED: no ChromaDB server (tests/chroma/start.sh needs node and npm)";     \
  }
