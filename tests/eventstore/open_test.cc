// Opening a log: one opener at a time (in this process or another), and
// create_if_missing.

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/event_log.h"
#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "tests/eventstore/child_process.h"
#include "tests/eventstore/test_support.h"

namespace kam::eventstore {
namespace {

using ::kam::eventstore::testing::ChildArgs;
using ::kam::eventstore::testing::LineReader;
using ::kam::eventstore::testing::LogTest;
using ::kam::eventstore::testing::MakeEvent;
using ::kam::eventstore::testing::SpawnChild;
using ::kam::eventstore::testing::TempDir;

// Child role: opens an existing log, writes the status message to the pipe
// and exits with the status code (0 when it opened).
int TryOpen(const ChildArgs& args) {
  RocksDbLogOptions options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<EventLog>> log = OpenRocksDbLog(args.directory, options);
  std::string message = log.ok() ? "opened" : std::string(log.status().message());
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  message.push_back('\n');
  (void)!write(args.fd, message.data(), message.size());
  return static_cast<int>(log.status().code());
}
KAM_REGISTER_CHILD_ROLE(try_open, TryOpen);

struct ChildOutcome {
  int exit_code = -1;  // -1 when the child did not exit normally.
  std::string message;
};

// Runs TryOpen on `directory` in another process.
ChildOutcome TryOpenInAnotherProcess(const std::string& directory) {
  ChildOutcome outcome;
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return outcome;
  }
  const pid_t child = SpawnChild("try_open", directory, fds[1]);
  close(fds[1]);
  LineReader reader(fds[0]);
  std::string line;
  if (reader.Next(&line) == LineReader::Result::kLine) outcome.message = line;
  close(fds[0]);
  if (child <= 0) return outcome;
  int status = 0;
  if (waitpid(child, &status, 0) != child) {
    ADD_FAILURE() << "waitpid failed";
    return outcome;
  }
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  return outcome;
}

using OpenTest = LogTest;

TEST_F(OpenTest, SecondOpenInSameProcessFailsNamingDirectory) {
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a")}));
  absl::StatusOr<std::unique_ptr<EventLog>> second = OpenRocksDbLog(log_dir(), Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  EXPECT_TRUE(absl::StrContains(second.status().message(), log_dir())) << second.status();
  // The first opener is undisturbed.
  KAM_EXPECT_OK(log().Append("acct", ExpectedVersion::Exact(0), {MakeEvent("b")}));
  EXPECT_EQ(log().Head().position, 2u);
}

TEST_F(OpenTest, SecondOpenInAnotherProcessFailsNamingDirectory) {
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a")}));
  ChildOutcome outcome = TryOpenInAnotherProcess(log_dir());
  EXPECT_EQ(outcome.exit_code, static_cast<int>(absl::StatusCode::kFailedPrecondition))
      << outcome.message;
  EXPECT_TRUE(absl::StrContains(outcome.message, log_dir())) << outcome.message;
  KAM_EXPECT_OK(log().Append("acct", ExpectedVersion::Exact(0), {MakeEvent("b")}));
}

TEST_F(OpenTest, LogCanBeOpenedAgainOnceClosed) {
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a")}));
  Close();
  ChildOutcome outcome = TryOpenInAnotherProcess(log_dir());
  EXPECT_EQ(outcome.exit_code, 0) << outcome.message;
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(log().Head().position, 1u);
}

TEST_F(OpenTest, CreateIfMissingFalseOpensExistingLog) {
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a")}));
  Close();
  RocksDbLogOptions options = Options();
  options.create_if_missing = false;
  KAM_ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventLog> reopened, OpenRocksDbLog(log_dir(), options));
  EXPECT_EQ(reopened->Head().position, 1u);
}

TEST(OpenMissingTest, CreateIfMissingFalseOnMissingDirectoryIsNotFound) {
  TempDir dir;
  const std::string missing = dir.Join("absent");
  RocksDbLogOptions options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<EventLog>> log = OpenRocksDbLog(missing, options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kNotFound) << log.status();
  EXPECT_TRUE(absl::StrContains(log.status().message(), missing)) << log.status();
  EXPECT_FALSE(std::filesystem::exists(missing)) << "a failed open must not create it";
}

TEST(OpenMissingTest, CreateIfMissingFalseOnEmptyDirectoryIsNotFound) {
  TempDir dir;
  const std::string empty = dir.Join("empty");
  ASSERT_TRUE(std::filesystem::create_directory(empty));
  RocksDbLogOptions options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<EventLog>> log = OpenRocksDbLog(empty, options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kNotFound) << log.status();
  EXPECT_TRUE(std::filesystem::is_empty(empty)) << "a failed open must not create a log";
}

TEST(OpenMissingTest, CreateIfMissingCreatesEmptyLog) {
  TempDir dir;
  const std::string fresh = dir.Join("fresh");
  KAM_ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventLog> log,
                           OpenRocksDbLog(fresh, RocksDbLogOptions()));
  EXPECT_TRUE(std::filesystem::is_directory(fresh));
  EXPECT_EQ(log->Head().position, 0u);
}

TEST(OpenMissingTest, PathThatIsAFileFailsNamingIt) {
  TempDir dir;
  const std::string file = dir.Join("plain-file");
  std::ofstream(file) << "not a log";
  absl::StatusOr<std::unique_ptr<EventLog>> log = OpenRocksDbLog(file, RocksDbLogOptions());
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(absl::StrContains(log.status().message(), file)) << log.status();
}

}  // namespace
}  // namespace kam::eventstore
