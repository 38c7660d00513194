#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>

#include "apps/attend/events.h"
#include "store/store.h"
#include "tests/support/test_env.h"

namespace {

using fg::apps::attend::Cooldown;

TEST(AttendCooldown, OneEventPerIdentityPerWindow) {
  Cooldown c(30);
  EXPECT_TRUE(c.admit("amy", 0));
  EXPECT_FALSE(c.admit("amy", 10));
  EXPECT_TRUE(c.admit("raj", 10)) << "per identity";
  EXPECT_FALSE(c.admit("amy", 29.999));
  EXPECT_TRUE(c.admit("amy", 30)) << "measured from the last admitted event";
  EXPECT_FALSE(c.admit("amy", 59));
  EXPECT_TRUE(c.admit("amy", 60.5));
}

TEST(AttendCooldown, SuppressedSightingsDoNotExtendTheWindow) {
  Cooldown c(5);
  EXPECT_TRUE(c.admit("amy", 0));
  for (double t = 1; t < 5; t += 1) EXPECT_FALSE(c.admit("amy", t));
  EXPECT_TRUE(c.admit("amy", 5));
}

TEST(AttendCooldown, SeenFromAnEarlierRunCounts) {
  Cooldown c(30);
  c.seen("amy", 100);
  c.seen("amy", 90);  // older: ignored
  EXPECT_FALSE(c.admit("amy", 120));
  EXPECT_TRUE(c.admit("amy", 130));
}

TEST(AttendCooldown, ZeroAdmitsEverythingAndNegativeIsRefused) {
  Cooldown c(0);
  EXPECT_TRUE(c.admit("amy", 1));
  EXPECT_TRUE(c.admit("amy", 1));
  EXPECT_THROW(Cooldown(-1), std::invalid_argument);
}

TEST(AttendEvents, Iso8601CarriesTheZone) {
  EXPECT_EQ(fg::apps::attend::iso8601(0, 0), "1970-01-01T00:00:00.000+00:00");
  EXPECT_EQ(fg::apps::attend::iso8601(1714554753123456, 7200), "2024-05-01T11:12:33.123+02:00");
  EXPECT_EQ(fg::apps::attend::iso8601(1714554753000000, -(5 * 3600 + 1800)), "2024-05-01T03:42:33.000-05:30");
  EXPECT_EQ(fg::apps::attend::iso8601(-1, 0), "1969-12-31T23:59:59.999+00:00");
}

TEST(AttendEvents, LogWritesTheStoreThenTheJsonLine) {
  namespace fs = std::filesystem;
  const std::string dir = fg::test::scratch_dir("attend-events-log");
  fg::store::OpenOptions o;
  o.create_if_missing = true;
  fg::store::Store s = fg::store::Store::open(dir + "/db", o);
  {
    fg::apps::attend::EventLog log(s, dir + "/events.jsonl");
    fg::store::Event known;
    known.time_us = 1714554753000000;
    known.camera = "door";
    known.identity_id = "amy-1";
    known.name = "amy";
    known.score = 0.75f;
    known.frames = 4;
    known.video_time_s = 1.5;
    log.record(known);
    fg::store::Event stranger;
    stranger.time_us = known.time_us + 1;
    stranger.camera = "door";
    stranger.kind = fg::store::EventKind::unknown;
    stranger.score = 0.2f;
    stranger.frames = 3;
    log.record(stranger);
  }
  const auto stored = s.events(INT64_MIN, INT64_MAX);
  ASSERT_EQ(stored.size(), 2u);
  std::istringstream lines(fg::test::read_text(dir + "/events.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["kind"], "attendance");
  EXPECT_EQ(j["id"], "amy-1");
  EXPECT_EQ(j["name"], "amy");
  EXPECT_EQ(j["camera"], "door");
  EXPECT_EQ(j["frames"], 4);
  EXPECT_DOUBLE_EQ(j["video_time"].get<double>(), 1.5);
  EXPECT_EQ(j["seq"], stored[0].seq);
  EXPECT_NEAR(j["score"].get<double>(), 0.75, 1e-6);
  ASSERT_TRUE(std::getline(lines, line));
  j = nlohmann::json::parse(line);
  EXPECT_EQ(j["kind"], "unknown");
  EXPECT_TRUE(j["id"].is_null());
  EXPECT_TRUE(j["name"].is_null());
  EXPECT_TRUE(j["video_time"].is_null());
  EXPECT_EQ(j["seq"], stored[1].seq);
  EXPECT_FALSE(std::getline(lines, line));
  fs::remove_all(dir);
}

// A name an older facegate stored from a Latin-1 folder name ("Ren\xE9e"), and a camera named
// so: written as the text "\xE9", so the line is valid UTF-8 (a strict dump does not throw).
TEST(AttendEvents, BytesThatAreNotUtf8AreWrittenEscaped) {
  fg::store::Event e;
  e.camera = "Caf\xe9 door";
  e.identity_id = "amy-1";
  e.name = "Ren\xe9" "e";
  const nlohmann::json j = fg::apps::attend::event_json(e);
  EXPECT_EQ(j["name"], "Ren\\xE9e");
  EXPECT_EQ(j["camera"], "Caf\\xE9 door");
  EXPECT_NO_THROW(j.dump());
}

TEST(AttendEvents, UnwritableJsonlFileIsAClearError) {
  const std::string dir = fg::test::scratch_dir("attend-events-bad");
  fg::store::OpenOptions o;
  o.create_if_missing = true;
  fg::store::Store s = fg::store::Store::open(dir + "/db", o);
  try {
    fg::apps::attend::EventLog log(s, dir + "/no/such/dir/events.jsonl");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/dir/events.jsonl"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
