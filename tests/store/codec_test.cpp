#include "store/codec.h"

#include <gtest/gtest.h>

namespace {

using namespace fg::store;
using detail::DecodeError;

TEST(StoreCodec, IdentityRoundTrips) {
  Identity in{"abc", "Zoë Ñandú 山田", 1700000000123456, R"({"dept":"R&D"})", 7};
  Identity out = detail::decode_identity("abc", detail::encode_identity(in));
  EXPECT_EQ(out.id, "abc");
  EXPECT_EQ(out.name, in.name);
  EXPECT_EQ(out.created_us, in.created_us);
  EXPECT_EQ(out.extra_json, in.extra_json);
  EXPECT_EQ(out.image_count, 0u);  // derived, not stored
}

TEST(StoreCodec, EmbeddingRoundTripsWithAndWithoutBox) {
  EmbeddingRecord in;
  in.identity_id = "id1";
  in.label = 0x0102030405060708ull;
  in.image_path = "a/b.jpg";
  in.content_hash = std::string(64, 'f');
  in.model_id = "m";
  in.embedding = {0.5f, -1.25f, 3e-8f};
  in.enrolled_us = -5;
  for (bool with_box : {false, true}) {
    if (with_box) in.box = std::array<float, 4>{1.f, 2.f, 30.5f, 40.25f};
    EmbeddingRecord out = detail::decode_embedding(detail::encode_embedding(in));
    EXPECT_EQ(out.identity_id, in.identity_id);
    EXPECT_EQ(out.label, in.label);
    EXPECT_EQ(out.image_path, in.image_path);
    EXPECT_EQ(out.content_hash, in.content_hash);
    EXPECT_EQ(out.model_id, in.model_id);
    EXPECT_EQ(out.embedding, in.embedding);
    EXPECT_EQ(out.enrolled_us, in.enrolled_us);
    EXPECT_EQ(out.box, in.box);
  }
}

TEST(StoreCodec, EventRoundTripsOptionalFields) {
  Event in;
  in.seq = 9;
  in.time_us = 1700000000000000;
  in.utc_offset_s = -5 * 3600;
  in.camera = "door-1";
  in.kind = EventKind::unknown;
  in.name = "unknown";
  in.score = 0.31f;
  in.frames = 12;
  Event out = detail::decode_event(detail::encode_event(in));
  EXPECT_EQ(out.seq, 9u);
  EXPECT_EQ(out.utc_offset_s, in.utc_offset_s);
  EXPECT_EQ(out.kind, EventKind::unknown);
  EXPECT_FALSE(out.identity_id);
  EXPECT_FALSE(out.video_time_s);
  EXPECT_TRUE(out.thumbnail_jpeg.empty());

  in.identity_id = "id1";
  in.video_time_s = 12.5;
  in.thumbnail_jpeg = {0xff, 0xd8, 0x00, 0xff, 0xd9};
  out = detail::decode_event(detail::encode_event(in));
  EXPECT_EQ(out.identity_id, in.identity_id);
  EXPECT_EQ(out.video_time_s, in.video_time_s);
  EXPECT_EQ(out.thumbnail_jpeg, in.thumbnail_jpeg);
  EXPECT_EQ(out.score, in.score);
  EXPECT_EQ(out.frames, 12u);
}

TEST(StoreCodec, EveryTruncationIsADecodeError) {
  EmbeddingRecord rec;
  rec.identity_id = "id";
  rec.embedding = {1.f, 2.f};
  rec.box = std::array<float, 4>{};
  const std::string bytes = detail::encode_embedding(rec);
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(detail::decode_embedding(bytes.substr(0, n)), DecodeError) << "length " << n;
  EXPECT_THROW(detail::decode_embedding(bytes + "x"), DecodeError);
}

TEST(StoreCodec, UnknownRecordVersionIsRefusedWithBothVersions) {
  std::string bytes = detail::encode_identity(Identity{"x", "n", 1, "", 0});
  bytes[0] = 2;
  try {
    detail::decode_identity("x", bytes);
    FAIL() << "no error";
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "record version 2, this build reads 1");
  }
}

TEST(StoreCodec, BigEndianKeysSortNumerically) {
  EXPECT_LT(detail::be_u64(255), detail::be_u64(256));
  EXPECT_EQ(detail::read_be_u64(detail::be_u64(0xdeadbeefcafeull)), 0xdeadbeefcafeull);
  EXPECT_EQ(detail::read_le_u64(detail::le_u64(42)), 42u);
  EXPECT_EQ(detail::le_u32(1), std::string("\x01\0\0\0", 4));
}

}  // namespace
