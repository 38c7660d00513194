// UTF-8 checks for names that come from the filesystem (folder and file names are bytes) and
// must go into JSON, which takes only UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace fg::apps {

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s);
// `s` with each byte that is not part of well-formed UTF-8 written as the text "\xE9" (upper-case
// hex), for messages and JSON: a Latin-1 "Ren\xE9e" stays readable and can be told apart.
std::string escape_invalid_utf8(std::string_view s);

}  // namespace fg::apps
