#include "apps/gallery_scan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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
  EXPECT_EQ(few.probes.size(), 1u);
  EXPECT_TRUE(few.gallery.empty());
}

TEST(GalleryScan, ListsPeopleAndImagesSortedSkippingHiddenAndNonImages) {
  const std::string root = fg::test::scratch_dir("gallery-scan");
  for (const char* f : {"raj/b.png", "raj/a.PNG", "amy/x.jpg", ".hidden/y.jpg", "amy/.DS_Store", "amy/README.txt",
                        "amy/Thumbs.db", "amy/notes"}) {
    fs::create_directories(fs::path(root + "/" + f).parent_path());
    std::ofstream(root + "/" + f) << "x";
  }
  std::ofstream(root + "/stray.jpg") << "x";
  const auto scan = fg::apps::scan_gallery(root);
  ASSERT_EQ(scan.people.size(), 2u);
  EXPECT_EQ(scan.people[0].name, "amy");
  EXPECT_EQ(scan.people[0].images, (std::vector<std::string>{root + "/amy/x.jpg"}));
  EXPECT_EQ(scan.people[1].name, "raj");
  EXPECT_EQ(scan.people[1].images, (std::vector<std::string>{root + "/raj/a.PNG", root + "/raj/b.png"}));
  // Not enrolled, and said so: files that are not images by extension, and loose files.
  EXPECT_EQ(scan.ignored, (std::vector<std::string>{root + "/amy/README.txt", root + "/amy/Thumbs.db",
                                                    root + "/amy/notes", root + "/stray.jpg"}));
  EXPECT_THROW(fg::apps::scan_gallery(root + "/raj/a.PNG"), std::runtime_error);
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
