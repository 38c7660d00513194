// Plain HTTP/1.1 to one server (cpp-httplib behind a pimpl), with retries: a request that
// fails to connect, or times out, is retried with exponential backoff; an HTTP answer of any
// status is returned as is. Not thread-safe: one Http per thread.
#pragma once

#include <memory>
#include <string>

namespace fg::store::chroma {

struct RetryPolicy {
  int attempts = 4;           // tries per request, >= 1
  int first_backoff_ms = 100; // doubled after each failed try
  int connect_timeout_ms = 2000;
  int read_timeout_ms = 30000;
};

struct Response {
  int status = 0;
  std::string body;
};

class Http {
 public:
  Http(const std::string& host, int port, const RetryPolicy& retry);
  ~Http();
  Http(Http&&) noexcept;
  Http& operator=(Http&&) noexcept;

  // Throws ChromaError(unreachable) naming the server and the transport error once every
  // attempt has failed.
  Response get(const std::string& path);
  Response post(const std::string& path, const std::string& json_body);
  Response put(const std::string& path, const std::string& json_body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fg::store::chroma
