// The box arithmetic and NMS flavours of facenet-pytorch's MTCNN, on hand-computed cases.
#include <gtest/gtest.h>

#include "detect/boxes.h"

namespace fg::detect {
namespace {

Candidate box(float x1, float y1, float x2, float y2, float score = 0.9f) {
  Candidate c;
  c.box[0] = x1, c.box[1] = y1, c.box[2] = x2, c.box[3] = y2;
  c.score = score;
  return c;
}

TEST(Boxes, SquareGrowsTheShortSideAroundTheCentre) {
  Candidate c = box(10, 20, 30, 60);  // 20 wide, 40 tall
  square(c);
  EXPECT_FLOAT_EQ(c.box[0], 0);
  EXPECT_FLOAT_EQ(c.box[1], 20);
  EXPECT_FLOAT_EQ(c.box[2], 40);
  EXPECT_FLOAT_EQ(c.box[3], 60);
}

TEST(Boxes, StageOneRegressionUsesSidesWithoutPlusOne) {
  Candidate c = box(10, 10, 20, 30);
  c.reg[0] = 0.1f, c.reg[1] = -0.5f, c.reg[2] = 0.2f, c.reg[3] = 0.0f;
  regress_pnet(c);  // w = 10, h = 20
  EXPECT_FLOAT_EQ(c.box[0], 11);
  EXPECT_FLOAT_EQ(c.box[1], 0);
  EXPECT_FLOAT_EQ(c.box[2], 22);
  EXPECT_FLOAT_EQ(c.box[3], 30);
  Candidate d = box(10, 10, 20, 30);
  d.reg[0] = 0.1f, d.reg[1] = -0.5f, d.reg[2] = 0.2f;
  regress(d);  // w = 11, h = 21
  EXPECT_FLOAT_EQ(d.box[0], 11.1f);
  EXPECT_FLOAT_EQ(d.box[1], -0.5f);
  EXPECT_FLOAT_EQ(d.box[2], 22.2f);
}

TEST(Boxes, CropRegionTruncatesAndClipsOneBased) {
  // Inside: x in [trunc(x1), trunc(x2)] 1-based, i.e. columns [x1 - 1, x2).
  Region r = crop_region(box(10.9f, 5.2f, 40.7f, 30.0f), 100, 50);
  EXPECT_EQ(r.x0, 9);
  EXPECT_EQ(r.y0, 4);
  EXPECT_EQ(r.x1, 40);
  EXPECT_EQ(r.y1, 30);
  // Past the edges: clipped (truncation toward zero: -0.7 -> 0 -> clipped to 1).
  r = crop_region(box(-0.7f, -12.0f, 130.0f, 55.5f), 100, 50);
  EXPECT_EQ(r.x0, 0);
  EXPECT_EQ(r.y0, 0);
  EXPECT_EQ(r.x1, 100);
  EXPECT_EQ(r.y1, 50);
  EXPECT_FALSE(r.empty());
  EXPECT_TRUE(crop_region(box(120, 10, 150, 20), 100, 50).empty());
  EXPECT_TRUE(crop_region(box(-30, 10, -5, 20), 100, 50).empty());
}

TEST(Nms, UnionSuppressesAboveThresholdOnly) {
  // IoU(a, b) = 50 / 150 = 1/3 exactly; c is disjoint.
  const std::vector<Candidate> c = {box(0, 0, 10, 10, 0.8f), box(5, 0, 15, 10, 0.9f), box(20, 20, 30, 30, 0.7f)};
  EXPECT_EQ(nms_union(c, 0.3), (std::vector<int>{1, 2}));
  EXPECT_EQ(nms_union(c, 0.5), (std::vector<int>{1, 0, 2}));
  EXPECT_TRUE(nms_union({}, 0.5).empty());
}

TEST(Nms, UnionTiesKeepTheFirst) {
  const std::vector<Candidate> c = {box(0, 0, 10, 10, 1.0f), box(1, 1, 11, 11, 1.0f)};
  EXPECT_EQ(nms_union(c, 0.5), (std::vector<int>{0}));
}

TEST(Nms, MinUsesTheSmallerAreaWithPlusOne) {
  // b inside a: intersection = area(b) -> overlap 1 under 'Min' (IoU would be small).
  const std::vector<Candidate> c = {box(0, 0, 99, 99, 0.9f), box(10, 10, 29, 29, 0.95f), box(200, 0, 210, 10, 0.5f)};
  EXPECT_EQ(nms_min(c, 0.7f), (std::vector<int>{1, 2}));
  // Overlap exactly at the threshold is kept: 11 x 11 boxes sharing 11 x 5 -> 55/121.
  const std::vector<Candidate> d = {box(0, 0, 10, 10, 0.9f), box(6, 0, 16, 10, 0.8f)};
  EXPECT_EQ(nms_min(d, 55.0f / 121.0f), (std::vector<int>{0, 1}));
  EXPECT_EQ(nms_min(d, 0.45f), (std::vector<int>{0}));
}

TEST(Nms, MinTiesTakeTheLastFirst) {
  const std::vector<Candidate> c = {box(0, 0, 10, 10, 1.0f), box(1, 1, 11, 11, 1.0f)};
  EXPECT_EQ(nms_min(c, 0.7f), (std::vector<int>{1}));
}

}  // namespace
}  // namespace fg::detect
