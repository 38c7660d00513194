// The one exception type the store throws; `kind()` lets a caller pick an exit code or a retry.
#pragma once

#include <stdexcept>
#include <string>

namespace fg::store {

enum class ErrorKind {
  io,                // the filesystem or RocksDB failed (message carries RocksDB's status)
  corrupt,           // the DB directory or a record in it cannot be decoded
  locked,            // another process (or another Store in this one) has the DB open
  not_writable,      // the DB directory cannot be written by this process (read-only mount, owner)
  not_found,         // no DB at the path, or no such identity
  schema_mismatch,   // the DB was written by another schema version
  model_mismatch,    // the DB was enrolled with another model
  invalid_argument,  // the caller passed something malformed (bad id, hash, vector...)
  conflict,          // the id or name is already taken
};

// Every message names the DB path and says what was got and what was expected.
class StoreError : public std::runtime_error {
 public:
  StoreError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace fg::store
