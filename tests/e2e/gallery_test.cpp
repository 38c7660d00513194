// facegate enroll / identify / list / forget end to end, on a real RocksDB in a temp dir, with
// the random-weight ResNet-50 of the parity fixture (what matters here is the pipeline, not
// the model's accuracy) and the shared face crops.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "store/store.h"
#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using fg::test::sh_quote;

struct Result {
  int code;
  std::string out, err;
};

class Gallery : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string fixture = fg::test::resnet_fixture();
    if (fixture.empty()) {
      if (fg::test::torch_python().empty()) GTEST_SKIP() << "SKIPPED: python3-torch missing, no model to test with";
      FAIL() << "PyTorch is here but the fixture is not: run ctest, whose resnet_fixture test makes it";
    }
    data_ = fg::test::data_dir();
    if (data_.empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
    dir_ = fg::test::scratch_dir(std::string("gallery-") +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    model_ = dir_ + "/model.fgw";
    ASSERT_EQ(run("convert " + sh_quote(fixture + "/trainer.pt") + " -o " + sh_quote(model_)).code, 0);
    other_fixture_ = fixture;
    db_ = dir_ + "/db";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  Result run(const std::string& args) {
    const int code =
        fg::test::run(fg::test::facegate_binary() + " " + args + " > " + dir_ + "/stdout 2> " + dir_ + "/stderr");
    return {code, fg::test::read_text(dir_ + "/stdout"), fg::test::read_text(dir_ + "/stderr")};
  }

  // A gallery folder with the first `per_person` crops of each shared person.
  std::string make_gallery(const std::string& name, int per_person) {
    const std::string root = dir_ + "/" + name;
    for (const auto& person : fs::directory_iterator(data_ + "/faces/people")) {
      fs::create_directories(root + "/" + person.path().filename().string());
      for (int i = 1; i <= per_person; ++i) {
        const std::string file = person.path().filename().string() + std::to_string(i) + ".png";
        fs::copy_file(person.path() / file, fs::path(root) / person.path().filename() / file);
      }
    }
    return root;
  }

  Result enroll(const std::string& gallery, const std::string& extra = "") {
    return run("enroll " + sh_quote(gallery) + " --db " + sh_quote(db_) + " --model " + sh_quote(model_) +
               " --no-detect --threads 2 " + extra);
  }

  std::vector<json> list() {
    Result r = run("list --json --db " + sh_quote(db_));
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<json> rows;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
    return rows;
  }

  json identify(const std::string& image) {
    Result r = run("identify --json --no-detect --top 3 --db " + sh_quote(db_) + " --model " + sh_quote(model_) + " " +
                   sh_quote(image));
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.empty() ? json() : json::parse(r.out);
  }

  size_t total_images() {
    size_t n = 0;
    for (const auto& row : list()) n += row["images"].get<size_t>();
    return n;
  }

  // What an older facegate left: identity `from` stored under the name `to`, which enroll no
  // longer takes from a folder (not UTF-8, or with control characters).
  void store_as(const std::string& from, const std::string& to) {
    fg::store::Store s = fg::store::Store::open(db_);
    const auto who = s.find_identity(from);
    ASSERT_TRUE(who) << from;
    std::vector<fg::store::EmbeddingRecord> images = s.embeddings_of(who->id);
    s.forget(who->id);
    fg::store::Identity renamed;
    renamed.name = to;
    s.enroll(renamed, std::move(images));
  }

  std::string data_, dir_, model_, db_, other_fixture_;
};

TEST_F(Gallery, ReEnrollAddsNothingAndNewPhotosAddOnlyThem) {
  const std::string g = make_gallery("g", 3);
  Result r = enroll(g);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("enrolled 24 new images (8 new identities)"), std::string::npos) << r.out;
  EXPECT_EQ(list().size(), 8u);
  EXPECT_EQ(total_images(), 24u);

  r = enroll(g);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("enrolled 0 new images (0 new identities); skipped 24 already enrolled"), std::string::npos)
      << r.out;
  EXPECT_EQ(total_images(), 24u);

  fs::copy_file(data_ + "/faces/people/amy/amy4.png", g + "/amy/amy4.png");
  fs::copy_file(data_ + "/faces/people/raj/raj5.png", g + "/raj/raj5.png");
  r = enroll(g);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("enrolled 2 new images (0 new identities); skipped 24"), std::string::npos) << r.out;
  for (const auto& row : list()) {
    const std::string name = row["name"];
    EXPECT_EQ(row["images"], (name == "amy" || name == "raj") ? 4 : 3) << name;
  }

  // A photo filed under a second person: skipped, and the message says whose it is.
  fs::create_directories(g + "/impostor");
  fs::copy_file(g + "/amy/amy1.png", g + "/impostor/me.png");
  r = enroll(g);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("impostor/me.png: the same photo is already enrolled as 'amy' (" + g +
                       "/amy/amy1.png): not added to 'impostor'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("no usable image for: impostor"), std::string::npos) << r.err;
}

// A folder copied from a Mac names "Zoë" in decomposed Unicode (o + U+0308); the same name
// typed on Linux is composed (U+00EB). Both are one person, found by either spelling.
TEST_F(Gallery, OnePersonWhateverTheUnicodeFormOfTheFolderName) {
  const std::string nfd = "Zoe\xCC\x88", nfc = "Zo\xC3\xAB";
  fs::create_directories(dir_ + "/mac/" + nfd);
  fs::copy_file(data_ + "/faces/people/amy/amy1.png", dir_ + "/mac/" + nfd + "/1.png");
  fs::create_directories(dir_ + "/linux/" + nfc);
  fs::copy_file(data_ + "/faces/people/amy/amy2.png", dir_ + "/linux/" + nfc + "/2.png");
  Result r = enroll(dir_ + "/mac");
  ASSERT_EQ(r.code, 0) << r.err;
  // One of each: the counts' nouns are singular.
  EXPECT_NE(r.out.find("enrolled 1 new image (1 new identity)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("database " + db_ + ": 1 identity, 1 image\n"), std::string::npos) << r.out;
  r = enroll(dir_ + "/linux");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("enrolled 1 new image (0 new identities)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("database " + db_ + ": 1 identity, 2 images\n"), std::string::npos) << r.out;
  const auto rows = list();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["name"], nfc);
  EXPECT_EQ(rows[0]["images"], 2);
  r = run("forget " + sh_quote(nfd) + " --db " + sh_quote(db_));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("): 2 images, 0 event thumbnails removed;"), std::string::npos) << r.out;
  EXPECT_TRUE(list().empty());
}

TEST_F(Gallery, IdentifyFindsTheEnrolledImageAndForgetRemovesIt) {
  ASSERT_EQ(enroll(make_gallery("g", 2)).code, 0);
  const std::string probe = data_ + "/faces/people/amy/amy1.png";
  json before = identify(probe);
  ASSERT_EQ(before["faces"].size(), 1u);
  const json& m = before["faces"][0]["matches"];
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0]["name"], "amy");  // the very image is enrolled: cosine 1
  EXPECT_NEAR(m[0]["score"].get<double>(), 1.0, 1e-5);
  EXPECT_FALSE(before["faces"][0]["unknown"]);
  std::set<std::string> ids;
  for (const auto& x : m) ids.insert(x["id"]);
  EXPECT_EQ(ids.size(), 3u) << "identities must not repeat among the matches";

  Result r = run("forget amy --db " + sh_quote(db_));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(list().size(), 7u);
  const json after = identify(probe);
  for (const auto& x : after["faces"][0]["matches"]) EXPECT_NE(x["name"], "amy");
  EXPECT_NE(run("forget amy --db " + sh_quote(db_)).code, 0);
}

// --gallery N caps the images enrolled per identity; 0, as the help says, caps nothing.
TEST_F(Gallery, GalleryZeroEnrollsEveryImageAsTheHelpSays) {
  EXPECT_NE(run("enroll --help").out.find("--gallery N       enroll at most N images per identity in this run "
                                          "(default,\n                    or 0: all)\n"),
            std::string::npos);
  const std::string g = make_gallery("g", 3);
  ASSERT_EQ(enroll(g, "--gallery 1").code, 0);
  EXPECT_EQ(total_images(), 8u);
  ASSERT_EQ(enroll(g, "--gallery 0").code, 0);
  EXPECT_EQ(total_images(), 24u);
}

TEST_F(Gallery, DamagedOrMissingIndexIsRebuiltWithSameAnswers) {
  ASSERT_EQ(enroll(make_gallery("g", 3)).code, 0);
  const std::string probe = data_ + "/faces/people/penny/penny5.png";
  const json before = identify(probe);
  const std::string index = db_ + "/facegate.index";
  ASSERT_TRUE(fs::exists(index));

  fs::remove(index);
  json again = identify(probe);
  EXPECT_EQ(again, before);
  EXPECT_TRUE(fs::exists(index)) << "the rebuilt index is saved";

  std::string bytes = fg::test::read_text(index);
  for (size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bytes[i] ^= 0x5a;
  std::ofstream(index, std::ios::binary) << bytes;
  Result r = run("identify --json --no-detect --top 3 --db " + sh_quote(db_) + " --model " + sh_quote(model_) + " " +
                 sh_quote(probe));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), before);
  EXPECT_NE(r.err.find("rebuil"), std::string::npos) << "a log line says the index was rebuilt: " << r.err;
}

TEST_F(Gallery, TopKOnHeldOutProbesIsReproducibleAndExact) {
  // Each person's folder holds one photo twice (the copy slightly brighter), so whichever is
  // held out as the probe, its twin is enrolled: every probe must be a top-1 hit.
  const std::string g = dir_ + "/twins";
  for (const auto& person : fs::directory_iterator(data_ + "/faces/people")) {
    const std::string name = person.path().filename().string();
    fs::create_directories(g + "/" + name);
    cv::Mat img = cv::imread((person.path() / (name + "2.png")).string());
    ASSERT_FALSE(img.empty());
    cv::imwrite(g + "/" + name + "/a.png", img);
    cv::imwrite(g + "/" + name + "/b.png", img + cv::Scalar(2, 2, 2));
  }
  const std::string report = dir_ + "/report.json";
  Result r = enroll(g, "--probes 1 --seed 7 --report " + sh_quote(report));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Top-K over 8 probes"), std::string::npos) << r.out;
  const json rep = json::parse(fg::test::read_text(report));
  EXPECT_EQ(rep["enrolled"]["added"], 8);
  EXPECT_EQ(rep["topk"]["probes"], 8);
  EXPECT_EQ(rep["topk"]["failed"], 0);
  EXPECT_EQ(rep["topk"]["top1"]["hits"], 8);
  EXPECT_EQ(rep["topk"]["top5"]["hits"], 8);
  EXPECT_EQ(rep["topk"]["per_identity"].size(), 8u);

  // Same seed, fresh DB: the same split, so the same images are enrolled.
  const std::string first_db = db_;
  db_ = dir_ + "/db2";
  ASSERT_EQ(enroll(g, "--probes 1 --seed 7").code, 0);
  auto paths = [](const std::string& db) {
    std::set<std::string> out;
    fg::store::OpenOptions o;
    o.read_only = true;
    fg::store::Store::open(db, o).for_each_embedding([&](const auto& rec) { out.insert(rec.image_path); });
    return out;
  };
  EXPECT_EQ(paths(first_db), paths(db_));
}

TEST_F(Gallery, ModelMismatchIsRefusedUnlessReindex) {
  const std::string g = make_gallery("g", 2);
  ASSERT_EQ(enroll(g).code, 0);
  ASSERT_EQ(run("calibrate --db " + sh_quote(db_)).code, 0);
  const std::string other = dir_ + "/other.fgw";
  ASSERT_EQ(run("convert " + sh_quote(other_fixture_ + "/fp16.pt") + " -o " + sh_quote(other)).code, 0);
  model_ = other;
  Result r = enroll(g);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("model"), std::string::npos) << r.err;
  r = enroll(g, "--reindex");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(total_images(), 16u);
  // The old model's calibration does not pass for the new one's.
  EXPECT_NE(r.err.find("the calibrated threshold measured the old model's scores and is dropped"), std::string::npos)
      << r.err;
  r = run("identify --no-detect --db " + sh_quote(db_) + " --model " + sh_quote(model_) + " " +
          sh_quote(data_ + "/faces/people/howard/howard1.png"));
  EXPECT_NE(r.err.find("not calibrated"), std::string::npos) << r.err;
  const json id = identify(data_ + "/faces/people/howard/howard1.png");
  EXPECT_NEAR(id["faces"][0]["matches"][0]["score"].get<double>(), 1.0, 1e-5);
}

TEST_F(Gallery, ReindexFromAnotherDirectoryChangesNothingWhenAnImageIsGoneUnlessDropFailed) {
  make_gallery("g", 2);
  // Enrolled by a relative path: the DB records where the images are, absolutely.
  Result r{fg::test::run("cd " + sh_quote(dir_) + " && " + fg::test::facegate_binary() + " enroll g --db db --model " +
                         sh_quote(model_) + " --no-detect > /dev/null 2>&1"),
           "", ""};
  ASSERT_EQ(r.code, 0);
  ASSERT_EQ(total_images(), 16u);
  fs::rename(dir_ + "/g/amy/amy1.png", dir_ + "/amy1-moved.png");

  const std::string other = dir_ + "/other.fgw";
  ASSERT_EQ(run("convert " + sh_quote(other_fixture_ + "/fp16.pt") + " -o " + sh_quote(other)).code, 0);
  const std::string reindex = "enroll " + sh_quote(dir_ + "/g") + " --db " + sh_quote(db_) + " --model " +
                              sh_quote(other) + " --no-detect --reindex";
  r = run(reindex);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(dir_ + "/g/amy/amy1.png: no such file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 of 16 stored images cannot be re-embedded"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the DB is unchanged"), std::string::npos) << r.err;
  EXPECT_EQ(total_images(), 16u);
  // Still the old model's DB: identify with it finds the very image.
  const json id = identify(data_ + "/faces/people/howard/howard1.png");
  EXPECT_NEAR(id["faces"][0]["matches"][0]["score"].get<double>(), 1.0, 1e-5);

  r = run(reindex + " --drop-failed");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("--reindex drops " + dir_ + "/g/amy/amy1.png"), std::string::npos) << r.err;
  EXPECT_EQ(total_images(), 15u) << "every other image was found from this directory and re-embedded";
  EXPECT_EQ(run("enroll " + sh_quote(dir_ + "/g") + " --db " + sh_quote(db_) + " --model " + sh_quote(other) +
                " --no-detect --drop-failed").code,
            2);
}

TEST_F(Gallery, ProbesAlreadyEnrolledByAnEarlierSplitAreLeftOutOfTopK) {
  const std::string g = make_gallery("g", 3);
  ASSERT_EQ(enroll(g, "--probes 1 --seed 7").code, 0);
  const std::string report = dir_ + "/report.json";
  Result r = enroll(g, "--probes 1 --seed 8 --report " + sh_quote(report));
  ASSERT_EQ(r.code, 0) << r.err;
  const json rep = json::parse(fg::test::read_text(report));
  const int left_out = rep["topk"]["left_out_already_enrolled"];
  EXPECT_GE(left_out, 1) << "another seed holds out images the first run enrolled";
  EXPECT_EQ(rep["topk"]["probes"].get<int>() + left_out, 8);  // "probes" counts the failed ones too
  EXPECT_NE(r.out.find(std::to_string(left_out) + " already enrolled left out"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("already enrolled by an earlier run"), std::string::npos) << r.err;
}

TEST_F(Gallery, BadInput) {
  fs::create_directories(dir_ + "/empty");
  Result r = enroll(dir_ + "/empty");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no identity folders"), std::string::npos) << r.err;

  const std::string g = make_gallery("g", 1);
  fs::create_directories(g + "/nobody");
  std::ofstream(g + "/nobody/notes.jpg") << "not an image";
  std::ofstream(g + "/amy/readme.txt") << "not an image either";
  fs::copy_file(data_ + "/faces/people/amy/amy2.png", g + "/loose.png");
  r = enroll(g, "--report " + sh_quote(dir_ + "/nowhere/r.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--report " + dir_ + "/nowhere/r.json: " + dir_ + "/nowhere is not a directory"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(db_)) << "refused before any work";

  // No usable image at all: nobody enrolled, and no empty DB left.
  fs::create_directories(dir_ + "/only-nobody/nobody");
  fs::copy_file(g + "/nobody/notes.jpg", dir_ + "/only-nobody/nobody/notes.jpg");
  r = enroll(dir_ + "/only-nobody");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no usable image for: nobody"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db_));
  EXPECT_NE(r.err.find("nothing was enrolled, so the new DB " + db_ + " was not kept"), std::string::npos) << r.err;

  // One image per person and --probes 1: the image stays for the gallery (no probe of it).
  r = enroll(g, "--probes 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no usable image for: nobody\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("notes.jpg: cannot decode"), std::string::npos) << r.err;
  // Never read, never a probe: files that are not images by name, and files outside a person's folder.
  EXPECT_NE(r.err.find("readme.txt: not enrolled (not an image file by its name)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("loose.png: not enrolled (not in a person's folder)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("readme.txt: cannot"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Top-K: no probes (every identity has a single image, kept for the gallery)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(total_images(), 8u);
  {
    fg::store::OpenOptions o;
    o.create_if_missing = true;
    fg::store::Store::open(dir_ + "/empty-db", o);
  }
  r = run("identify --no-detect --db " + sh_quote(dir_ + "/empty-db") + " --model " + sh_quote(model_) + " " +
          sh_quote(data_ + "/faces/people/amy/amy1.png"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("has no enrolled images: run facegate enroll first"), std::string::npos) << r.err;
  r = enroll(g);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no usable image for: nobody"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("enrolled 0 new images (0 new identities); skipped 8 already enrolled"), std::string::npos)
      << r.out;
  EXPECT_EQ(total_images(), 8u) << "the readable images were enrolled all the same";

  {
    fg::store::Store held = fg::store::Store::open(db_);  // another process's lock, in effect
    r = enroll(g);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("in use by another process"), std::string::npos) << r.err;
    r = run("forget amy --db " + sh_quote(db_));
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "facegate forget: DB " + db_ +
                         " is in use by another process: another facegate process (such as a running facegate "
                         "attend) has it open; stop it or wait for it to finish, then run this again\n");
    EXPECT_NE(run("forget --help").out.find("it cannot run while another facegate process has the DB\n"
                                            "open (a running facegate attend, an enroll)"),
              std::string::npos);
    // identify only reads: it works beside the process that holds the DB (the door's attend).
    const json id = identify(data_ + "/faces/people/amy/amy1.png");
    ASSERT_EQ(id["faces"].size(), 1u);
    EXPECT_EQ(id["faces"][0]["matches"][0]["name"], "amy");
  }
  EXPECT_EQ(total_images(), 8u);

  const std::string corrupt = dir_ + "/corrupt";
  fs::create_directories(corrupt);
  std::ofstream(corrupt + "/CURRENT") << "garbage\n";
  r = run("list --db " + sh_quote(corrupt));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// --probes M with M >= an identity's image count: all but one of its images are held out, the
// summary says so once, the Top-K header says what was held out, and nobody is "without a
// usable image" (before: every image was held out, the gallery was empty and the DB discarded).
TEST_F(Gallery, ProbesLeaveEachIdentityOneImageForTheGallery) {
  const std::string g = make_gallery("g", 3);
  fs::create_directories(g + "/solo");
  fs::copy_file(data_ + "/faces/people/amy/amy5.png", g + "/solo/only.png");
  const std::string report = dir_ + "/report.json";
  Result r = enroll(g, "--probes 10 --seed 3 --report " + sh_quote(report));
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_EQ(r.err.find("no usable image"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("enrolled 9 new images (9 new identities)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("probes: --probes 10 holds out fewer images of 9 identities, one image of each kept for the "
                       "gallery: 2 of amy's 3, "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("'s 3, and 4 more\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Top-K over 16 probes (seed 3, 0 to 2 per identity, --probes 10 keeping one image each for "
                       "the gallery;"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("10 per identity"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(db_));
  const json rep = json::parse(fg::test::read_text(report));
  EXPECT_EQ(rep["topk"]["probes"], 16);
  ASSERT_EQ(rep["probes_capped"].size(), 9u);
  EXPECT_EQ(rep["probes_capped"][0], json({{"identity", "amy"}, {"images", 3}, {"held_out", 2}}));
  EXPECT_EQ(total_images(), 9u);
  for (const auto& row : list()) EXPECT_EQ(row["images"], 1) << row;
}

// Everything in the gallery that is not enrolled is listed on stderr and in --report's
// problems, the same entries: loose files, non-images, folders inside a person's folder
// (also one named like an image), and a folder whose name is not UTF-8 (Latin-1 "Renée").
// Hidden entries are ignored silently, as --help says. None of it changes the exit status.
TEST_F(Gallery, LeftOutEntriesAreListedOnStderrAndInTheReport) {
  const std::string g = make_gallery("g", 1);
  const std::string latin1 = "Ren\xe9" "e";
  for (const std::string& d : std::vector<std::string>{"amy/sub", "amy/inner.jpg", ".hidden", latin1})
    fs::create_directories(g + "/" + d);
  fs::copy_file(data_ + "/faces/people/amy/amy2.png", g + "/amy/sub/nested.png");
  fs::copy_file(data_ + "/faces/people/amy/amy3.png", g + "/amy/inner.jpg/deeper.png");
  fs::copy_file(data_ + "/faces/people/amy/amy4.png", g + "/.hidden/h.png");
  fs::copy_file(data_ + "/faces/people/penny/penny2.png", g + "/" + latin1 + "/1.png");
  fs::copy_file(data_ + "/faces/people/raj/raj2.png", g + "/loose.png");
  std::ofstream(g + "/notes.txt") << "a note";
  std::ofstream(g + "/amy/.DS_Store") << "finder";
  std::ofstream(g + "/amy/._amy1.png") << "resource fork";
  const std::string report = dir_ + "/report.json";
  Result r = enroll(g, "--report " + sh_quote(report));
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> listed = {
      g + "/Ren\\xE9e: not enrolled (the folder name is not valid UTF-8",
      g + "/amy/inner.jpg: not enrolled (a folder, not an image file",
      g + "/amy/sub: not enrolled (a folder inside a person's folder",
      g + "/loose.png: not enrolled (not in a person's folder)",
      g + "/notes.txt: not enrolled (not in a person's folder)",
  };
  for (const std::string& line : listed) EXPECT_NE(r.err.find("facegate enroll: " + line), std::string::npos) << line;
  EXPECT_NE(r.err.find("rename it"), std::string::npos) << r.err;
  for (const char* silent : {".hidden", ".DS_Store", "._amy1", "nested.png", "deeper.png"})
    EXPECT_EQ(r.err.find(silent), std::string::npos) << silent << " in " << r.err;

  const json rep = json::parse(fg::test::read_text(report));
  std::vector<std::string> in_report;
  for (const json& p : rep["problems"])
    in_report.push_back(p.value("image", p.value("folder", "")) + ": " + p["error"].get<std::string>());
  ASSERT_EQ(in_report.size(), listed.size()) << rep["problems"].dump(2);
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(in_report[i].rfind(listed[i], 0), 0u) << in_report[i];
    EXPECT_NE(r.err.find("facegate enroll: " + in_report[i] + "\n"), std::string::npos) << in_report[i];
  }

  const auto rows = list();
  EXPECT_EQ(rows.size(), 8u) << "the Latin-1 folder is not a person";
  for (const auto& row : rows) EXPECT_EQ(row["name"].get<std::string>().find("Ren"), std::string::npos) << row;
  EXPECT_EQ(total_images(), 8u);
}

// Image files named in Latin-1 ("Renée.png" from a Windows share) or with a control character
// are enrolled, and recorded under their printable names (the text "\xE9", "\t"), which every
// output shows; re-running adds nothing, and --reindex still finds the files by those names.
TEST_F(Gallery, ImageFileNamesNotInUtf8AreEnrolledUnderTheirEscapedNames) {
  const std::string g = make_gallery("g", 1);
  fs::copy_file(data_ + "/faces/people/amy/amy2.png", g + "/amy/Ren\xe9" "e.png");
  fs::copy_file(data_ + "/faces/people/amy/amy3.png", g + "/amy/tab\there.png");
  std::ofstream(g + "/amy/Andr\xe9.png") << "not a PNG";
  fs::create_directories(g + "/impostor");
  fs::copy_file(g + "/amy/tab\there.png", g + "/impostor/me.png");
  const std::string report = dir_ + "/report.json";
  Result r = enroll(g, "--report " + sh_quote(report));
  EXPECT_EQ(r.code, 1) << "impostor has no image of their own: " << r.err;
  EXPECT_NE(r.out.find("enrolled 10 new images (8 new identities); skipped 1 already enrolled, 1 unreadable"),
            std::string::npos)
      << r.out;
  const std::string unreadable = g + "/amy/Andr\\xE9.png";
  const std::string duplicate = "the same photo is already enrolled as 'amy' (" + g +
                                "/amy/tab\\there.png): not added to 'impostor'";
  EXPECT_NE(r.err.find("facegate enroll: " + unreadable + ": cannot decode"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("facegate enroll: " + g + "/impostor/me.png: " + duplicate + "\n"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find_first_of("\t\xe9"), std::string::npos) << "a raw byte or tab: " << r.err;
  const json rep = json::parse(fg::test::read_text(report));
  ASSERT_EQ(rep["problems"].size(), 2u) << rep.dump(2);
  EXPECT_EQ(rep["problems"][0]["image"], unreadable);
  EXPECT_EQ(rep["problems"][1]["error"], duplicate);

  const std::string out = dir_ + "/amy.json";
  r = run("export-person amy --db " + sh_quote(db_) + " -o " + sh_quote(out));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << "the DB holds only UTF-8: " << r.err;
  const json doc = json::parse(fg::test::read_text(out));
  std::set<std::string> paths;
  for (const json& image : doc["images"]) paths.insert(image["image_path"]);
  EXPECT_EQ(paths, (std::set<std::string>{g + "/amy/Ren\\xE9e.png", g + "/amy/amy1.png", g + "/amy/tab\\there.png"}));
  EXPECT_FALSE(doc.contains("invalid_utf8_escaped")) << doc["invalid_utf8_escaped"];

  r = enroll(g);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("enrolled 0 new images (0 new identities); skipped 11 already enrolled"), std::string::npos)
      << r.out;
  EXPECT_EQ(total_images(), 10u);

  const std::string other = dir_ + "/other.fgw";
  ASSERT_EQ(run("convert " + sh_quote(other_fixture_ + "/fp16.pt") + " -o " + sh_quote(other)).code, 0);
  r = run("enroll " + sh_quote(g) + " --db " + sh_quote(db_) + " --model " + sh_quote(other) +
          " --no-detect --reindex");
  EXPECT_EQ(r.err.find("cannot re-embed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("re-embedding 10 images"), std::string::npos) << r.err;
  EXPECT_EQ(total_images(), 10u);
}

// Names an older facegate stored as they were: not UTF-8 (a Latin-1 "Renée" folder) or with a
// tab. identify, forget and export-person print them escaped (printable); identify --json has
// the bytes as the text "\xE9", not U+FFFD. identify's default threshold reads as it is typed.
TEST_F(Gallery, NamesStoredNotInUtf8ArePrintedEscaped) {
  ASSERT_EQ(enroll(make_gallery("g", 2)).code, 0);
  const std::string latin1 = "Ren\xe9" "e", tabbed = "Raj\tK";
  store_as("amy", latin1);
  store_as("raj", tabbed);
  const std::string probe = dir_ + "/" + latin1 + ".png";
  fs::copy_file(data_ + "/faces/people/amy/amy1.png", probe);
  const std::string identify_text =
      "identify --no-detect --top 3 --db " + sh_quote(db_) + " --model " + sh_quote(model_) + " ";
  Result r = run(identify_text + sh_quote(probe));
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string lines = dir_ + "/Ren\\xE9e.png: 1 face\n  whole image: Ren\\xE9e\n    Ren\\xE9e" +
                            std::string(16, ' ') + " 1.0000\n";  // padded by display width
  EXPECT_EQ(r.out.rfind(lines, 0), 0u) << r.out;
  EXPECT_NE(r.err.find("warning: threshold 0.5 is resnet50-arcface's default"), std::string::npos) << r.err;
  r = run(identify_text + sh_quote(data_ + "/faces/people/raj/raj1.png"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("  whole image: Raj\\tK\n    Raj\\tK" + std::string(18, ' ') + " 1.0000\n"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find('\t'), std::string::npos) << r.out;

  const json found = identify(probe);
  EXPECT_EQ(found["image"], dir_ + "/Ren\\xE9e.png");
  EXPECT_EQ(found["faces"][0]["matches"][0]["name"], "Ren\\xE9e");

  r = run("export-person " + sh_quote(tabbed) + " --db " + sh_quote(db_) + " -o " + sh_quote(dir_ + "/raj.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("facegate export-person: Raj\\tK ("), std::string::npos) << r.err;
  for (const std::string& name : {latin1, tabbed}) {
    r = run("forget " + sh_quote(name) + " --db " + sh_quote(db_));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("forgot " + (name == latin1 ? std::string("Ren\\xE9e") : "Raj\\tK") + " (", 0), 0u) << r.out;
  }
  r = run("forget " + sh_quote(tabbed) + " --db " + sh_quote(db_));
  EXPECT_NE(r.err.find("no identity with id or name 'Raj\\tK'"), std::string::npos) << r.err;
}

}  // namespace
