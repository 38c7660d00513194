#include "apps/gallery_scan.h"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <stdexcept>

#include "apps/cli.h"
#include "apps/utf8.h"
#include "store/names.h"

namespace fg::apps {
namespace {

namespace fs = std::filesystem;

bool hidden(const fs::path& p) { return !p.filename().empty() && p.filename().string()[0] == '.'; }

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace

bool has_image_extension(const std::string& path) {
  static const char* const kExtensions[] = {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".webp", ".tif",
                                            ".tiff", ".pbm", ".pgm", ".ppm", ".pnm", ".pam"};
  const std::string ext = cli::lowercase_extension(path);
  return std::find(std::begin(kExtensions), std::end(kExtensions), ext) != std::end(kExtensions);
}

GalleryScan scan_gallery(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw std::runtime_error(root + ": not a directory");
  GalleryScan scan;
  const auto leave_out = [&](const fs::path& path, const std::string& why, bool folder) {
    scan.left_out.push_back({path.string(), why, folder});
  };
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (hidden(it->path())) continue;
    std::error_code type_ec;
    if (!it->is_directory(type_ec)) {
      if (it->is_regular_file(type_ec)) {
        leave_out(it->path(), "not in a person's folder", false);
      } else {
        leave_out(it->path(), "not a file or a folder", false);
      }
      continue;
    }
    const std::string folder = it->path().filename().string();
    if (!valid_utf8(folder)) {
      // As a name it could not be typed back, listed or exported; the user renames the folder.
      leave_out(it->path(), "the folder name is not valid UTF-8 (an old Windows or Latin-1 name?): rename it", true);
      continue;
    }
    if (printable(folder) != folder) {
      // A tab or a newline in a name breaks every table that lists it; an escape drives the terminal.
      leave_out(it->path(), "the folder name has control characters (a tab, a newline?): rename it", true);
      continue;
    }
    PersonDir p;
    p.name = store::normalize_name(folder);
    for (fs::directory_iterator f(it->path(), ec), fend; !ec && f != fend; f.increment(ec)) {
      if (hidden(f->path())) continue;
      if (f->is_directory(type_ec)) {
        leave_out(f->path(),
                  has_image_extension(f->path().string())
                      ? "a folder, not an image file (only the files in GALLERY_DIR/<name>/ are read)"
                      : "a folder inside a person's folder (only the files in GALLERY_DIR/<name>/ are read)",
                  true);
      } else if (!f->is_regular_file(type_ec)) {
        leave_out(f->path(), "not a file or a folder", false);
      } else if (has_image_extension(f->path().string())) {
        p.images.push_back(f->path().string());
      } else {
        leave_out(f->path(), "not an image file by its name", false);
      }
    }
    if (ec) throw std::runtime_error(it->path().string() + ": cannot list: " + ec.message());
    std::sort(p.images.begin(), p.images.end());
    scan.people.push_back(std::move(p));
  }
  if (ec) throw std::runtime_error(root + ": cannot list: " + ec.message());
  std::sort(scan.left_out.begin(), scan.left_out.end(),
            [](const LeftOut& a, const LeftOut& b) { return a.path < b.path; });
  if (scan.people.empty()) {
    std::string also;
    for (const LeftOut& l : scan.left_out)
      if (l.folder) also += "; left out " + printable(l.path) + ": " + l.why;
    throw std::runtime_error(root + ": no identity folders (expected " + root + "/<name>/<images>)" + also);
  }
  std::sort(scan.people.begin(), scan.people.end(),
            [](const PersonDir& a, const PersonDir& b) { return a.name < b.name; });
  std::vector<PersonDir> merged;
  for (PersonDir& p : scan.people) {
    if (merged.empty() || merged.back().name != p.name) {
      merged.push_back(std::move(p));
      continue;
    }
    auto& images = merged.back().images;
    images.insert(images.end(), p.images.begin(), p.images.end());
    std::sort(images.begin(), images.end());
  }
  scan.people = std::move(merged);
  return scan;
}

Split split_images(const PersonDir& person, size_t probes, size_t max_gallery, uint64_t seed) {
  std::vector<std::string> order = person.images;
  uint64_t state = seed ^ fnv1a(person.name);
  for (size_t i = order.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(splitmix64(state) % i);
    std::swap(order[i - 1], order[j]);
  }
  Split s;
  // One image always stays for the gallery: holding out all of them would search for the
  // person in a gallery without them. The shuffle above does not depend on `probes`, so the
  // split for probes < images is the same as before this cap.
  const size_t n_probes = order.empty() ? 0 : std::min(probes, order.size() - 1);
  s.probes.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_probes));
  s.gallery.assign(order.begin() + static_cast<std::ptrdiff_t>(n_probes), order.end());
  if (max_gallery && s.gallery.size() > max_gallery) s.gallery.resize(max_gallery);
  std::sort(s.probes.begin(), s.probes.end());
  return s;
}

}  // namespace fg::apps
