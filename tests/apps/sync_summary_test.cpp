// facegate sync's closing lines: every count agrees with its noun, for one and for many.
#include <gtest/gtest.h>

#include "apps/sync_summary.h"

namespace {

using namespace fg::apps;

TEST(SyncSummary, ChromaPush) {
  fg::store::chroma::PushResult r;
  r.records = 1;
  r.upserted = 1;
  EXPECT_EQ(chroma_push_summary("http://h:8000/c", r), "chroma http://h:8000/c: 1 record, 1 upserted, 0 deleted\n");
  r.records = 24;
  r.deleted = 3;
  r.forgotten_elsewhere = 1;
  EXPECT_EQ(chroma_push_summary("c", r),
            "chroma c: 24 records, 1 upserted, 3 deleted, 1 identity not pushed (forgotten at another door)\n");
  r.forgotten_elsewhere = 2;
  EXPECT_NE(chroma_push_summary("c", r).find(", 2 identities not pushed"), std::string::npos);
}

TEST(SyncSummary, MongoPush) {
  fg::store::mongo::MongoPushResult r;
  r.identities = 1;
  r.events = 1;
  r.events_forgotten = 1;
  r.events_expired = 1;
  EXPECT_EQ(mongo_push_summary("mongodb://h", r),
            "mongo mongodb://h: 1 identity, 0 deleted, 1 event, 1 event of forgotten identities cleaned, "
            "1 expired event dropped\n");
  r.identities = 0;
  r.events = 2;
  r.events_forgotten = 0;
  r.events_expired = 3;
  r.forgotten_elsewhere = 1;
  EXPECT_EQ(mongo_push_summary("m", r),
            "mongo m: 0 identities, 0 deleted, 2 events, 0 events of forgotten identities cleaned, "
            "3 expired events dropped\n"
            "mongo: 1 local identity not pushed: forgotten at another door (sync --pull removes them here)\n");
}

TEST(SyncSummary, ChromaPull) {
  fg::store::chroma::PullResult r;
  r.identities = 1;
  r.added = 1;
  r.skipped_forgotten = 1;
  EXPECT_EQ(chroma_pull_summary("c", r),
            "chroma c: 1 identity, 1 image added, 1 forgotten identity skipped, 0 forgotten here\n");
  r.identities = 8;
  r.added = 24;
  r.skipped_forgotten = 0;
  EXPECT_EQ(chroma_pull_summary("c", r),
            "chroma c: 8 identities, 24 images added, 0 forgotten identities skipped, 0 forgotten here\n");
}

TEST(SyncSummary, MongoPull) {
  fg::store::mongo::MongoPullResult r;
  r.identities = 1;
  r.added = 1;
  r.skipped_forgotten = 1;
  r.forgotten = 1;
  EXPECT_EQ(mongo_pull_summary("m", r),
            "mongo m: 1 identity, 1 added, 1 forgotten identity skipped, 1 forgotten here\n");
  r.identities = 2;
  r.skipped_forgotten = 2;
  EXPECT_EQ(mongo_pull_summary("m", r),
            "mongo m: 2 identities, 1 added, 2 forgotten identities skipped, 1 forgotten here\n");
}

}  // namespace
