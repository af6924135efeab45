// The real programs as child processes, for the tests of kamd and kamctl:
// Spawn and WaitFor for any program, and Kamd for a server to talk to.
// Needs KAMD_PATH, the kamd binary, defined by the test target.
//
//   Kamd kamd(ServeArgs(data_dir), log_path);
//   ASSERT_TRUE(kamd.WaitUntilListening()) << kamd.logs();
//   auto channel = grpc::CreateChannel(kamd.address(), ...);
//   EXPECT_EQ(kamd.Stop(), 0);

#ifndef KAM_TESTS_SUPPORT_KAMD_PROCESS_H_
#define KAM_TESTS_SUPPORT_KAMD_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

#ifndef KAMD_PATH
#error "tests/support/kamd_process.h needs KAMD_PATH (target_compile_definitions)"
#endif

extern char** environ;

namespace kam::test_support {

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Starts `program` with stdin from `stdin_path` (or /dev/null), stdout to a
// pipe when `stdout_fd` is given (else to `stdout_path`), stderr to
// `stderr_path`, and this environment plus `extra_env`. The child starts
// with no signal blocked, whatever the test's thread blocks, so that the
// tests can stop it. Returns the pid, or -1.
inline pid_t Spawn(const std::string& program, const std::vector<std::string>& args,
                   const std::string& stdin_path, const std::string& stdout_path, int stdout_fd,
                   const std::string& stderr_path, const std::vector<std::string>& extra_env = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(
      &actions, STDIN_FILENO, stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY, 0);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> env;
  for (char** var = environ; *var != nullptr; ++var) env.push_back(*var);
  for (const std::string& var : extra_env) env.push_back(const_cast<char*>(var.c_str()));
  env.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), env.data()) != 0) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  return pid;
}

// The wait status once `pid` exited, or -1 (after killing it) at timeout.
inline int WaitFor(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  return status;
}

// The exit code of a wait status, or -1 when the program did not exit.
inline int ExitCode(int wait_status) {
  return wait_status >= 0 && WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

// Arguments for kamd serving `data` on a free loopback port of its choosing.
inline std::vector<std::string> ServeArgs(const std::string& data,
                                          const std::vector<std::string>& extra_args = {}) {
  std::vector<std::string> args = {"--data", data, "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return args;
}

// kamd as a child process: stdout through a pipe (for its "listening on"
// line), stderr into a file (its logs). Killed if still running when
// destroyed.
class Kamd {
 public:
  Kamd(const std::vector<std::string>& args, std::string stderr_path)
      : stderr_path_(std::move(stderr_path)) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe failed";
      return;
    }
    pid_ = Spawn(KAMD_PATH, args, "", "", out[1], stderr_path_);
    if (pid_ < 0) ADD_FAILURE() << "cannot start " << KAMD_PATH;
    close(out[1]);
    stdout_fd_ = out[0];
  }
  Kamd(const Kamd&) = delete;
  Kamd& operator=(const Kamd&) = delete;

  ~Kamd() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }

  // Reads stdout until kamd's start line ("kamd: listening on HOST:PORT,
  // ..."); false when kamd exits or says nothing in time.
  bool WaitUntilListening(absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (stdout_.find('\n') == std::string::npos) {
      pollfd readable{stdout_fd_, POLLIN, 0};
      const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (pid_ < 0 || wait_ms <= 0 || poll(&readable, 1, wait_ms) <= 0) return false;
      char buffer[4096];
      const ssize_t n = read(stdout_fd_, buffer, sizeof(buffer));
      if (n <= 0) return false;
      stdout_.append(buffer, n);
    }
    return absl::StartsWith(stdout_, "kamd: listening on ") && !address().empty();
  }

  // HOST:PORT of the gRPC server, from the "listening on" line.
  std::string address() const { return Between(stdout_, "listening on ", ","); }
  std::string metrics_address() const { return Between(stdout_, "metrics on http://", "/"); }
  const std::string& stdout_text() const { return stdout_; }
  std::string logs() const { return ReadWholeFile(stderr_path_); }

  void Signal(int signal) {
    if (pid_ > 0) kill(pid_, signal);  // Never kill(-1, ...): every process.
  }

  // The wait status once kamd exited, or -1 (and a test failure) at timeout.
  int Wait(absl::Duration timeout = absl::Seconds(60)) {
    if (pid_ <= 0) return -1;
    const absl::Time deadline = absl::Now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        ADD_FAILURE() << "kamd did not exit in time";
        return -1;  // The destructor kills it.
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    exited_ = true;
    return status;
  }

  // SIGTERM, then kamd's exit code.
  int Stop() {
    Signal(SIGTERM);
    return ExitCode(Wait(absl::Seconds(30)));
  }

 private:
  static std::string Between(const std::string& text, const std::string& start,
                             const std::string& end) {
    size_t from = text.find(start);
    if (from == std::string::npos) return "";
    from += start.size();
    size_t to = text.find(end, from);
    return to == std::string::npos ? "" : text.substr(from, to - from);
  }

  std::string stderr_path_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool exited_ = false;
  std::string stdout_;
};

}  // namespace kam::test_support

#endif  // KAM_TESTS_SUPPORT_KAMD_PROCESS_H_
