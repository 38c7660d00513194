// The one exception type the index throws. Messages name the file and say what was got and
// what was expected.
#pragma once

#include <stdexcept>

namespace fg::index {

struct IndexError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace fg::index
