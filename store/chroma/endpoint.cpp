#include "store/chroma/endpoint.h"

#include <cctype>

#include "store/chroma/error.h"

namespace fg::store::chroma {

std::string Endpoint::server() const { return "http://" + host + ":" + std::to_string(port); }

std::string Endpoint::text() const { return "chroma://" + host + ":" + std::to_string(port) + "/" + collection; }

Endpoint parse_endpoint(const std::string& url) {
  const auto bad = [&](const std::string& why) {
    return ChromaError(ErrorKind::invalid, "ChromaDB URL '" + url + "': " + why +
                                               " (expected http://HOST:PORT or chroma://HOST:PORT/COLLECTION)");
  };
  std::string rest;
  for (const char* scheme : {"http://", "chroma://"}) {
    if (url.rfind(scheme, 0) == 0) rest = url.substr(std::string(scheme).size());
  }
  if (rest.empty()) throw bad(url.rfind("https://", 0) == 0 ? "https is not supported" : "unknown scheme");
  Endpoint e;
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    std::string path = rest.substr(slash + 1);
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (path.find('/') != std::string::npos) throw bad("the path must be one collection name");
    if (!path.empty()) e.collection = path;
  }
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos) {
    const std::string port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5) throw bad("bad port '" + port + "'");
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) throw bad("bad port '" + port + "'");
    }
    e.port = std::stoi(port);
    if (e.port < 1 || e.port > 65535) throw bad("port out of range");
    authority.resize(colon);
  }
  if (authority.empty()) throw bad("no host");
  e.host = authority;
  return e;
}

}  // namespace fg::store::chroma
