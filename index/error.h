// The one exception type the index throws. Messages name the file and say what was got and
// what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace fg::index {

struct IndexError : std::runtime_error {
  using std::runtime_error::runtime_error;
  IndexError(const std::string& message, int errnum) : std::runtime_error(message), error_number(errnum) {}
  // The errno of a failed file operation (a full disk: ENOSPC); 0 for anything else.
  int error_number = 0;
};

}  // namespace fg::index
