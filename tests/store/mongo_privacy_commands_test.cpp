// What MongoDB push sends for forget and retention, and that error messages about documents
// never carry their values (a thumbnail is a face). No server needed.
#include <gtest/gtest.h>

#include "store/mongo/documents.h"
#include "store/mongo/privacy_commands.h"

namespace {

using namespace fg::store;
using fg::store::mongo::Bson;
using fg::store::mongo::Op;

std::string json_of(const Bson& b) {
  char* s = bson_as_canonical_extended_json(b.get(), nullptr);
  std::string out = s;
  bson_free(s);
  return out;
}

TEST(MongoPrivacyCommands, ForgetKeepingEventsRecordsATombstoneDeletesTheIdentityAndStripsThumbnails) {
  const auto cmds = mongo::forget_commands("65f0c0ffee0000000000abcd", 1717171717000000, false);
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_STREQ(cmds[0].collection, "forgotten");
  EXPECT_EQ(cmds[0].op, Op::upsert_one);
  EXPECT_EQ(json_of(cmds[0].filter), R"({ "_id" : { "$oid" : "65f0c0ffee0000000000abcd" } })");
  EXPECT_EQ(
      json_of(cmds[0].document),
      R"({ "_id" : { "$oid" : "65f0c0ffee0000000000abcd" }, "forgotten_us" : { "$numberLong" : "1717171717000000" } })");
  EXPECT_STREQ(cmds[1].collection, "identities");
  EXPECT_EQ(cmds[1].op, Op::delete_many);
  EXPECT_EQ(json_of(cmds[1].filter), R"({ "_id" : { "$oid" : "65f0c0ffee0000000000abcd" } })");
  EXPECT_STREQ(cmds[2].collection, "events");
  EXPECT_EQ(cmds[2].op, Op::update_many);
  EXPECT_EQ(json_of(cmds[2].filter),
            R"({ "identity_id" : { "$oid" : "65f0c0ffee0000000000abcd" }, "thumbnail" : { "$exists" : true } })");
  EXPECT_EQ(json_of(cmds[2].document), R"({ "$unset" : { "thumbnail" : "" } })");
}

TEST(MongoPrivacyCommands, ForgetWithPurgeDeletesTheEventsOfAStringId) {
  const auto cmds = mongo::forget_commands("ann-1", 5, true);
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(json_of(cmds[0].filter), R"({ "_id" : "ann-1" })");
  EXPECT_STREQ(cmds[2].collection, "events");
  EXPECT_EQ(cmds[2].op, Op::delete_many);
  EXPECT_EQ(json_of(cmds[2].filter), R"({ "identity_id" : "ann-1" })");
}

TEST(MongoPrivacyCommands, RetentionDropsOnlyThisDbsOlderEvents) {
  const auto c = mongo::retention_command("0123abcd", 1700000000000000);
  EXPECT_STREQ(c.collection, "events");
  EXPECT_EQ(c.op, Op::delete_many);
  EXPECT_EQ(json_of(c.filter), R"({ "_id" : { "$regex" : "^0123abcd:" }, )"
                               R"("time_us" : { "$lt" : { "$numberLong" : "1700000000000000" } } })");
  // The filter's prefix matches the ids event_document gives this DB's events.
  EXPECT_EQ(mongo::event_id("0123abcd", 7).rfind("0123abcd:", 0), 0u);
}

TEST(MongoPrivacyCommands, ForgottenDocumentsGiveBackTheirId) {
  EXPECT_EQ(
      mongo::forgotten_id_from_document(mongo::forget_commands("65f0c0ffee0000000000abcd", 1, false)[0].document.get()),
      "65f0c0ffee0000000000abcd");
  EXPECT_EQ(mongo::forgotten_id_from_document(mongo::forget_commands("ann-1", 1, false)[0].document.get()), "ann-1");
  Bson bad(BCON_NEW("_id", BCON_INT32(3)));
  EXPECT_THROW(mongo::forgotten_id_from_document(bad.get()), std::invalid_argument);
}

TEST(MongoPrivacyCommands, ErrorsAboutADocumentNameItsFieldsNotItsValues) {
  // An event without a camera, carrying a thumbnail whose bytes must not reach the message.
  const std::string secret = "JPEG-FACE-BYTES-1234567890";
  Bson doc(BCON_NEW("seq", BCON_INT64(1), "time_us", BCON_INT64(5), "kind", BCON_UTF8("unknown")));
  BSON_APPEND_BINARY(doc.get(), "thumbnail", BSON_SUBTYPE_BINARY, reinterpret_cast<const uint8_t*>(secret.data()),
                     static_cast<uint32_t>(secret.size()));
  try {
    mongo::event_from_document(doc.get());
    ADD_FAILURE() << "an event without a camera was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("thumbnail: binary"), std::string::npos) << what;
    EXPECT_EQ(what.find("SlBFRy1GQUNF"), std::string::npos) << "base64 of the thumbnail in: " << what;
    EXPECT_EQ(what.find(secret), std::string::npos) << what;
  }
}

}  // namespace
