#include "store/names.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

namespace fg::store {
namespace {

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  return true;
}

}  // namespace

std::string normalize_name(std::string_view name) {
  if (name.size() > INT32_MAX || !valid_utf8(name)) return std::string(name);
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  const icu::UnicodeString in =
      icu::UnicodeString::fromUTF8(icu::StringPiece(name.data(), static_cast<int32_t>(name.size())));
  const icu::UnicodeString out = U_SUCCESS(status) ? nfc->normalize(in, status) : in;
  // ICU's NFC data is built into libicudata; failing here means a broken installation, in
  // which case the name keeps its bytes rather than lose the enrollment.
  if (U_FAILURE(status)) return std::string(name);
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

}  // namespace fg::store
