#include "tests/eventstore/child_process.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

extern char** environ;

namespace kam::eventstore::testing {

namespace {

constexpr char kRoleVar[] = "KAM_TEST_CHILD_ROLE";
constexpr char kDirVar[] = "KAM_TEST_CHILD_DIR";
constexpr char kFdVar[] = "KAM_TEST_CHILD_FD";

std::map<std::string, ChildRole>& Roles() {
  static auto* const roles = new std::map<std::string, ChildRole>();
  return *roles;
}

// Runs before any test of the exec'd child and never returns there.
class ChildRoleEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* role = getenv(kRoleVar);
    if (role == nullptr) return;
    ChildArgs args;
    if (const char* dir = getenv(kDirVar)) args.directory = dir;
    if (const char* fd = getenv(kFdVar); fd == nullptr || !absl::SimpleAtoi(fd, &args.fd)) {
      args.fd = -1;
    }
    auto it = Roles().find(role);
    int code = 126;
    if (it != Roles().end()) code = it->second(args);
    fflush(stdout);
    fflush(stderr);
    _exit(code);  // No atexit handlers, no leak check: the log may be open.
  }
};

[[maybe_unused]] ::testing::Environment* const kChildRoleEnvironment =
    ::testing::AddGlobalTestEnvironment(new ChildRoleEnvironment());

}  // namespace

bool RegisterChildRole(const std::string& name, ChildRole role) {
  Roles()[name] = std::move(role);
  return true;
}

pid_t SpawnChild(const std::string& role, const std::string& directory, int fd) {
  // Everything the child needs is built before fork: after it, in a process
  // with threads, only async-signal-safe calls are allowed.
  std::string filter = "--gtest_filter=*";
  if (const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info()) {
    filter = absl::StrCat("--gtest_filter=", test->test_suite_name(), ".", test->name());
  }
  std::vector<std::string> args = {"/proc/self/exe", filter};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "KAM_TEST_CHILD_")) env.emplace_back(*e);
  }
  env.push_back(absl::StrCat(kRoleVar, "=", role));
  env.push_back(absl::StrCat(kDirVar, "=", directory));
  env.push_back(absl::StrCat(kFdVar, "=", fd));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return -1;
  }
  if (pid == 0) {
    // Dies with the test instead of outliving it if the test crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execve("/proc/self/exe", argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

LineReader::Result LineReader::Next(std::string* line, int guard_ms) {
  for (;;) {
    if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      line->assign(buffer_, 0, nl);
      buffer_.erase(0, nl + 1);
      return Result::kLine;
    }
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, guard_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Result::kError;
    if (ready == 0) return Result::kStuck;
    char chunk[4096];
    ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Result::kError;
    if (n == 0) {
      if (buffer_.empty()) return Result::kEnd;
      line->swap(buffer_);  // A last line without its newline.
      buffer_.clear();
      return Result::kLine;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace kam::eventstore::testing
