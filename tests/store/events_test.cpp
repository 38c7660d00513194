#include <gtest/gtest.h>

#include "store/store.h"
#include "tests/store/store_fixture.h"
#include "tests/support/test_env.h"

namespace {

using namespace fg::store;
using fg::test::create;
using fg::test::scratch_dir;

Event event_at(int64_t t, const std::string& camera, const std::string& name) {
  Event e;
  e.time_us = t;
  e.camera = camera;
  e.name = name;
  return e;
}

std::vector<std::string> names(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.name);
  return out;
}

TEST(StoreEvents, RangeScanIsHalfOpenTimeOrderedAndFiltersCamera) {
  const std::string db = scratch_dir("events-range") + "/db";
  {
    Store s = Store::open(db, create());
    // Appended out of time order, and one before 1970.
    for (auto [t, cam, name] : std::vector<std::tuple<int64_t, std::string, std::string>>{
             {300, "gate", "c"}, {100, "door", "a"}, {200, "gate", "b"}, {300, "door", "d"}, {-50, "door", "z"},
             {400, "door", "e"}}) {
      Event e = event_at(t, cam, name);
      s.append_event(e, /*sync=*/false);
    }
  }
  Store s = Store::open(db);
  EXPECT_EQ(names(s.events(INT64_MIN, INT64_MAX)), (std::vector<std::string>{"z", "a", "b", "c", "d", "e"}));
  EXPECT_EQ(names(s.events(100, 400)), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(names(s.events(101, 300)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(names(s.events(0, 1000, "door")), (std::vector<std::string>{"a", "d", "e"}));
  EXPECT_TRUE(s.events(500, 100).empty());
  // Same timestamp: append order (seq) breaks the tie.
  auto at300 = s.events(300, 301);
  ASSERT_EQ(at300.size(), 2u);
  EXPECT_LT(at300[0].seq, at300[1].seq);
}

TEST(StoreEvents, SeqKeepsIncreasingAcrossReopens) {
  const std::string db = scratch_dir("events-seq") + "/db";
  uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    Store s = Store::open(db, create());
    Event e = event_at(round, "cam", "x");
    const uint64_t seq = s.append_event(e);
    EXPECT_EQ(seq, e.seq);
    EXPECT_GT(seq, last);
    last = seq;
  }
  EXPECT_EQ(last, 3u);
}

TEST(StoreEvents, AllFieldsSurvive) {
  const std::string db = scratch_dir("events-fields") + "/db";
  Event in = event_at(1'700'000'000'000'000, "lobby", "Ana");
  in.utc_offset_s = 3600;
  in.kind = EventKind::attendance;
  in.identity_id = "abc";
  in.score = 0.71f;
  in.frames = 9;
  in.video_time_s = 61.5;
  in.thumbnail_jpeg = {0xff, 0xd8, 0xff, 0xd9};
  {
    Store s = Store::open(db, create());
    s.append_event(in);
    Event no_camera;
    EXPECT_THROW(s.append_event(no_camera), StoreError);
  }
  auto out = Store::open(db).events(in.time_us, in.time_us + 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].identity_id, in.identity_id);
  EXPECT_EQ(out[0].utc_offset_s, 3600);
  EXPECT_EQ(out[0].score, in.score);
  EXPECT_EQ(out[0].frames, 9u);
  EXPECT_EQ(out[0].video_time_s, 61.5);
  EXPECT_EQ(out[0].thumbnail_jpeg, in.thumbnail_jpeg);
}

}  // namespace
