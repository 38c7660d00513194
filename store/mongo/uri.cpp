#include "store/mongo/uri.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace fg::store::mongo {

std::string resolve_uri(const std::string& option) {
  if (!option.empty()) return option;
  const char* env = std::getenv("FACEGATE_MONGO_URI");
  return env ? env : "";
}

std::string redact_uri(const std::string& uri) {
  std::string out = uri;
  const size_t scheme = out.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  // The userinfo ends at the last '@' before the path: a password may itself hold '@' or '/'
  // when its writer forgot to percent-encode it, and must still not leak.
  const size_t query = out.find('?', start);
  const size_t at = out.rfind('@', query == std::string::npos ? std::string::npos : query);
  if (at != std::string::npos && at >= start) {
    const size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  const size_t q = out.find('?', start);
  if (q == std::string::npos) return out;
  std::string head = out.substr(0, q + 1), rest = out.substr(q + 1), redacted;
  size_t pos = 0;
  while (pos <= rest.size()) {
    const size_t amp = std::min(rest.find('&', pos), rest.size());
    std::string pair = rest.substr(pos, amp - pos);
    const size_t eq = pair.find('=');
    std::string key = pair.substr(0, eq);
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (eq != std::string::npos && key.find("password") != std::string::npos) pair = pair.substr(0, eq + 1) + "***";
    redacted += (redacted.empty() && pos == 0 ? "" : "&") + pair;
    pos = amp + 1;
  }
  return head + redacted;
}

}  // namespace fg::store::mongo
