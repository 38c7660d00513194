#include "store/owner_only_env.h"

#include <sys/stat.h>

#include <rocksdb/file_system.h>

#include <memory>
#include <string>

namespace fg::store::detail {
namespace {

// A file is created by the call before the chmod; inside the DB directory (0700) nobody else
// can reach it meanwhile.
rocksdb::IOStatus owner_only(const rocksdb::IOStatus& created, const std::string& path) {
  if (!created.ok()) return created;
  if (::chmod(path.c_str(), 0600) != 0)
    return rocksdb::IOStatus::IOError("cannot make " + path + " owner-only (chmod 0600)");
  return created;
}

class OwnerOnlyFileSystem : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "FacegateOwnerOnly"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IODebugContext* d) override {
    return owner_only(target()->NewWritableFile(f, o, r, d), f);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* d) override {
    return owner_only(target()->ReopenWritableFile(f, o, r, d), f);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* d) override {
    return owner_only(target()->ReuseWritableFile(f, old, o, r, d), f);
  }
  rocksdb::IOStatus NewRandomRWFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* r, rocksdb::IODebugContext* d) override {
    return owner_only(target()->NewRandomRWFile(f, o, r, d), f);
  }
  rocksdb::IOStatus NewLogger(const std::string& f, const rocksdb::IOOptions& o, std::shared_ptr<rocksdb::Logger>* r,
                              rocksdb::IODebugContext* d) override {
    return owner_only(target()->NewLogger(f, o, r, d), f);
  }
  rocksdb::IOStatus LockFile(const std::string& f, const rocksdb::IOOptions& o, rocksdb::FileLock** l,
                             rocksdb::IODebugContext* d) override {
    return owner_only(target()->LockFile(f, o, l, d), f);
  }
};

}  // namespace

rocksdb::Env* owner_only_env() {
  static const std::unique_ptr<rocksdb::Env> env =
      rocksdb::NewCompositeEnv(std::make_shared<OwnerOnlyFileSystem>(rocksdb::FileSystem::Default()));
  return env.get();
}

}  // namespace fg::store::detail
