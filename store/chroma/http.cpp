#include "store/chroma/http.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "store/chroma/error.h"

namespace fg::store::chroma {

struct Http::Impl {
  std::string server;
  RetryPolicy retry;
  httplib::Client client;

  Impl(const std::string& host, int port, const RetryPolicy& r)
      : server("http://" + host + ":" + std::to_string(port)), retry(r), client(host, port) {
    client.set_connection_timeout(std::chrono::milliseconds(r.connect_timeout_ms));
    client.set_read_timeout(std::chrono::milliseconds(r.read_timeout_ms));
    client.set_write_timeout(std::chrono::milliseconds(r.read_timeout_ms));
    client.set_keep_alive(true);
  }

  template <typename Send>
  Response send(const char* method, const std::string& path, Send&& send_once) {
    int backoff = retry.first_backoff_ms;
    std::string last;
    for (int attempt = 1; attempt <= std::max(1, retry.attempts); ++attempt) {
      httplib::Result r = send_once();
      if (r) return {r->status, r->body};
      last = httplib::to_string(r.error());
      if (attempt < retry.attempts) {
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
        backoff *= 2;
      }
    }
    throw ChromaError(ErrorKind::unreachable, "cannot reach ChromaDB at " + server + " (" + method + " " + path +
                                                  ": " + last + ", after " + std::to_string(retry.attempts) +
                                                  " attempts)");
  }
};

Http::Http(const std::string& host, int port, const RetryPolicy& retry)
    : impl_(std::make_unique<Impl>(host, port, retry)) {}
Http::~Http() = default;
Http::Http(Http&&) noexcept = default;
Http& Http::operator=(Http&&) noexcept = default;

Response Http::get(const std::string& path) {
  return impl_->send("GET", path, [&] { return impl_->client.Get(path); });
}

Response Http::post(const std::string& path, const std::string& json_body) {
  return impl_->send("POST", path, [&] { return impl_->client.Post(path, json_body, "application/json"); });
}

Response Http::put(const std::string& path, const std::string& json_body) {
  return impl_->send("PUT", path, [&] { return impl_->client.Put(path, json_body, "application/json"); });
}

}  // namespace fg::store::chroma
