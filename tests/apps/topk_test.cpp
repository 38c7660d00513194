#include "apps/topk.h"

#include <gtest/gtest.h>

namespace {

using fg::apps::TopKReport;

TEST(TopK, CountsRanksOfTheTrueIdentity) {
  TopKReport r;
  r.add_probe("amy", {"amy", "raj", "penny"});           // rank 1
  r.add_probe("amy", {"raj", "penny", "amy"});           // rank 3
  r.add_probe("raj", {"amy", "penny", "leo", "howard", "raj"});  // rank 5
  r.add_probe("raj", {"amy", "penny"});                  // miss
  r.add_failure("penny");                                // unreadable: a miss
  const auto& t = r.total();
  EXPECT_EQ(t.probes, 4);
  EXPECT_EQ(t.failed, 1);
  EXPECT_EQ(t.hits[0], 1);
  EXPECT_EQ(t.hits[1], 2);
  EXPECT_EQ(t.hits[2], 3);
  EXPECT_EQ(r.per_identity().at("amy").hits[1], 2);
  EXPECT_EQ(r.per_identity().at("raj").hits[0], 0);
  EXPECT_EQ(r.per_identity().at("penny").failed, 1);

  const auto j = r.to_json();
  EXPECT_EQ(j["probes"], 5);
  EXPECT_DOUBLE_EQ(j["top1"]["accuracy"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(j["top3"]["accuracy"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(j["top5"]["accuracy"].get<double>(), 0.6);
  const std::string table = r.table();
  const std::string last = table.substr(table.rfind('\n', table.size() - 2) + 1);
  EXPECT_EQ(last.substr(0, 4), "all ") << table;
  EXPECT_NE(last.find(" 5       1     20.00%     40.00%     60.00%"), std::string::npos) << table;
}

TEST(TopK, AnIdentityCountsOnceHoweverManyImagesItHas) {
  // The ranked list is of identities: the search already merged raj's images, so amy at
  // position 2 is rank 2 even if raj had five images closer than hers.
  TopKReport r;
  r.add_probe("amy", {"raj", "amy"});
  EXPECT_EQ(r.total().hits[0], 0);
  EXPECT_EQ(r.total().hits[1], 1);
}

}  // namespace
