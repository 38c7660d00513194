#include <gtest/gtest.h>

#include "store/chroma/endpoint.h"
#include "store/chroma/error.h"

namespace {

using fg::store::chroma::ChromaError;
using fg::store::chroma::parse_endpoint;

TEST(ChromaEndpoint, ParsesHttpAndChromaUrls) {
  auto e = parse_endpoint("http://127.0.0.1:8123");
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 8123);
  EXPECT_EQ(e.collection, "face_embeddings");
  EXPECT_EQ(e.server(), "http://127.0.0.1:8123");

  e = parse_endpoint("chroma://gallery.local:9000/doors");
  EXPECT_EQ(e.host, "gallery.local");
  EXPECT_EQ(e.port, 9000);
  EXPECT_EQ(e.collection, "doors");
  EXPECT_EQ(e.text(), "chroma://gallery.local:9000/doors");

  e = parse_endpoint("chroma://central/");
  EXPECT_EQ(e.port, 8000);
  EXPECT_EQ(e.collection, "face_embeddings");
}

TEST(ChromaEndpoint, RefusesWhatItCannotUse) {
  for (const char* bad : {"https://x:1", "ftp://x", "x:8000", "http://:8000", "http://x:99999", "http://x:80a",
                          "chroma://x:1/a/b"}) {
    EXPECT_THROW(parse_endpoint(bad), ChromaError) << bad;
  }
  try {
    parse_endpoint("https://x:1");
  } catch (const ChromaError& e) {
    EXPECT_NE(std::string(e.what()).find("https is not supported"), std::string::npos) << e.what();
  }
}

}  // namespace
