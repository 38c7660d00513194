#include "apps/gallery_scan.h"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <stdexcept>

#include "apps/cli.h"
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
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (hidden(it->path())) continue;
    if (!it->is_directory(ec)) {
      if (it->is_regular_file(ec)) scan.ignored.push_back(it->path().string());
      continue;
    }
    PersonDir p;
    p.name = store::normalize_name(it->path().filename().string());
    for (fs::directory_iterator f(it->path(), ec), fend; !ec && f != fend; f.increment(ec)) {
      if (!f->is_regular_file(ec) || hidden(f->path())) continue;
      (has_image_extension(f->path().string()) ? p.images : scan.ignored).push_back(f->path().string());
    }
    if (ec) throw std::runtime_error(it->path().string() + ": cannot list: " + ec.message());
    std::sort(p.images.begin(), p.images.end());
    scan.people.push_back(std::move(p));
  }
  if (ec) throw std::runtime_error(root + ": cannot list: " + ec.message());
  if (scan.people.empty()) {
    throw std::runtime_error(root + ": no identity folders (expected " + root + "/<name>/<images>)");
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
  std::sort(scan.ignored.begin(), scan.ignored.end());
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
  const size_t n_probes = std::min(probes, order.size());
  s.probes.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_probes));
  s.gallery.assign(order.begin() + static_cast<std::ptrdiff_t>(n_probes), order.end());
  if (max_gallery && s.gallery.size() > max_gallery) s.gallery.resize(max_gallery);
  std::sort(s.probes.begin(), s.probes.end());
  return s;
}

}  // namespace fg::apps
