// Identity names as the DB keys them: one spelling per name. A gallery folder copied from a
// Mac is usually named in decomposed Unicode (NFD: "e" + U+0301), the same name typed on
// Linux in composed form (NFC: U+00E9); both must be one person.
#pragma once

#include <string>
#include <string_view>

namespace fg::store {

// Unicode NFC of a valid UTF-8 name; any other bytes (a Latin-1 folder name) as they are.
std::string normalize_name(std::string_view name);

}  // namespace fg::store
