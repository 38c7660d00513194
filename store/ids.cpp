#include "store/ids.h"

#include <atomic>
#include <chrono>
#include <random>

namespace fg::store {
namespace {

struct ProcessRandom {
  uint8_t bytes[5];
  std::atomic<uint32_t> counter;
  ProcessRandom() {
    std::random_device rd;
    for (auto& b : bytes) b = static_cast<uint8_t>(rd());
    counter = rd();
  }
};

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

std::string new_identity_id() {
  static ProcessRandom process;
  const auto secs = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const uint32_t count = process.counter.fetch_add(1) & 0xffffff;
  uint8_t raw[12] = {uint8_t(secs >> 24), uint8_t(secs >> 16), uint8_t(secs >> 8), uint8_t(secs)};
  for (int i = 0; i < 5; ++i) raw[4 + i] = process.bytes[i];
  raw[9] = uint8_t(count >> 16);
  raw[10] = uint8_t(count >> 8);
  raw[11] = uint8_t(count);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : raw) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

bool is_valid_identity_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_content_hash(const std::string& hash) {
  if (hash.size() != 64) return false;
  for (char c : hash)
    if (!is_hex(c)) return false;
  return true;
}

}  // namespace fg::store
