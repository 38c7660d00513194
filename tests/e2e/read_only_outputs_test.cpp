// Outputs that cannot be written are refused before the work, with the system's reason: on a
// read-only disk (a tmpfs mounted read-only in a mount namespace), enroll --report, calibrate
// --plot, report --csv / --thumbnails and detect --save-crops fail at once, and the DB is
// left as it was.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/store.h"
#include "tests/e2e/e2e_suite.h"

namespace {

namespace fs = std::filesystem;
using fg::test::sh_quote;

struct Suite {
  std::string data, dir, model, mtcnn, gallery, db;
};
Suite* g_suite = nullptr;

class ReadOnlyOutputs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_suite = fg::test::new_suite<Suite>("read-only-outputs");
    if (!g_suite) return;
    Suite& s = *g_suite;
    fg::test::convert_models(s.data, s.dir, s.model, s.mtcnn);
    s.gallery = s.dir + "/gallery";
    for (const auto& person : fs::directory_iterator(s.data + "/faces/people")) {
      const std::string name = person.path().filename().string();
      fs::create_directories(s.gallery + "/" + name);
      for (int i = 1; i <= 2; ++i)
        fs::copy_file(person.path() / (name + std::to_string(i) + ".png"),
                      s.gallery + "/" + name + "/" + name + std::to_string(i) + ".png");
    }
    s.db = s.dir + "/db";
    const fg::test::Result r = fg::test::run_facegate("enroll " + sh_quote(s.gallery) + " --db " + sh_quote(s.db) +
                                                          " --model " + sh_quote(s.model) + " --no-detect --threads 2",
                                                      s.dir);
    if (r.code != 0) throw std::runtime_error("enroll failed: " + r.err);
  }
  static void TearDownTestSuite() { fg::test::drop_suite(g_suite); }

  void SetUp() override {
    if (!g_suite) return fg::test::skip_or_fail_without_suite();
    dir_ = fg::test::test_scratch_dir("read-only-outputs-");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string dir_;
};

TEST_F(ReadOnlyOutputs, AreRefusedBeforeTheWorkWithTheReason) {
  const Suite& s = *g_suite;
  const std::string ro = dir_ + "/ro", new_db = dir_ + "/new.db";
  fs::create_directory(ro);
  const std::string image = s.data + "/faces/people/" +
                            fs::directory_iterator(s.data + "/faces/people")->path().filename().string();
  const std::string face = image + "/" + fs::path(image).filename().string() + "1.png";
  const std::vector<std::string> commands = {
      "enroll " + sh_quote(s.gallery) + " --db " + sh_quote(new_db) + " --model " + sh_quote(s.model) +
          " --no-detect --report " + sh_quote(ro + "/report.json"),
      "calibrate --db " + sh_quote(s.db) + " --plot " + sh_quote(ro + "/plot.png"),
      "report --db " + sh_quote(s.db) + " --csv " + sh_quote(ro + "/attendance.csv"),
      "report --db " + sh_quote(s.db) + " --thumbnails " + sh_quote(ro + "/unknowns"),
      "detect --detector " + sh_quote(s.mtcnn) + " --save-crops " + sh_quote(ro + "/crops") + " " + sh_quote(face),
  };
  const std::string ns = ::geteuid() == 0 ? "unshare -m " : "unshare -rm ";
  std::string script = "mount -t tmpfs -o ro tmpfs " + sh_quote(ro);
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::string k = dir_ + "/" + std::to_string(i);
    script += "; " + fg::test::facegate_binary() + " " + commands[i] + " > " + sh_quote(k + ".out") + " 2> " +
              sh_quote(k + ".err") + "; echo $? > " + sh_quote(k + ".rc");
  }
  if (fg::test::run(ns + "sh -c " + sh_quote(script) + " > " + sh_quote(dir_ + "/mount.log") + " 2>&1") != 0 ||
      !fs::exists(dir_ + "/0.rc")) {
    const std::string why = fg::test::read_text(dir_ + "/mount.log");
    if (fg::test::in_ci()) FAIL() << "cannot mount a tmpfs in a mount namespace: " << why;
    GTEST_SKIP() << "SKIPPED: cannot mount a tmpfs in a mount namespace here (needs root or user namespaces): "
                 << why;
  }
  const std::vector<std::string> want = {
      "--report " + ro + "/report.json: cannot write in " + ro + ": Read-only file system",
      "--plot " + ro + "/plot.png: cannot write in " + ro + ": Read-only file system",
      "--csv " + ro + "/attendance.csv: cannot write in " + ro + ": Read-only file system",
      "--thumbnails " + ro + "/unknowns: cannot create the directory: Read-only file system",
      "--save-crops " + ro + "/crops: cannot create the directory: Read-only file system",
  };
  for (size_t i = 0; i < commands.size(); ++i) {
    SCOPED_TRACE(commands[i]);
    const std::string k = dir_ + "/" + std::to_string(i);
    const std::string err = fg::test::read_text(k + ".err");
    EXPECT_EQ(fg::test::read_text(k + ".rc"), "1\n") << err;
    EXPECT_NE(err.find(want[i]), std::string::npos) << err;
    EXPECT_EQ(fg::test::read_text(k + ".out"), "") << "refused before any output";
  }
  EXPECT_FALSE(fs::exists(new_db)) << "enroll created its DB before finding that its report cannot be written";
  fg::store::OpenOptions o;
  o.read_only = true;
  EXPECT_FALSE(fg::store::Store::open(s.db, o).threshold().has_value()) << "calibrate stored a threshold";
}

TEST_F(ReadOnlyOutputs, CalibratePlotIsAPng) {
  const fg::test::Result r = fg::test::run_facegate(
      "calibrate --db " + sh_quote(g_suite->db) + " --plot " + sh_quote(dir_ + "/plot.jpg"), dir_);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--plot " + dir_ + "/plot.jpg: expected a .png file name"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/plot.jpg"));
}

}  // namespace
