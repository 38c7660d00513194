// The UTF-8 check behind enroll's folder names and export-person's escaping.
#include "apps/utf8.h"

#include <gtest/gtest.h>

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
