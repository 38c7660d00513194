// The one exception type the ChromaDB adapter throws; `kind()` tells a caller whether to retry,
// fix the URL, or pick another collection. Messages name the server and the collection.
#pragma once

#include <stdexcept>
#include <string>

namespace fg::store::chroma {

enum class ErrorKind {
  unreachable,  // no connection (after the retries), or a timeout
  not_chroma,   // something answered, but not ChromaDB's v2 API
  protocol,     // ChromaDB answered with a body we cannot use
  rejected,     // ChromaDB refused the request (4xx/5xx with its message)
  not_found,    // no such collection
  mismatch,     // the collection's metric, dimension or model is not ours
  invalid,      // a record that does not follow the layout (layout.h)
};

class ChromaError : public std::runtime_error {
 public:
  ChromaError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace fg::store::chroma
