// Behaviour across processes: this binary runs itself again as the other process (a fork
// without exec would inherit RocksDB's thread pools half-alive).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "store/store.h"
#include "tests/store/store_fixture.h"
#include "tests/support/test_env.h"

namespace {

using namespace fg::store;
using fg::test::create;
using fg::test::scratch_dir;

constexpr int64_t kEventTime = 1'700'000'123'000'000;

// Starts this test binary as a child running StoreChild.Role with `role` on `db`. The child
// writes one byte to ready[1] when it is in position and, for "hold", then waits until
// release[0] reaches EOF. The parent keeps ready[0] and release[1].
pid_t spawn(const std::string& role, const std::string& db, const int ready[2], const int release[2]) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    ::close(release[1]);
    ::setenv("FG_STORE_CHILD_ROLE", role.c_str(), 1);
    ::setenv("FG_STORE_CHILD_DB", db.c_str(), 1);
    ::setenv("FG_STORE_CHILD_READY_FD", std::to_string(ready[1]).c_str(), 1);
    ::setenv("FG_STORE_CHILD_RELEASE_FD", std::to_string(release[0]).c_str(), 1);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    const char* argv[] = {"/proc/self/exe", "--gtest_filter=StoreChild.Role", nullptr};
    ::execv(argv[0], const_cast<char**>(argv));
    ::_exit(127);
  }
  ::close(ready[1]);
  ::close(release[0]);
  return pid;
}

TEST(StoreChild, Role) {
  const char* role = std::getenv("FG_STORE_CHILD_ROLE");
  if (!role) return;  // only does something when spawned by the tests below
  const std::string db = std::getenv("FG_STORE_CHILD_DB");
  const int ready = std::atoi(std::getenv("FG_STORE_CHILD_READY_FD"));
  const int release = std::atoi(std::getenv("FG_STORE_CHILD_RELEASE_FD"));
  Store s = Store::open(db, create());
  if (std::string(role) == "append") {
    Event e;
    e.time_us = kEventTime;
    e.camera = "door";
    e.name = "crash-test";
    s.append_event(e, /*sync=*/true);
    ::kill(::getpid(), SIGKILL);  // no destructors, no close: as if the power went
  }
  char byte = 1;
  if (::write(ready, &byte, 1) != 1) ::_exit(2);
  while (::read(release, &byte, 1) > 0) {
  }
  ::_exit(0);
}

TEST(StoreProcess, ASecondProcessIsToldTheDbIsInUse) {
  const std::string db = scratch_dir("process-lock") + "/db";
  Store::open(db, create());
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t child = spawn("hold", db, ready, release);
  char byte;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child did not open the DB";

  auto e = fg::test::store_error_of([&] { Store::open(db); });
  EXPECT_EQ(e.kind(), ErrorKind::locked);
  const std::string what = e.what();
  EXPECT_NE(what.find("DB " + db + " is in use by another process: another facegate process (such as a running "
                      "facegate attend) has it open; stop it or wait for it to finish"),
            std::string::npos)
      << what;
  EXPECT_EQ(what.find("While lock file"), std::string::npos) << "RocksDB's own text: " << what;

  ::close(release[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  Store::open(db);  // free again
}

TEST(StoreProcess, ASyncedEventSurvivesKill9) {
  const std::string db = scratch_dir("process-durable") + "/db";
  Store::open(db, create());
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t child = spawn("append", db, ready, release);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(release[1]);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

  Store s = Store::open(db);
  auto events = s.events(kEventTime, kEventTime + 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "crash-test");
  EXPECT_EQ(events[0].seq, 1u);
  Event next;
  next.camera = "door";
  EXPECT_EQ(s.append_event(next), 2u);
}

}  // namespace
