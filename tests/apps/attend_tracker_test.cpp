#include <gtest/gtest.h>

#include "apps/attend/tracker.h"

namespace {

using fg::apps::attend::Box;
using fg::apps::attend::Observation;
using fg::apps::attend::Tracker;
using fg::apps::attend::TrackerOptions;

Box at(float x, float y, float side = 100) { return {x, y, x + side, y + side}; }

TEST(AttendTracker, Iou) {
  EXPECT_FLOAT_EQ(fg::apps::attend::iou(at(0, 0), at(0, 0)), 1.f);
  EXPECT_FLOAT_EQ(fg::apps::attend::iou(at(0, 0), at(200, 0)), 0.f);
  EXPECT_NEAR(fg::apps::attend::iou(at(0, 0), at(50, 0)), 5000.f / 15000.f, 1e-6);
}

TEST(AttendTracker, MovingFaceStaysOneTrackAndTwoFacesStayApart) {
  Tracker tr(TrackerOptions{});
  auto a = tr.update(0, {at(0, 0), at(300, 0)});
  ASSERT_EQ(tr.tracks().size(), 2u);
  const uint64_t left = tr.tracks()[a[0]].id, right = tr.tracks()[a[1]].id;
  for (int f = 1; f < 10; ++f) {
    // Listed in the other order, each moving 10 px a frame.
    auto b = tr.update(f, {at(300 - 10.f * f, 0), at(10.f * f, 0)});
    ASSERT_EQ(tr.tracks().size(), 2u);
    EXPECT_EQ(tr.tracks()[b[0]].id, right);
    EXPECT_EQ(tr.tracks()[b[1]].id, left);
  }
  EXPECT_EQ(tr.tracks()[0].frames, 10u);
}

TEST(AttendTracker, TrackSurvivesShortGapsAndIsDroppedAfterLongOnes) {
  TrackerOptions o;
  o.max_missed = 3;
  Tracker tr(o);
  const uint64_t id = tr.tracks()[tr.update(0, {at(0, 0)})[0]].id;
  tr.update(1, {});
  tr.update(2, {});
  EXPECT_EQ(tr.tracks()[tr.update(3, {at(5, 0)})[0]].id, id) << "missed 2 frames: same track";
  tr.update(7, {});
  EXPECT_TRUE(tr.tracks().empty()) << "missed 4 frames: gone";
  EXPECT_NE(tr.tracks()[tr.update(8, {at(5, 0)})[0]].id, id);
}

TEST(AttendTracker, DecidesOnlyAfterConfirmFramesAgree) {
  TrackerOptions o;
  o.confirm_frames = 3;
  Tracker tr(o);
  size_t t = tr.update(0, {at(0, 0)})[0];
  EXPECT_FALSE(tr.observe(t, 0, {"amy", 0.9f}));
  t = tr.update(1, {at(0, 0)})[0];
  EXPECT_FALSE(tr.observe(t, 1, {"amy", 0.8f}));
  t = tr.update(2, {at(0, 0)})[0];
  EXPECT_FALSE(tr.observe(t, 2, {"", 0.3f})) << "a disagreeing frame restarts the count";
  t = tr.update(3, {at(0, 0)})[0];
  EXPECT_FALSE(tr.observe(t, 3, {"amy", 0.9f}));
  t = tr.update(4, {at(0, 0)})[0];
  EXPECT_FALSE(tr.observe(t, 4, {"amy", 0.9f}));
  t = tr.update(5, {at(0, 0)})[0];
  auto d = tr.observe(t, 5, {"amy", 0.6f});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->label, "amy");
  EXPECT_NEAR(d->score, 0.8f, 1e-6);
  t = tr.update(6, {at(0, 0)})[0];
  EXPECT_FALSE(tr.observe(t, 6, {"amy", 0.9f})) << "decided once, not again";
}

TEST(AttendTracker, UnknownIsADecisionToo) {
  TrackerOptions o;
  o.confirm_frames = 2;
  Tracker tr(o);
  size_t t = tr.update(0, {at(0, 0)})[0];
  tr.observe(t, 0, {"", 0.2f});
  t = tr.update(1, {at(0, 0)})[0];
  auto d = tr.observe(t, 1, {"", 0.4f});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->label, "");
}

TEST(AttendTracker, DecidedTrackIsReEmbeddedOnlyWhenNeeded) {
  TrackerOptions o;
  o.confirm_frames = 1;
  o.refresh_frames = 10;
  Tracker tr(o);
  size_t t = tr.update(0, {at(0, 0)})[0];
  EXPECT_TRUE(tr.needs_identification(tr.tracks()[t], 0)) << "undecided";
  ASSERT_TRUE(tr.observe(t, 0, {"amy", 0.9f}));
  for (int f = 1; f < 10; ++f) {
    t = tr.update(f, {at(static_cast<float>(f), 0)})[0];
    EXPECT_FALSE(tr.needs_identification(tr.tracks()[t], f)) << "frame " << f;
  }
  t = tr.update(10, {at(10, 0)})[0];
  EXPECT_TRUE(tr.needs_identification(tr.tracks()[t], 10)) << "stale";
  tr.observe(t, 10, {"amy", 0.9f});
  t = tr.update(11, {at(50, 0)})[0];
  EXPECT_TRUE(tr.needs_identification(tr.tracks()[t], 11)) << "moved: IoU with the embedded box < 0.5";
  tr.observe(t, 11, {"raj", 0.9f});
  EXPECT_EQ(tr.tracks()[t].decision->label, "raj") << "with confirm_frames 1 one frame re-decides";
}

TEST(AttendTracker, DisagreementAfterDecisionAsksForMoreFrames) {
  TrackerOptions o;
  o.confirm_frames = 2;
  Tracker tr(o);
  size_t t = 0;
  for (int f = 0; f < 2; ++f) {
    t = tr.update(f, {at(0, 0)})[0];
    tr.observe(t, f, {"amy", 0.9f});
  }
  ASSERT_TRUE(tr.tracks()[t].decision);
  t = tr.update(2, {at(0, 0)})[0];
  EXPECT_FALSE(tr.needs_identification(tr.tracks()[t], 2));
  t = tr.update(3, {at(0, 0)})[0];
  tr.observe(t, 3, {"raj", 0.9f});
  t = tr.update(4, {at(0, 0)})[0];
  EXPECT_TRUE(tr.needs_identification(tr.tracks()[t], 4));
  auto d = tr.observe(t, 4, {"raj", 0.9f});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->label, "raj");
}

}  // namespace
