// Record <-> bytes, exactly as records.h lays them out. Decoders check every length against
// the bytes present and throw DecodeError; the store adds the DB path and key.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/records.h"

namespace fg::store::detail {

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string encode_identity(const Identity& identity);
Identity decode_identity(std::string_view id, std::string_view bytes);

std::string encode_embedding(const EmbeddingRecord& record);
EmbeddingRecord decode_embedding(std::string_view bytes);

std::string encode_event(const Event& event);
Event decode_event(std::string_view bytes);

std::string le_u32(uint32_t v);
std::string le_u64(uint64_t v);
std::string le_f64(double v);
uint32_t read_le_u32(std::string_view bytes);  // exactly 4 bytes, else DecodeError
uint64_t read_le_u64(std::string_view bytes);  // exactly 8 bytes
double read_le_f64(std::string_view bytes);    // exactly 8 bytes

std::string be_u64(uint64_t v);
uint64_t read_be_u64(std::string_view bytes);  // the first 8 bytes

}  // namespace fg::store::detail
