// Parsing ChromaDB's answers (store/chroma/responses.h) without a server: what ChromaDB sends
// parses; anything else is a ChromaError(protocol) saying what was wrong, never a crash or
// an undefined conversion.
#include "store/chroma/responses.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "store/chroma/error.h"

namespace fg::store::chroma {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

template <typename F>
std::string protocol_error(F&& parse) {
  try {
    parse();
  } catch (const ChromaError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::protocol) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(ChromaResponses, WhatChromaSendsParses) {
  const Collection c = parse_collection(
      R"({"id":"5f1c","name":"faces","metadata":{"model":"m","n":3},"dimension":512,)"
      R"("configuration_json":{"hnsw":{"space":"cosine"}}})",
      "w");
  EXPECT_EQ(c.id, "5f1c");
  EXPECT_EQ(c.metadata.at("n"), "3");
  EXPECT_EQ(c.dimension, 512u);
  EXPECT_EQ(c.space, "cosine");
  EXPECT_EQ(parse_count("42", "w"), 42u);
  EXPECT_EQ(parse_max_batch_size(R"({"max_batch_size":5461})", "w"), 5461u);
  const auto records = parse_records(R"({"ids":["a"],"metadatas":[null],"embeddings":[[0.5,-1]]})", "w", true);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].embedding, (std::vector<float>{0.5f, -1.f}));
  const auto hits = parse_hits(R"({"ids":[["a","b"]],"distances":[[0.25,1]],"metadatas":[[{},null]]})", "w", 1);
  ASSERT_EQ(hits.at(0).size(), 2u);
  EXPECT_EQ(hits[0][0].distance, 0.25f);
  EXPECT_EQ(error_message(R"({"message":"no such collection"})"), "no such collection");
  EXPECT_TRUE(is_heartbeat(R"({"nanosecond heartbeat":1})"));
}

TEST(ChromaResponses, MalformedAnswersAreProtocolErrors) {
  const std::string what = "ChromaDB get from 'faces' at h:1";
  struct Case {
    std::string body, message;
  };
  const Case records[] = {
      {"", "not JSON: ''"},
      {"{\"ids\":[", "not JSON"},
      {"[]", "no 'ids' in the answer"},
      {R"({"ids":{},"metadatas":[]})", "ids: expected an array, got object"},
      {R"({"ids":["a"],"metadatas":[]})", "metadatas: 0 entries, expected 1"},
      {R"({"ids":[1],"metadatas":[null],"embeddings":[[]]})", "id: expected a string, got number"},
      {R"({"ids":["a"],"metadatas":[7],"embeddings":[[]]})", "metadata: expected an object, got number"},
      {R"({"ids":["a"],"metadatas":[{}]})", "no 'embeddings' in the answer"},
      {R"({"ids":["a"],"metadatas":[{}],"embeddings":[["x"]]})", "embedding: expected a number, got string"},
      // Out of float's range: converting it would be undefined behaviour.
      {R"({"ids":["a"],"metadatas":[{}],"embeddings":[[1e300]]})", "embedding: 1e+300 is not a finite float"},
      {R"({"ids":["a"],"metadatas":[{}],"embeddings":[[-3.5e38]]})", "is not a finite float"},
  };
  for (const auto& c : records) {
    const std::string got = protocol_error([&] { parse_records(c.body, what, true); });
    EXPECT_THAT(got, StartsWith(what + ": "));
    EXPECT_THAT(got, HasSubstr(c.message)) << c.body;
  }
  EXPECT_THAT(protocol_error([] { parse_hits(R"({"ids":[["a"]],"distances":[[1e39]],"metadatas":[[{}]]})", "w", 1); }),
              HasSubstr("distance: 1e+39 is not a finite float"));
  EXPECT_THAT(protocol_error([] { parse_hits(R"({"ids":[["a"]],"distances":[[]],"metadatas":[[{}]]})", "w", 1); }),
              HasSubstr("distances: 0 entries, expected 1"));
  EXPECT_THAT(protocol_error([] { parse_hits(R"({"ids":[],"distances":[],"metadatas":[]})", "w", 1); }),
              HasSubstr("ids: 0 entries, expected 1"));
  EXPECT_THAT(protocol_error([] { parse_collection(R"({"id":"x","name":"y","dimension":4294967296})", "w"); }),
              HasSubstr("dimension is not a count: 4294967296"));
  EXPECT_THAT(protocol_error([] { parse_collection(R"({"id":"x","name":"y","dimension":-1})", "w"); }),
              HasSubstr("dimension is not a count"));
  EXPECT_THAT(protocol_error([] { parse_collection(R"({"id":"x","name":"y","metadata":[1]})", "w"); }),
              HasSubstr("metadata: expected an object, got array"));
  EXPECT_THAT(protocol_error([] { parse_count("-3", "w"); }), HasSubstr("expected a count, got '-3'"));
  EXPECT_THAT(protocol_error([] { parse_max_batch_size(R"({"max_batch_size":0})", "w"); }),
              HasSubstr("max_batch_size is not a positive integer"));
  EXPECT_EQ(error_message("<html>\x01\x02</html>"), "'<html>  </html>'");
  EXPECT_FALSE(is_heartbeat("{\"nanosecond heartbeat\""));
}

TEST(ChromaResponses, DeeplyNestedJsonIsRefusedBeforeParsing) {
  // Metadata that is not a string is kept as its JSON text, and dumping it recurses: a deep
  // value must never reach it.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string body = R"({"ids":["a"],"metadatas":[{"k":)" + deep + "}]}";
  EXPECT_THAT(protocol_error([&] { parse_records(body, "w", false); }),
              HasSubstr("answer nests arrays and objects deeper than 64 levels (limit)"));
  // Brackets inside strings do not count.
  const auto r = parse_records(R"({"ids":["[[[[\"[[["],"metadatas":[{"k":[[1]]}]})", "w", false);
  EXPECT_EQ(r.at(0).metadata.at("k"), "[[1]]");
  EXPECT_EQ(error_message(std::string(1000, '[')), "'" + std::string(120, '[') + "...'");
}

}  // namespace
}  // namespace fg::store::chroma
