// Where attend's annotated video puts a box's label: never cut off by the frame's edges.
#include <gtest/gtest.h>

#include "apps/attend/annotate.h"

namespace {

using fg::apps::attend::Box;
using fg::apps::attend::label_origin;

const cv::Size kFrame(640, 480);
const cv::Size kText(90, 12);  // a label's size; putText's origin is its baseline's left end
constexpr int kBaseline = 4;

// The label's pixels, from its top to the bottom of its descenders.
cv::Rect label_at(const Box& box) {
  const cv::Point o = label_origin(box, kText, kBaseline, kFrame);
  return {o.x, o.y - kText.height, kText.width, kText.height + kBaseline};
}

bool inside_frame(const cv::Rect& r) { return (r & cv::Rect({0, 0}, kFrame)) == r; }

TEST(LabelOrigin, AboveTheBoxWhenThereIsRoom) {
  const cv::Rect r = label_at({100, 200, 180, 280});
  EXPECT_EQ(r.x, 100);
  EXPECT_LE(r.y + r.height, 200 + kBaseline);  // the text's baseline is above the box's top
  EXPECT_GT(r.y, 200 - 40) << "right above the box, not far from it";
}

TEST(LabelOrigin, InsideTheTopOfABoxAtTheFramesTopEdge) {
  for (const float top : {-30.f, 0.f, 5.f, 12.f}) {
    SCOPED_TRACE(top);
    const cv::Rect r = label_at({100, top, 180, top + 80});
    EXPECT_TRUE(inside_frame(r)) << r;
    EXPECT_GE(r.y, static_cast<int>(std::max(top, 0.f))) << "inside the box, below its top edge";
  }
}

TEST(LabelOrigin, KeptInsideTheLeftAndRightEdges) {
  EXPECT_TRUE(inside_frame(label_at({600, 200, 660, 260})));
  EXPECT_EQ(label_at({600, 200, 660, 260}).x, kFrame.width - kText.width);
  EXPECT_EQ(label_at({-20, 200, 40, 260}).x, 0);
}

TEST(LabelOrigin, ABoxAtTheBottomKeepsItsDescendersInTheFrame) {
  EXPECT_TRUE(inside_frame(label_at({100, 5, 180, 640}))) << "a box taller than the frame";
  EXPECT_TRUE(inside_frame(label_at({100, 478, 180, 560})));
}

}  // namespace
