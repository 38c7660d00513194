// The message of the ConvertError a converter or reader call throws, for tests to match.
#pragma once

#include <functional>
#include <string>

#include "tools/convert/convert.h"

namespace fg::convert {

// "(no error)" when f returns normally; any other exception passes through.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace fg::convert
