#include "apps/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace fg::apps {

void write_file_atomic(const std::string& path, const std::string& contents, bool owner_only) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  // The temporary gets its final mode before any byte is written, so no reader ever sees the
  // contents under looser permissions.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, owner_only ? 0600 : 0666);
  if (fd < 0) throw std::runtime_error(path + ": cannot create: " + std::strerror(errno));
  if (owner_only && ::fchmod(fd, 0600) != 0) {
    const int why = errno;
    ::close(fd);
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot make owner-only: " + std::strerror(why));
  }
  FILE* f = ::fdopen(fd, "wb");
  if (!f) {
    const int why = errno;
    ::close(fd);
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot create: " + std::strerror(why));
  }
  bool ok = std::fwrite(contents.data(), 1, contents.size(), f) == contents.size();
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  const int err = errno;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int why = ok ? errno : err;
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot write: " + std::strerror(why));
  }
}

namespace {

// access() sees a read-only mount (EROFS) as well as the permission bits.
void require_writable(const std::string& what, const std::string& folder, const std::string& where) {
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw std::runtime_error(what + ": cannot write " + where + ": " + std::strerror(errno));
}

}  // namespace

void check_output_folder(const std::string& option, const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
    throw std::runtime_error(option + " " + path + ": " + dir.string() + " is not a directory");
  const std::string folder = dir.empty() ? "." : dir.string();
  require_writable(option + " " + path, folder, "in " + folder);
}

void make_output_dir(const std::string& option, const std::string& dir, bool owner_only) {
  namespace fs = std::filesystem;
  std::error_code made, ec;
  fs::create_directories(dir, made);
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error(option + " " + dir + ": cannot create the directory: " +
                             (made ? made.message() : "a file of that name exists"));
  if (owner_only && fs::is_empty(dir, ec)) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  require_writable(option + " " + dir, dir, "there");
}

}  // namespace fg::apps
