// The MongoDB connection string: where it comes from, and how it may be shown. It carries a
// password, so it never comes from code and is never printed as given.
#pragma once

#include <string>

namespace fg::store::mongo {

// `option` (--mongo) when not empty, else $FACEGATE_MONGO_URI, else "".
std::string resolve_uri(const std::string& option);

// The URI with its password replaced by "***" (user and host kept), and any
// password-like query option (password=, tlsCertificateKeyFilePassword=) too. Safe to print.
std::string redact_uri(const std::string& uri);

}  // namespace fg::store::mongo
