// The UTF-8 check behind enroll's folder names and export-person's escaping; the escaping and
// padding of names in list's and report's text tables.
#include "apps/utf8.h"

#include <gtest/gtest.h>

#include <string>

TEST(Utf8, CheckedStrictlyAndInvalidBytesAreEscaped) {
  using fg::apps::escape_invalid_utf8;
  using fg::apps::valid_utf8;
  for (const char* ok : {"", "amy", "Zo\xC3\xAB", "Zoe\xCC\x88", "\xE6\x9D\x8E", "\xF0\x9F\x98\x80"})
    EXPECT_TRUE(valid_utf8(ok)) << escape_invalid_utf8(ok);
  for (const char* bad : {"Ren\xe9" "e", "\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF", "a\x80"})
    EXPECT_FALSE(valid_utf8(bad)) << escape_invalid_utf8(bad);
  EXPECT_EQ(escape_invalid_utf8("Ren\xe9" "e"), "Ren\\xE9e");
  EXPECT_EQ(escape_invalid_utf8("Zo\xC3\xAB"), "Zo\xC3\xAB");
  EXPECT_EQ(escape_invalid_utf8("\xC3(\xF0\x9F\x98\x80"), "\\xC3(\xF0\x9F\x98\x80");
}

TEST(Utf8, PrintableEscapesControlCharactersAndInvalidBytes) {
  using fg::apps::printable;
  EXPECT_EQ(printable(""), "");
  EXPECT_EQ(printable("Zo\xC3\xAB \xE6\x9D\x8E"), "Zo\xC3\xAB \xE6\x9D\x8E") << "printable text as it is";
  EXPECT_EQ(printable("a\\tb"), "a\\tb") << "backslashes stay";
  // Only control characters: C0 (NUL too), DEL, and C1 (U+009B is CSI to some terminals).
  EXPECT_EQ(printable(std::string("\t\n\r\x1B\x7F\x01\0", 7)), "\\t\\n\\r\\x1B\\x7F\\x01\\x00");
  EXPECT_EQ(printable("\xC2\x85\xC2\x9B" "31m"), "\\u0085\\u009B31m");
  EXPECT_EQ(printable("ann\x1B[2J\nbob"), "ann\\x1B[2J\\nbob");
  EXPECT_EQ(printable("\xC2\xA0"), "\xC2\xA0") << "U+00A0 is not a control character";
  // Invalid bytes among multibyte characters, as escape_invalid_utf8 writes them; a truncated
  // sequence before a control character.
  EXPECT_EQ(printable("\xE6\x9D\x8E\xC3(\xF0\x9F\x98\x80\xFF\t"), "\xE6\x9D\x8E\\xC3(\xF0\x9F\x98\x80\\xFF\\t");
  EXPECT_EQ(printable("\xE6\x9D\n"), "\\xE6\\x9D\\n");
  // Its output is printable already: enroll's messages apply it to escape_invalid_utf8's.
  for (const char* s : {"Ren\xe9" "e\t", "\x1B\xC2\x9B\xFF", "a\\xE9"}) {
    EXPECT_EQ(printable(printable(s)), printable(s)) << s;
    EXPECT_EQ(printable(fg::apps::escape_invalid_utf8(s)), printable(s)) << s;
    EXPECT_TRUE(fg::apps::valid_utf8(printable(s))) << s;
  }
}

TEST(Utf8, DisplayWidthCountsWideCharactersTwice) {
  using fg::apps::display_width;
  EXPECT_EQ(display_width(""), 0u);
  EXPECT_EQ(display_width("amy"), 3u);
  EXPECT_EQ(display_width("Zo\xC3\xAB"), 3u) << "\u00EB: 2 bytes, 1 column";
  EXPECT_EQ(display_width("\xE6\x9D\x8E\xE5\xB0\x8F\xE9\xBE\x99"), 6u) << "3 CJK ideographs";
  EXPECT_EQ(display_width("\xED\x95\x9C"), 2u) << "Hangul syllable";
  EXPECT_EQ(display_width("\xEF\xBC\xA1"), 2u) << "fullwidth A, U+FF21";
  EXPECT_EQ(display_width("\xEF\xBD\xB1"), 1u) << "halfwidth katakana, U+FF71";
  EXPECT_EQ(display_width("\xE3\x80\x80"), 2u) << "ideographic space, U+3000";
  EXPECT_EQ(display_width("\xF0\x9F\x98\x80"), 2u) << "emoji, U+1F600";
  EXPECT_EQ(display_width("\xF0\xA0\x80\x80"), 2u) << "CJK extension B, U+20000";
  EXPECT_EQ(display_width("\xE1\x85\x9F\xE1\x85\xA0"), 3u) << "U+115F wide, U+1160 not: the table's first edge";
  EXPECT_EQ(display_width("\xC3\xA9\xE6\x9D\x8E"), 3u) << "\u00E9 then \u674E";
  EXPECT_EQ(display_width("\xE9\xE6\x9D"), 3u) << "each invalid byte one column";
}

TEST(Utf8, PadRightPadsByDisplayWidth) {
  using fg::apps::pad_right;
  EXPECT_EQ(pad_right("", 3), "   ");
  EXPECT_EQ(pad_right("amy", 5), "amy  ");
  EXPECT_EQ(pad_right("amy", 3), "amy");
  EXPECT_EQ(pad_right("Zo\xC3\xAB", 5), "Zo\xC3\xAB  ") << "2 spaces, not 1 (bytes)";
  EXPECT_EQ(pad_right("\xE6\x9D\x8E", 5), "\xE6\x9D\x8E   ");
  EXPECT_EQ(pad_right("\xE6\x9D\x8E\xE5\xB0\x8F", 3), "\xE6\x9D\x8E\xE5\xB0\x8F") << "wider: as it is";
  EXPECT_EQ(pad_right(fg::apps::printable("Ren\xe9" "e\t"), 12), "Ren\\xE9e\\t  ");
}
