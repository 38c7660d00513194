// The prototype's ChromaDB layout, without a server.
#include <gtest/gtest.h>

#include "store/chroma/error.h"
#include "store/chroma/layout.h"

namespace {

using namespace fg::store::chroma;

Record record(const std::string& id, const std::string& mongo_id, const std::string& name, size_t dim) {
  return {id, std::vector<float>(dim, 0.5f), {{"mongo_id", mongo_id}, {"identity_name", name}}};
}

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ChromaError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no ChromaError";
  return ErrorKind::protocol;
}

TEST(ChromaLayout, RecordIdsAndMetadataFollowThePrototype) {
  EXPECT_EQ(record_id("65f0c0ffee0000000000abcd", 3), "65f0c0ffee0000000000abcd_3");
  const Metadata m = record_metadata("65f0c0ffee0000000000abcd", "Jane Doe");
  EXPECT_EQ(m, (Metadata{{"mongo_id", "65f0c0ffee0000000000abcd"}, {"identity_name", "Jane Doe"}}));
  EXPECT_EQ(collection_metadata("resnet50:ab").at("hnsw:space"), "cosine");
  EXPECT_EQ(collection_metadata("resnet50:ab").at("facegate:model"), "resnet50:ab");
}

TEST(ChromaLayout, DecodesARecord) {
  const GalleryImage g = decode_record(record("abc_12", "abc", "Ann", 4), 4);
  EXPECT_EQ(g.identity_id, "abc");
  EXPECT_EQ(g.name, "Ann");
  EXPECT_EQ(g.position, 12u);
  EXPECT_EQ(g.embedding.size(), 4u);
  // An id whose mongo_id itself holds '_' still splits at the right place.
  EXPECT_EQ(decode_record(record("a_b_7", "a_b", "Ann", 4), 0).position, 7u);
}

TEST(ChromaLayout, RejectsRecordsOffTheLayout) {
  EXPECT_EQ(kind_of([] { decode_record(record("abc_1", "abc", "Ann", 3), 4); }), ErrorKind::invalid);
  EXPECT_EQ(kind_of([] { decode_record(record("abc", "abc", "Ann", 4), 4); }), ErrorKind::invalid);
  EXPECT_EQ(kind_of([] { decode_record(record("xyz_1", "abc", "Ann", 4), 4); }), ErrorKind::invalid);
  EXPECT_EQ(kind_of([] { decode_record(record("abc_x", "abc", "Ann", 4), 4); }), ErrorKind::invalid);
  EXPECT_EQ(kind_of([] { decode_record(record("abc_1", "abc", "", 4), 4); }), ErrorKind::invalid);
  EXPECT_EQ(kind_of([] { decode_record({"abc_1", {1.f}, {}}, 1); }), ErrorKind::invalid);
}

TEST(ChromaLayout, ChecksMetricDimensionAndModel) {
  Collection c{"uuid", "face_embeddings", {{"hnsw:space", "cosine"}}, 512, "cosine"};
  EXPECT_NO_THROW(check_collection(c, 512, "m1"));
  EXPECT_EQ(collection_model(c), "");
  c.space = "l2";
  EXPECT_EQ(kind_of([&] { check_collection(c, 512, "m1"); }), ErrorKind::mismatch);
  c.space = "cosine";
  EXPECT_EQ(kind_of([&] { check_collection(c, 128, "m1"); }), ErrorKind::mismatch);
  c.metadata["facegate:model"] = "m2";
  try {
    check_collection(c, 512, "m1");
    ADD_FAILURE();
  } catch (const ChromaError& e) {
    EXPECT_NE(std::string(e.what()).find("m2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("m1"), std::string::npos) << e.what();
  }
  c.dimension.reset();
  c.metadata["facegate:model"] = "m1";
  EXPECT_NO_THROW(check_collection(c, 128, "m1"));
}

}  // namespace
