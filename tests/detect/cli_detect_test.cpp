// `facegate convert pnet.pt rnet.pt onet.pt` and `facegate detect` end to end: output format,
// per-image errors that do not stop the others, crops, and bad usage.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using fg::test::sh_quote;

struct Result {
  int code;
  std::string out, err;
};

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class CliDetect : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = fg::test::data_dir();
    if (data_.empty() || fg::test::facegate_binary().empty()) return;
    dir_ = fg::test::scratch_dir("cli-detect");
    const std::string m = data_ + "/mtcnn/";
    weights_ = dir_ + "/mtcnn.fgw";
    convert_ = run("convert " + sh_quote(m + "pnet.pt") + " " + sh_quote(m + "rnet.pt") + " " +
                   sh_quote(m + "onet.pt") + " -o " + sh_quote(weights_));
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (data_.empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
    ASSERT_FALSE(fg::test::facegate_binary().empty()) << "no facegate binary (FACEGATE_BINARY)";
    ASSERT_EQ(convert_.code, 0) << convert_.err;
  }

  static Result run(const std::string& args) {
    const std::string cmd =
        fg::test::facegate_binary() + " " + args + " > " + dir_ + "/stdout 2> " + dir_ + "/stderr";
    const int code = fg::test::run(cmd);
    return {code, fg::test::read_text(dir_ + "/stdout"), fg::test::read_text(dir_ + "/stderr")};
  }
  static std::string photo(const std::string& name) { return data_ + "/faces/" + name; }

  static std::string data_, dir_, weights_;
  static Result convert_;
};
std::string CliDetect::data_, CliDetect::dir_, CliDetect::weights_;
Result CliDetect::convert_;

TEST_F(CliDetect, ConvertReportsTheThreeNets) {
  EXPECT_NE(convert_.out.find("mtcnn"), std::string::npos) << convert_.out;
  EXPECT_NE(convert_.out.find("wrote " + weights_), std::string::npos) << convert_.out;
}

TEST_F(CliDetect, JsonLinesMatchTheIssueFormat) {
  const auto golden = nlohmann::json::parse(fg::test::read_text(photo("mtcnn_golden.json")));
  const Result r = run("detect --detector " + sh_quote(weights_) + " --json --threads 2 " +
                       sh_quote(photo("group/bbt2.jpg")) + " " + sh_quote(photo("people/bernadette/bernadette5.png")));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 2u) << r.out;
  const auto first = nlohmann::json::parse(out[0]);
  EXPECT_EQ(first["image"], photo("group/bbt2.jpg"));
  EXPECT_EQ(first["width"], 675);
  EXPECT_EQ(first["height"], 469);
  const auto& want = golden["group/bbt2.jpg"]["faces"];
  ASSERT_EQ(first["faces"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& f = first["faces"][i];
    ASSERT_EQ(f["box"].size(), 4u);
    ASSERT_EQ(f["landmarks"].size(), 5u);
    ASSERT_EQ(f["landmarks"][0].size(), 2u);
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(f["box"][k].get<double>(), want[i]["box"][k].get<double>(), 0.05);
    EXPECT_NEAR(f["prob"].get<double>(), want[i]["prob"].get<double>(), 1e-3);
  }
  EXPECT_EQ(nlohmann::json::parse(out[1])["faces"].size(), 0u);  // bernadette5: no face, as the reference
}

TEST_F(CliDetect, BadImagesGetAnErrorLineAndTheOthersStillRun) {
  const std::string text = dir_ + "/notes.jpg";
  std::ofstream(text) << "not a jpeg";
  const std::string missing = dir_ + "/missing.png";
  const Result r = run("detect --detector " + sh_quote(weights_) + " --json " + sh_quote(missing) + " " +
                       sh_quote(photo("people/amy/amy1.png")) + " " + sh_quote(text));
  EXPECT_EQ(r.code, 1);
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 3u) << r.out;
  EXPECT_EQ(nlohmann::json::parse(out[0])["image"], missing);
  EXPECT_EQ(nlohmann::json::parse(out[0])["error"], "no such file");
  EXPECT_EQ(nlohmann::json::parse(out[1])["faces"].size(), 1u);
  EXPECT_NE(nlohmann::json::parse(out[2])["error"].get<std::string>().find("cannot decode"), std::string::npos);
  EXPECT_NE(r.err.find("2 of 3 images failed"), std::string::npos) << r.err;

  // Plain output: the error goes to stderr, the good image to stdout.
  const Result t = run("detect --detector " + sh_quote(weights_) + " " + sh_quote(text) + " " +
                       sh_quote(photo("people/amy/amy1.png")));
  EXPECT_EQ(t.code, 1);
  EXPECT_EQ(t.out.rfind(photo("people/amy/amy1.png") + "\t1 face\t150x150\n", 0), 0u) << t.out;
  EXPECT_EQ(lines(t.out).size(), 2u) << t.out;
  EXPECT_NE(t.err.find(text + ": cannot decode"), std::string::npos) << t.err;
}

TEST_F(CliDetect, SavesCropsForEachFace) {
  const std::string crops = dir_ + "/crops";
  for (const char* mode : {"box", "arcface"}) {
    fs::remove_all(crops);
    const Result r = run("detect --detector " + sh_quote(weights_) + " --save-crops " + sh_quote(crops) + " --align " +
                         mode + " " + sh_quote(photo("group/bbt2.jpg")) + " " + sh_quote(photo("people/amy/amy1.png")));
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* name : {"bbt2_1.png", "bbt2_4.png", "amy1_1.png"}) {
      const cv::Mat img = cv::imread(crops + "/" + name);
      ASSERT_FALSE(img.empty()) << mode << ": " << name;
      EXPECT_EQ(img.size(), cv::Size(112, 112));
    }
    EXPECT_FALSE(fs::exists(crops + "/bbt2_5.png"));
    // Face images: owner-only, whatever the umask.
    EXPECT_EQ(fs::status(crops).permissions(), fs::perms::owner_all);
    EXPECT_EQ(fs::status(crops + "/amy1_1.png").permissions(), fs::perms::owner_read | fs::perms::owner_write);
  }
}

TEST_F(CliDetect, BadUsageAndMissingWeights) {
  const std::string img = sh_quote(photo("people/amy/amy1.png"));
  Result r = run("detect " + img);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--detector"), std::string::npos) << r.err;
  r = run("detect --detector " + sh_quote(weights_) + " --min-face 5 " + img);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--min-face"), std::string::npos) << r.err;
  r = run("detect --detector " + sh_quote(weights_) + " --align tilted --save-crops " + sh_quote(dir_ + "/c") + " " +
          img);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("tilted"), std::string::npos) << r.err;
  const std::string missing = dir_ + "/none.fgw";
  r = run("detect --detector " + sh_quote(missing) + " " + img);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  // The detector's weights given as --model (whose crop --save-crops would use).
  r = run("detect --detector " + sh_quote(weights_) + " --model " + sh_quote(weights_) + " " + img);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(weights_ + ": arch 'mtcnn' has no crop to give --model: expected an embedding model"),
            std::string::npos)
      << r.err;
  // --save-crops naming a file: said before any detection, with the option's name.
  const std::string file = dir_ + "/a-file";
  std::ofstream(file) << "x";
  r = run("detect --detector " + sh_quote(weights_) + " --save-crops " + sh_quote(file) + " " + img);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--save-crops " + file + ": cannot create the directory"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(CliDetect, HelpSaysHowLargeImagesAreHandled) {
  const Result r = run("detect --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("4096"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--save-crops"), std::string::npos);
}

}  // namespace
