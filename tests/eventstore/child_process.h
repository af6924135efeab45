// Child processes for the tests that need a second process: one that holds
// the log open, one that is killed with SIGKILL mid-append.
//
// A child is this test binary run again (fork, then exec of /proc/self/exe),
// never a bare fork of the test process: after earlier tests RocksDB's
// background threads exist, and a forked copy would inherit their locks but
// not the threads. The exec'd child runs the registered role from a gtest
// Environment before any test, then exits with the role's exit code.
//
//   KAM_REGISTER_CHILD_ROLE(try_open, [](const ChildArgs& args) { ...; return 0; });
//   pid_t pid = SpawnChild("try_open", dir, pipe_write_fd);

#ifndef KAM_TESTS_EVENTSTORE_CHILD_PROCESS_H_
#define KAM_TESTS_EVENTSTORE_CHILD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <string>

namespace kam::eventstore::testing {

struct ChildArgs {
  std::string directory;
  int fd = -1;  // Inherited from the parent; -1 when none was given.
};

using ChildRole = std::function<int(const ChildArgs&)>;

// Called from static initializers; returns true so it can initialize a bool.
bool RegisterChildRole(const std::string& name, ChildRole role);

// Starts a child running `role` with `directory` and the inherited `fd`.
// Returns the child's pid, or -1 (with a test failure) when fork failed.
pid_t SpawnChild(const std::string& role, const std::string& directory, int fd);

// Reads newline-terminated lines from a pipe, waiting at most a generous
// guard time per line so a stuck child fails the test instead of hanging it.
class LineReader {
 public:
  enum class Result { kLine, kEnd, kStuck, kError };

  explicit LineReader(int fd) : fd_(fd) {}
  // On kLine, *line is the next line without its newline. kEnd at EOF.
  Result Next(std::string* line, int guard_ms = 60000);

 private:
  int fd_;
  std::string buffer_;
};

#define KAM_REGISTER_CHILD_ROLE(name, fn)              \
  static const bool kam_child_role_registered_##name = \
      ::kam::eventstore::testing::RegisterChildRole(#name, fn)

}  // namespace kam::eventstore::testing

#endif  // KAM_TESTS_EVENTSTORE_CHILD_PROCESS_H_
