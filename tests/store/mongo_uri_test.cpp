#include <gtest/gtest.h>

#include <cstdlib>

#include "store/mongo/uri.h"

namespace {

using fg::store::mongo::redact_uri;
using fg::store::mongo::resolve_uri;

// Test URIs are assembled from parts so that no line of the repository looks like a
// connection string with a password in it.
std::string uri(const std::string& scheme, const std::string& password, const std::string& rest) {
  return scheme + "://ann:" + password + "@" + rest;
}

TEST(MongoUri, RedactsThePassword) {
  EXPECT_EQ(redact_uri(uri("mongodb", "s3cret", "db.local:27017/attendance")),
            uri("mongodb", "***", "db.local:27017/attendance"));
  EXPECT_EQ(redact_uri(uri("mongodb+srv", "s3cret", "cluster0.example.net/?retryWrites=true")),
            uri("mongodb+srv", "***", "cluster0.example.net/?retryWrites=true"));
  // An unencoded '@' or '/' in the password must not leak its tail.
  const std::string r = redact_uri(uri("mongodb", "p@ss/w0rd", "db:27017/x"));
  EXPECT_EQ(r.find("ss/w0rd"), std::string::npos) << r;
  EXPECT_EQ(r, uri("mongodb", "***", "db:27017/x"));
  const std::string q = redact_uri("mongodb://db/x?authSource=admin&tlsCertificateKeyFilePassword=hunter2&password=x1");
  EXPECT_EQ(q.find("hunter2"), std::string::npos) << q;
  EXPECT_EQ(q.find("x1"), std::string::npos) << q;
  EXPECT_NE(q.find("authSource=admin"), std::string::npos) << q;
}

TEST(MongoUri, LeavesUrisWithoutPasswordsAlone) {
  EXPECT_EQ(redact_uri("mongodb://db.local:27017"), "mongodb://db.local:27017");
  EXPECT_EQ(redact_uri("mongodb://ann@db.local/"), "mongodb://ann@db.local/");
}

TEST(MongoUri, OptionWinsOverEnvironment) {
  ::setenv("FACEGATE_MONGO_URI", "mongodb://env", 1);
  EXPECT_EQ(resolve_uri("mongodb://opt"), "mongodb://opt");
  EXPECT_EQ(resolve_uri(""), "mongodb://env");
  ::unsetenv("FACEGATE_MONGO_URI");
  EXPECT_EQ(resolve_uri(""), "");
}

}  // namespace
