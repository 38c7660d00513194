// The gallery folder: GALLERY_DIR/<identity name>/<images>, and the seeded split of each
// identity's images into enrolled and held-out probe images.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fg::apps {

struct PersonDir {
  std::string name;                 // the folder's name in Unicode NFC (store::normalize_name):
                                    // the identity's name
  std::vector<std::string> images;  // non-hidden image files (by extension), sorted by name
};

// An entry of the gallery that is not enrolled, and why ("not an image file by its name").
struct LeftOut {
  std::string path;
  std::string why;
  bool folder = false;  // a directory (a person's folder, or one inside it), not a file
};

struct GalleryScan {
  std::vector<PersonDir> people;  // every non-hidden sub-folder with a valid UTF-8 name without
                                  // control characters, sorted by name; folders whose names differ
                                  // only in Unicode form are one person
  std::vector<LeftOut> left_out;  // every non-hidden entry that is not enrolled, sorted by path:
                                  // files in a person's folder that are not images by their
                                  // extension, folders inside a person's folder (whatever their
                                  // name), files directly in the root, entries that are neither
                                  // files nor folders, and folders whose name is not valid UTF-8
                                  // or has control characters (tab, newline, ESC: printable).
                                  // Hidden entries (".DS_Store", "._x.jpg", ".git/") are skipped
                                  // silently.
};

// True when the name ends in an extension of a format read_image decodes (JPEG, PNG, BMP,
// WebP, TIFF, PNM), in any case: README.txt or Thumbs.db must not become a probe.
bool has_image_extension(const std::string& path);

// Throws std::runtime_error when `root` is not a readable directory or holds no sub-folder.
GalleryScan scan_gallery(const std::string& root);

struct Split {
  std::vector<std::string> gallery;  // at most max_gallery (0 = no limit)
  std::vector<std::string> probes;   // min(probes, images - 1) held out: an identity always keeps
                                     // one image for the gallery (none held out of a single one)
};

// Reproducible on every platform: a Fisher-Yates shuffle driven by a SplitMix64 stream
// seeded from `seed` and the identity's name, so adding a person never changes another's split.
Split split_images(const PersonDir& person, size_t probes, size_t max_gallery, uint64_t seed);

}  // namespace fg::apps
