// UTF-8 checks for names that come from the filesystem (folder and file names are bytes) and
// must go into JSON, which takes only UTF-8; and names made safe and aligned in text tables.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fg::apps {

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s);
// `s` with each byte that is not part of well-formed UTF-8 written as the text "\xE9" (upper-case
// hex), for messages and JSON: a Latin-1 "Ren\xE9e" stays readable and can be told apart.
std::string escape_invalid_utf8(std::string_view s);
// `s` for a terminal or a text table: escape_invalid_utf8, and control characters written as text
// too: tab, newline and carriage return as "\t", "\n", "\r", other C0 controls and DEL as "\x1B",
// C1 controls as "\u009B". Backslashes stay as they are (it is for reading, not parsing back).
// The result is valid UTF-8 without control characters; it equals `s` exactly when `s` is too.
std::string printable(std::string_view s);
// The terminal columns `s` takes: 2 for an East Asian wide or fullwidth code point (Unicode 14),
// else 1 per code point, combining marks included (names are kept in NFC), and 1 per invalid byte.
size_t display_width(std::string_view s);
// `s` then spaces up to `width` columns by display_width (printf's "%-24s" counts bytes); `s` as it
// is when it is that wide already.
std::string pad_right(std::string_view s, size_t width);

}  // namespace fg::apps
