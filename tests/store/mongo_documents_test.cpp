// facegate records <-> the prototype's MongoDB documents, BSON in and out, no server.
#include <gtest/gtest.h>

#include "store/mongo/documents.h"

namespace {

using namespace fg::store;
using fg::store::mongo::Bson;

std::string json_of(const Bson& b) {
  char* s = bson_as_canonical_extended_json(b.get(), nullptr);
  std::string out = s;
  bson_free(s);
  return out;
}

TEST(MongoDocuments, IdentityIsThePrototypesShape) {
  Identity who{"65f0c0ffee0000000000abcd", "Jane Doe", 0, R"({"probe_count": 2})", 0};
  const Bson doc = mongo::identity_document(who, 5);
  EXPECT_EQ(json_of(doc), R"({ "_id" : { "$oid" : "65f0c0ffee0000000000abcd" }, "name" : "Jane Doe", )"
                          R"("gallery_count" : { "$numberLong" : "5" }, "probe_count" : { "$numberLong" : "2" } })");
  const mongo::MongoIdentity back = mongo::identity_from_document(doc.get());
  EXPECT_EQ(back.identity.id, who.id);
  EXPECT_EQ(back.identity.name, "Jane Doe");
  EXPECT_EQ(back.gallery_count, 5u);
  EXPECT_EQ(back.identity.extra_json, R"({"probe_count":2})");
}

TEST(MongoDocuments, ReadsWhatPythonWrites) {
  // pymongo writes int32 counts; an id that is not an ObjectId stays a string.
  Bson doc(BCON_NEW("_id", BCON_UTF8("door-7"), "name", BCON_UTF8("Ann"), "gallery_count", BCON_INT32(3),
                    "probe_count", BCON_DOUBLE(1.0)));
  const auto m = mongo::identity_from_document(doc.get());
  EXPECT_EQ(m.identity.id, "door-7");
  EXPECT_EQ(m.gallery_count, 3u);
  EXPECT_EQ(json_of(mongo::id_filter("door-7")), R"({ "_id" : "door-7" })");
}

TEST(MongoDocuments, RejectsDocumentsThatAreNotIdentities) {
  Bson no_name(BCON_NEW("_id", BCON_UTF8("x")));
  EXPECT_THROW(mongo::identity_from_document(no_name.get()), std::invalid_argument);
  Bson no_id(BCON_NEW("name", BCON_UTF8("x")));
  EXPECT_THROW(mongo::identity_from_document(no_id.get()), std::invalid_argument);
  Bson bad_count(BCON_NEW("_id", BCON_UTF8("x"), "name", BCON_UTF8("x"), "gallery_count", BCON_UTF8("3")));
  EXPECT_THROW(mongo::identity_from_document(bad_count.get()), std::invalid_argument);
}

TEST(MongoDocuments, EventsRoundTrip) {
  Event e;
  e.seq = 42;
  e.time_us = 1717171717123456;
  e.utc_offset_s = 7200;
  e.camera = "door-1";
  e.kind = EventKind::attendance;
  e.identity_id = "65f0c0ffee0000000000abcd";
  e.name = "Jane Doe";
  e.score = 0.75f;
  e.frames = 9;
  e.video_time_s = 12.5;
  e.thumbnail_jpeg = {0xff, 0xd8, 0xff, 0xd9};
  const Bson doc = mongo::event_document(e, "db1");
  const std::string j = json_of(doc);
  EXPECT_NE(j.find(R"("_id" : "db1:42")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("time" : { "$date" : { "$numberLong" : "1717171717123" } })"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("identity_id" : { "$oid" : "65f0c0ffee0000000000abcd" })"), std::string::npos) << j;
  const Event b = mongo::event_from_document(doc.get());
  EXPECT_EQ(b.seq, e.seq);
  EXPECT_EQ(b.time_us, e.time_us);
  EXPECT_EQ(b.utc_offset_s, e.utc_offset_s);
  EXPECT_EQ(b.camera, e.camera);
  EXPECT_EQ(b.kind, e.kind);
  EXPECT_EQ(b.identity_id, e.identity_id);
  EXPECT_EQ(b.name, e.name);
  EXPECT_FLOAT_EQ(b.score, e.score);
  EXPECT_EQ(b.frames, e.frames);
  EXPECT_EQ(b.video_time_s, e.video_time_s);
  EXPECT_EQ(b.thumbnail_jpeg, e.thumbnail_jpeg);

  Event unknown;
  unknown.seq = 1;
  unknown.kind = EventKind::unknown;
  unknown.camera = "c";
  const Event u = mongo::event_from_document(mongo::event_document(unknown, "db1").get());
  EXPECT_EQ(u.kind, EventKind::unknown);
  EXPECT_FALSE(u.identity_id);
  EXPECT_FALSE(u.video_time_s);
  EXPECT_TRUE(u.thumbnail_jpeg.empty());
}

TEST(MongoDocuments, RejectsDocumentsThatAreNotEvents) {
  Bson doc(
      BCON_NEW("seq", BCON_INT64(1), "time", BCON_DATE_TIME(5), "camera", BCON_UTF8("c"), "kind", BCON_UTF8("party")));
  EXPECT_THROW(mongo::event_from_document(doc.get()), std::invalid_argument);
  Bson no_camera(BCON_NEW("seq", BCON_INT64(1), "time", BCON_DATE_TIME(5), "kind", BCON_UTF8("unknown")));
  EXPECT_THROW(mongo::event_from_document(no_camera.get()), std::invalid_argument);
}

}  // namespace
