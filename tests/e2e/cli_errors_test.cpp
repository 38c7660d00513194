// Bad input to facegate convert / embed: a clear one-line error, a non-zero exit, no crash,
// and no partial output file.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using fg::test::sh_quote;

struct Result {
  int code;
  std::string out, err;
};

Result facegate(const std::string& args, const std::string& dir) {
  const std::string cmd = fg::test::facegate_binary() + " " + args + " > " + dir + "/stdout 2> " + dir + "/stderr";
  const int code = fg::test::run(cmd);
  return {code, fg::test::read_text(dir + "/stdout"), fg::test::read_text(dir + "/stderr")};
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

class CliErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_ = fg::test::resnet_fixture();
    if (fixture_.empty()) {
      if (fg::test::torch_python().empty())
        GTEST_SKIP() << "SKIPPED: python3-torch missing, no checkpoints to test with";
      FAIL() << "PyTorch is here but the fixture is not: run ctest, whose resnet_fixture test makes it";
    }
    ASSERT_FALSE(fg::test::facegate_binary().empty());
    dir_ = fg::test::scratch_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A failed conversion: non-zero (not a crash), one line on stderr naming the input and
  // containing `expect`, and no output file.
  void expect_convert_fails(const std::string& input, const std::string& expect) {
    const std::string out = dir_ + "/out.fgw";
    Result r = facegate("convert " + sh_quote(input) + " -o " + sh_quote(out), dir_);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(input), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(expect), std::string::npos) << "wanted '" << expect << "' in: " << r.err;
    EXPECT_FALSE(fs::exists(out));
    for (const auto& e : fs::directory_iterator(dir_)) {
      EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << "left behind: " << e.path();
    }
  }

  std::string converted() {
    const std::string fgw = dir_ + "/good.fgw";
    Result r = facegate("convert " + sh_quote(fixture_ + "/trainer.pt") + " -o " + sh_quote(fgw), dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    return fgw;
  }

  void expect_embed_fails(const std::string& model, const std::string& expect) {
    Result r = facegate("embed --model " + sh_quote(model) + " " + sh_quote(fixture_ + "/noise_a.png"), dir_);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(model), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(expect), std::string::npos) << "wanted '" << expect << "' in: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }

  std::string fixture_, dir_;
};

TEST_F(CliErrors, TruncatedCheckpoint) {
  const std::string whole = fg::test::read_text(fixture_ + "/trainer.pt");
  for (size_t cut : {size_t{0}, size_t{3}, size_t{100}, whole.size() / 2, whole.size() - 30}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    const std::string path = dir_ + "/truncated.pt";
    write_bytes(path, whole.substr(0, cut));
    expect_convert_fails(path, "");
  }
}

TEST_F(CliErrors, ZipThatIsNotACheckpoint) { expect_convert_fails(fixture_ + "/not_a_checkpoint.zip", "data.pkl"); }

TEST_F(CliErrors, OtherArchitecture) { expect_convert_fails(fixture_ + "/resnet18.pt", "unknown architecture"); }

TEST_F(CliErrors, MissingCheckpoint) { expect_convert_fails(dir_ + "/nothing.pt", "nothing.pt"); }

TEST_F(CliErrors, WeightsWithBadMagic) {
  const std::string fgw = converted();
  std::string bytes = fg::test::read_text(fgw);
  bytes.replace(0, 4, "GGUF");
  write_bytes(fgw, bytes);
  expect_embed_fails(fgw, "bad magic");
}

TEST_F(CliErrors, WeightsFromTheFuture) {
  const std::string fgw = converted();
  std::string bytes = fg::test::read_text(fgw);
  bytes[4] = 99;
  write_bytes(fgw, bytes);
  expect_embed_fails(fgw, "file is v99, this build reads v1..v2");
}

TEST_F(CliErrors, TruncatedWeights) {
  const std::string fgw = converted();
  const std::string bytes = fg::test::read_text(fgw);
  for (size_t cut : {size_t{10}, size_t{200}, bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    write_bytes(fgw, bytes.substr(0, cut));
    expect_embed_fails(fgw, "truncated");
  }
}

TEST_F(CliErrors, ImageThatIsNotAnImage) {
  const std::string fgw = converted();
  const std::string bad = dir_ + "/notes.jpg";
  write_bytes(bad, "this is text, not a JPEG\n");
  const std::string good = fixture_ + "/noise_c.png";
  Result r = facegate("embed --json --model " + sh_quote(fgw) + " " + sh_quote(bad) + " " +
                          sh_quote(dir_ + "/gone.png") + " " + sh_quote(good),
                      dir_);
  EXPECT_EQ(r.code, 1);
  std::istringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(lines, line)) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 3u) << r.out;
  EXPECT_EQ(rows[0]["image"], bad);
  EXPECT_NE(rows[0]["error"].get<std::string>().find("cannot decode"), std::string::npos);
  EXPECT_NE(rows[1]["error"].get<std::string>().find("no such file"), std::string::npos);
  EXPECT_EQ(rows[2]["image"], good);
  EXPECT_EQ(rows[2]["embedding"].size(), 512u);
}

TEST_F(CliErrors, UsageErrorsExitTwo) {
  EXPECT_EQ(facegate("convert", dir_).code, 2);
  EXPECT_EQ(facegate("embed --model", dir_).code, 2);
  EXPECT_EQ(facegate("embed --model x.fgw --threads zero a.png", dir_).code, 2);
  EXPECT_EQ(facegate("frobnicate", dir_).code, 2);
  EXPECT_EQ(facegate("report --db x --since 2026-12-01 --until 2026-11-01", dir_).code, 2);
  EXPECT_EQ(facegate("version --bogus", dir_).code, 2);
  EXPECT_EQ(facegate("version extra", dir_).code, 2);
  const auto help = facegate("version --help", dir_);
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage: facegate version"), std::string::npos) << help.out;
  for (const char* bad_url : {"sync --db x --push --chroma notaurl",
                              "identify --no-detect --model x.fgw --index https://h:8000/c a.png"}) {
    const Result r = facegate(bad_url, dir_);
    EXPECT_EQ(r.code, 2) << bad_url << ": " << r.err;
    EXPECT_NE(r.err.find(": ChromaDB URL '"), std::string::npos) << r.err;
  }
  const auto forgotten = facegate("list --db --json", dir_);
  EXPECT_EQ(forgotten.code, 2);
  EXPECT_NE(forgotten.err.find("--db needs a value, got the option --json"), std::string::npos) << forgotten.err;
}

// A --mongo URI (or $FACEGATE_MONGO_URI) that libmongoc cannot parse is bad usage, told before the
// model is loaded or the DB created, and without the password.
TEST_F(CliErrors, MongoUriThatDoesNotParseIsBadUsage) {
  const std::string db = dir_ + "/new-db", model = dir_ + "/none.fgw";
  // Assembled from parts so that no line of the repository looks like a credential.
  const std::string bad = std::string("mongodb://ann:") + "topsecret" + "@db.local:notaport/x";
  const std::string pull = "sync --pull --db " + sh_quote(db) + " --model " + sh_quote(model);
  Result r = facegate(pull + " --mongo " + sh_quote(bad), dir_);
  EXPECT_EQ(r.code, 2) << r.err;
  const std::string masked = std::string("mongodb://ann:") + "***" + "@db.local:notaport/x";
  EXPECT_NE(r.err.find("facegate sync: --mongo: MongoDB URI " + masked + ": Invalid host"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("topsecret"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db));

  const int code = fg::test::run("FACEGATE_MONGO_URI=" + sh_quote("mongdb://db.local/x") + " " +
                                 fg::test::facegate_binary() + " " + pull + " > /dev/null 2> " + dir_ + "/stderr");
  const std::string err = fg::test::read_text(dir_ + "/stderr");
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find("facegate sync: FACEGATE_MONGO_URI: MongoDB URI mongdb://db.local/x: Invalid URI Schema"),
            std::string::npos)
      << err;
  EXPECT_FALSE(fs::exists(db));
}

// Every line of `help` is printable ASCII (so its width is its length) and fits 80 columns.
void expect_fits_80_columns(const std::string& what, const std::string& help) {
  std::istringstream lines(help);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    const bool ascii = std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    EXPECT_TRUE(ascii) << what << " line " << number << " is not printable ASCII: " << line;
    EXPECT_LE(line.size(), 80u) << what << " line " << number << " is " << line.size() << " columns wide: " << line;
  }
}

// "facegate help CMD" is CMD's own help; the overview and every command's help fit an
// 80-column terminal.
TEST_F(CliErrors, HelpOfOneCommand) {
  const Result overview = facegate("help", dir_);
  EXPECT_EQ(overview.code, 0);
  expect_fits_80_columns("facegate --help", overview.out);
  EXPECT_EQ(facegate("--help", dir_).out, overview.out);
  for (const char* command : {"convert", "embed", "detect", "enroll", "identify", "list", "forget", "export-person",
                              "calibrate", "attend", "report", "sync", "prune", "version"}) {
    SCOPED_TRACE(command);
    EXPECT_NE(overview.out.find(std::string("  ") + command), std::string::npos) << overview.out;
    const Result own = facegate(std::string(command) + " --help", dir_);
    const Result asked = facegate(std::string("help ") + command, dir_);
    EXPECT_EQ(own.code, 0) << own.err;
    EXPECT_EQ(asked.code, 0) << asked.err;
    EXPECT_EQ(asked.out, own.out);
    EXPECT_NE(own.out.find(std::string("usage: facegate ") + command), std::string::npos) << own.out;
    expect_fits_80_columns(std::string("facegate ") + command + " --help", own.out);
  }
  const Result unknown = facegate("help frobnicate", dir_);
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos) << unknown.err;
}

}  // namespace
