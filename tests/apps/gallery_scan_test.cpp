#include "apps/gallery_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tests/support/test_env.h"

namespace {

namespace fs = std::filesystem;
using fg::apps::PersonDir;

PersonDir person(const std::string& name, int n) {
  PersonDir p{name, {}};
  for (int i = 0; i < n; ++i) p.images.push_back(name + "/" + std::to_string(i) + ".jpg");
  return p;
}

TEST(GalleryScan, SplitIsSeededDisjointAndComplete) {
  const PersonDir p = person("amy", 10);
  const auto a = fg::apps::split_images(p, 3, 0, 42);
  const auto b = fg::apps::split_images(p, 3, 0, 42);
  EXPECT_EQ(a.probes, b.probes);
  EXPECT_EQ(a.gallery, b.gallery);
  EXPECT_EQ(a.probes.size(), 3u);
  EXPECT_EQ(a.gallery.size(), 7u);
  std::set<std::string> all(a.probes.begin(), a.probes.end());
  all.insert(a.gallery.begin(), a.gallery.end());
  EXPECT_EQ(all.size(), 10u);

  bool differs = false;
  for (uint64_t seed = 0; seed < 8 && !differs; ++seed)
    differs = fg::apps::split_images(p, 3, 0, seed).probes != a.probes;
  EXPECT_TRUE(differs) << "the seed must change the split";

  const auto capped = fg::apps::split_images(p, 2, 4, 42);
  EXPECT_EQ(capped.probes.size(), 2u);
  EXPECT_EQ(capped.gallery.size(), 4u);
  const auto few = fg::apps::split_images(person("raj", 1), 3, 0, 42);
  EXPECT_TRUE(few.probes.empty()) << "a single image stays for the gallery";
  EXPECT_EQ(few.gallery.size(), 1u);
}

// --probes M with M >= n images holds out n - 1: every identity keeps one image to be found by.
// Fewer probes than that split as they always did (the shuffle does not depend on M).
TEST(GalleryScan, SplitKeepsOneImageOfEachIdentityForTheGallery) {
  const PersonDir p = person("bernadette", 5);
  const auto all_but_one = fg::apps::split_images(p, 4, 0, 42);
  for (size_t m : {5u, 10u, 1000u}) {
    const auto s = fg::apps::split_images(p, m, 0, 42);
    EXPECT_EQ(s.probes.size(), 4u) << m;
    EXPECT_EQ(s.gallery.size(), 1u) << m;
    EXPECT_EQ(s.probes, all_but_one.probes) << m;
    EXPECT_EQ(s.gallery, all_but_one.gallery) << m;
  }
  // The order of the shuffle is unchanged: M < n takes a prefix of the same order.
  const auto three = fg::apps::split_images(p, 3, 0, 42);
  for (const auto& probe : three.probes)
    EXPECT_NE(std::find(all_but_one.probes.begin(), all_but_one.probes.end(), probe), all_but_one.probes.end());
  EXPECT_TRUE(fg::apps::split_images(person("nobody", 0), 3, 0, 42).probes.empty());
}

std::vector<std::string> paths_of(const std::vector<fg::apps::LeftOut>& left_out) {
  std::vector<std::string> out;
  for (const auto& l : left_out) out.push_back(l.path);
  return out;
}

TEST(GalleryScan, ListsPeopleAndImagesSortedSkippingHiddenAndNonImages) {
  const std::string root = fg::test::scratch_dir("gallery-scan");
  for (const char* f : {"raj/b.png", "raj/a.PNG", "amy/x.jpg", ".hidden/y.jpg", "amy/.DS_Store", "amy/._x.jpg",
                        "amy/README.txt", "amy/Thumbs.db", "amy/notes", "amy/sub/z.jpg", "amy/inner.jpg/w.jpg",
                        "amy/.git/HEAD"}) {
    fs::create_directories(fs::path(root + "/" + f).parent_path());
    std::ofstream(root + "/" + f) << "x";
  }
  std::ofstream(root + "/stray.jpg") << "x";
  std::ofstream(root + "/.DS_Store") << "x";
  const auto scan = fg::apps::scan_gallery(root);
  ASSERT_EQ(scan.people.size(), 2u);
  EXPECT_EQ(scan.people[0].name, "amy");
  EXPECT_EQ(scan.people[0].images, (std::vector<std::string>{root + "/amy/x.jpg"}));
  EXPECT_EQ(scan.people[1].name, "raj");
  EXPECT_EQ(scan.people[1].images, (std::vector<std::string>{root + "/raj/a.PNG", root + "/raj/b.png"}));
  // Not enrolled, and said so: files that are not images by extension, folders inside a
  // person's folder (even one named like an image), and loose files. Hidden entries: silent.
  EXPECT_EQ(paths_of(scan.left_out),
            (std::vector<std::string>{root + "/amy/README.txt", root + "/amy/Thumbs.db", root + "/amy/inner.jpg",
                                      root + "/amy/notes", root + "/amy/sub", root + "/stray.jpg"}));
  std::map<std::string, fg::apps::LeftOut> by_path;
  for (const auto& l : scan.left_out) by_path[l.path] = l;
  EXPECT_EQ(by_path[root + "/amy/README.txt"].why, "not an image file by its name");
  EXPECT_FALSE(by_path[root + "/amy/README.txt"].folder);
  EXPECT_EQ(by_path[root + "/stray.jpg"].why, "not in a person's folder");
  EXPECT_TRUE(by_path[root + "/amy/sub"].folder);
  EXPECT_NE(by_path[root + "/amy/sub"].why.find("a folder inside a person's folder"), std::string::npos);
  EXPECT_TRUE(by_path[root + "/amy/inner.jpg"].folder);
  EXPECT_NE(by_path[root + "/amy/inner.jpg"].why.find("a folder, not an image file"), std::string::npos);
  EXPECT_THROW(fg::apps::scan_gallery(root + "/raj/a.PNG"), std::runtime_error);
}

// A folder named in Latin-1 (from an old Windows share) is not valid UTF-8: as a name it could
// not be listed, typed back or exported, so it is left out with a reason and not enrolled.
TEST(GalleryScan, FolderNameThatIsNotUtf8IsLeftOutWithAReason) {
  const std::string root = fg::test::scratch_dir("gallery-scan-latin1");
  const std::string latin1 = "Ren\xe9" "e";
  for (const std::string& f : {latin1 + "/1.jpg", std::string("amy/x.jpg")}) {
    fs::create_directories(fs::path(root + "/" + f).parent_path());
    std::ofstream(root + "/" + f) << "x";
  }
  const auto scan = fg::apps::scan_gallery(root);
  ASSERT_EQ(scan.people.size(), 1u);
  EXPECT_EQ(scan.people[0].name, "amy");
  ASSERT_EQ(scan.left_out.size(), 1u);
  EXPECT_EQ(scan.left_out[0].path, root + "/" + latin1);
  EXPECT_TRUE(scan.left_out[0].folder);
  EXPECT_NE(scan.left_out[0].why.find("not valid UTF-8"), std::string::npos) << scan.left_out[0].why;
  EXPECT_NE(scan.left_out[0].why.find("rename it"), std::string::npos) << scan.left_out[0].why;

  // Nothing else: the error says why the one folder there is not a person.
  fs::remove_all(root + "/amy");
  try {
    fg::apps::scan_gallery(root);
    ADD_FAILURE() << "no identity folder";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Ren\\xE9e: the folder name is not valid UTF-8"), std::string::npos)
        << e.what();
  }
}

// A folder whose name has a tab or a newline (made by a script, or a paste) would become a name
// that breaks list's and report's tables, or one with an escape sequence that drives the
// terminal: left out with a reason, like a name that is not UTF-8; the message shows it escaped.
TEST(GalleryScan, FolderNameWithControlCharactersIsLeftOutWithAReason) {
  const std::string root = fg::test::scratch_dir("gallery-scan-control");
  const std::vector<std::string> bad = {"Ann\tLee", "bob\n", "\x1B[31mred"};
  for (const std::string& f : {bad[0] + "/1.jpg", bad[1] + "/2.jpg", bad[2] + "/3.jpg", std::string("amy/x.jpg")}) {
    fs::create_directories(fs::path(root + "/" + f).parent_path());
    std::ofstream(root + "/" + f) << "x";
  }
  const auto scan = fg::apps::scan_gallery(root);
  ASSERT_EQ(scan.people.size(), 1u);
  EXPECT_EQ(scan.people[0].name, "amy");
  ASSERT_EQ(scan.left_out.size(), 3u);
  for (const auto& l : scan.left_out) {
    EXPECT_NE(std::find(bad.begin(), bad.end(), fs::path(l.path).filename().string()), bad.end()) << l.path;
    EXPECT_TRUE(l.folder) << l.path;
    EXPECT_NE(l.why.find("control characters"), std::string::npos) << l.why;
    EXPECT_NE(l.why.find("rename it"), std::string::npos) << l.why;
  }

  fs::remove_all(root + "/amy");
  try {
    fg::apps::scan_gallery(root);
    ADD_FAILURE() << "no identity folder";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("/Ann\\tLee: the folder name has control characters"), std::string::npos) << what;
    EXPECT_NE(what.find("/bob\\n: "), std::string::npos) << what;
    EXPECT_NE(what.find("/\\x1B[31mred: "), std::string::npos) << what;
    EXPECT_EQ(what.find_first_of("\t\n\x1B"), std::string::npos) << "escaped: " << what;
  }
}

// Two folders whose names differ only in Unicode form (one copied from a Mac, NFD; one
// typed here, NFC) are one person, named in NFC, with the images of both.
TEST(GalleryScan, FoldersNamedInTwoUnicodeFormsAreOnePerson) {
  const std::string root = fg::test::scratch_dir("gallery-scan-nfc");
  const std::string nfd = "Zoe\xCC\x88", nfc = "Zo\xC3\xAB";
  for (const std::string& f : {nfd + "/1.jpg", nfc + "/2.jpg", std::string("amy/x.jpg")}) {
    fs::create_directories(fs::path(root + "/" + f).parent_path());
    std::ofstream(root + "/" + f) << "x";
  }
  const auto scan = fg::apps::scan_gallery(root);
  ASSERT_EQ(scan.people.size(), 2u);
  EXPECT_EQ(scan.people[0].name, nfc);  // byte order: "Z" before "a"
  EXPECT_EQ(scan.people[0].images,
            (std::vector<std::string>{root + "/" + nfd + "/1.jpg", root + "/" + nfc + "/2.jpg"}));
}

TEST(GalleryScan, ImageExtensionsAreTheDecodedFormatsInAnyCase) {
  for (const char* f : {"a.jpg", "a.JPEG", "b/c.Png", "x.webp", "x.tif", "x.TIFF", "x.bmp", "x.ppm", "x.pgm"})
    EXPECT_TRUE(fg::apps::has_image_extension(f)) << f;
  for (const char* f : {"a.txt", "Thumbs.db", "noext", "a.jpg.part", "a.heic", ".png", "a.gif"})
    EXPECT_FALSE(fg::apps::has_image_extension(f)) << f;
}

}  // namespace
