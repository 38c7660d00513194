// Real accuracy of the dlib-resnet model from the npm registry on the shared people crops
// (8 people x 5 crops, 150 x 150): 3 enrolled and 2 probes per person via `facegate enroll
// --probes 2`, identity-level Top-1 >= 90%; and, leaving each person out of the gallery in
// turn, that person's photos come back "unknown" at the threshold `facegate calibrate` picks.
// The crops are already faces, so the asserted runs take them whole (--no-detect); the
// MTCNN + face-chip pipeline on the same crops is run and printed for comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/e2e/npm_weights.h"

namespace {

namespace fs = std::filesystem;
using fg::test::sh_quote;
using nlohmann::json;

class DlibAccuracy : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!fg::test::npm_models(model_, detector_, why)) FG_SKIP_OR_FAIL_IN_CI(why);
    data_ = fg::test::data_dir();
    if (data_.empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
    people_ = data_ + "/faces/people";
    dir_ =
        fg::test::scratch_dir(std::string("dlib-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Runs facegate; returns its exit code, stdout in `out`.
  int facegate(const std::string& args, std::string* out = nullptr) {
    const int code = fg::test::run(sh_quote(fg::test::facegate_binary()) + " " + args + " > " + dir_ + "/stdout 2> " +
                                   dir_ + "/stderr");
    if (out) *out = fg::test::read_text(dir_ + "/stdout");
    if (code != 0) std::printf("facegate %s\n%s", args.c_str(), fg::test::read_text(dir_ + "/stderr").c_str());
    return code;
  }

  // enroll --probes 2 --seed 42 of `gallery` into a fresh `db`; returns the report.
  json enroll(const std::string& gallery, const std::string& db, const std::string& faces) {
    const std::string report = dir_ + "/report.json";
    EXPECT_EQ(facegate("enroll " + sh_quote(gallery) + " --db " + sh_quote(db) + " --model " + sh_quote(model_) + " " +
                       faces + " --probes 2 --seed 42 --threads 2 --report " + sh_quote(report)),
              0);
    return json::parse(fg::test::read_text(report));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(people_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string model_, detector_, data_, people_, dir_;
};

TEST_F(DlibAccuracy, Top1OnThreeEnrolledTwoProbesPerPerson) {
  const json crops = enroll(people_, dir_ + "/db-crops", "--no-detect");
  const json mtcnn = enroll(people_, dir_ + "/db-mtcnn", "--detector " + sh_quote(detector_));
  const auto& t = crops["topk"];
  const auto& m = mtcnn["topk"];
  std::printf("dlib-resnet, %d probes (seed 42, 2 per identity, 3 enrolled):\n", t["probes"].get<int>());
  std::printf("  crops taken whole:    top-1 %.2f%%  top-3 %.2f%%  top-5 %.2f%%\n",
              100 * t["top1"]["accuracy"].get<double>(), 100 * t["top3"]["accuracy"].get<double>(),
              100 * t["top5"]["accuracy"].get<double>());
  std::printf("  MTCNN + dlib chip:    top-1 %.2f%%  top-3 %.2f%%  top-5 %.2f%%  (%d probes without a face)\n",
              100 * m["top1"]["accuracy"].get<double>(), 100 * m["top3"]["accuracy"].get<double>(),
              100 * m["top5"]["accuracy"].get<double>(), m["failed"].get<int>());
  EXPECT_EQ(t["probes"].get<int>(), 16);
  EXPECT_GE(t["top1"]["accuracy"].get<double>(), 0.9);
}

// A left-out person's photos through identify --json: how many came back unknown, of how
// many, and the accepted ones as "photo->name".
struct Verdicts {
  int unknown = 0, n = 0;
  std::string accepted;
};

Verdicts verdicts(const std::string& json_lines) {
  Verdicts v;
  std::istringstream lines(json_lines);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    ++v.n;
    const auto& face = j["faces"][0];
    if (face["unknown"].get<bool>()) {
      ++v.unknown;
    } else {
      v.accepted += " " + fs::path(j["image"].get<std::string>()).filename().string() + "->" +
                    face["matches"][0]["name"].get<std::string>();
    }
  }
  return v;
}

// Also run before calibrating: dlib-resnet's own default threshold (0.91, warned about) must
// already keep most strangers out; the generic 0.5 let every one of them in.
TEST_F(DlibAccuracy, LeftOutPersonIsUnknownAtCalibratedThreshold) {
  int unknown_total = 0, total = 0, people_all_unknown = 0, unknown_uncalibrated = 0;
  const auto all = names();
  ASSERT_EQ(all.size(), 8u);
  for (const std::string& out : all) {
    const std::string gallery = dir_ + "/without-" + out;
    for (const std::string& p : all)
      if (p != out) fs::create_directories(gallery), fs::create_directory_symlink(people_ + "/" + p, gallery + "/" + p);
    const std::string db = dir_ + "/db-without-" + out;
    enroll(gallery, db, "--no-detect");
    std::string images, text;
    for (const auto& e : fs::directory_iterator(people_ + "/" + out)) images += " " + sh_quote(e.path().string());
    const std::string identify = "identify" + images + " --db " + sh_quote(db) + " --model " + sh_quote(model_) +
                                 " --no-detect --top 1 --json --threads 2";
    ASSERT_EQ(facegate(identify, &text), 0);
    const Verdicts before = verdicts(text);
    const std::string warning = fg::test::read_text(dir_ + "/stderr");
    EXPECT_NE(warning.find("threshold 0.91 is dlib-resnet's default"), std::string::npos) << warning;
    ASSERT_EQ(facegate("calibrate --db " + sh_quote(db) + " --far 1e-3", &text), 0);
    const auto at = text.find("threshold");
    const std::string threshold = at == std::string::npos ? "?" : text.substr(at + 9, text.find('\n', at) - at - 9);
    ASSERT_EQ(facegate(identify, &text), 0);
    const Verdicts after = verdicts(text);
    std::printf("left out %-11s uncalibrated (0.91) unknown %d/%d; threshold %s  unknown %d/%d%s\n", out.c_str(),
                before.unknown, before.n, threshold.c_str(), after.unknown, after.n, after.accepted.c_str());
    unknown_total += after.unknown, total += after.n, people_all_unknown += after.unknown == after.n;
    unknown_uncalibrated += before.unknown;
  }
  std::printf("unknown: %d of %d photos (%.1f%%); every photo unknown for %d of 8 people; uncalibrated %d of %d\n",
              unknown_total, total, 100.0 * unknown_total / total, people_all_unknown, unknown_uncalibrated, total);
  // Measured: 34 of 40, 5 of 8 people (bench/RESULTS.md); amy, bernadette and penny are
  // confused with each other at a threshold calibrated on 21 images.
  EXPECT_GE(unknown_total, 0.8 * total);
  EXPECT_GE(people_all_unknown, 5);
  EXPECT_GE(unknown_uncalibrated, 0.7 * total);
}

}  // namespace
