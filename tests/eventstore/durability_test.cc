// Durability: what a reopen keeps, and that acknowledged appends survive a
// process killed with SIGKILL in the middle of appending.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/event_log.h"
#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "tests/eventstore/child_process.h"
#include "tests/eventstore/test_support.h"

namespace kam::eventstore {
namespace {

using ::kam::eventstore::testing::ChildArgs;
using ::kam::eventstore::testing::ExpectSameEvent;
using ::kam::eventstore::testing::ExpectSameHead;
using ::kam::eventstore::testing::ExpectSameResult;
using ::kam::eventstore::testing::LineReader;
using ::kam::eventstore::testing::LogTest;
using ::kam::eventstore::testing::MakeEvent;
using ::kam::eventstore::testing::ReadWholeLog;
using ::kam::eventstore::testing::SpawnChild;
using ::kam::eventstore::testing::TempDir;

class ReopenTest : public LogTest {
 protected:
  // Three streams, batches, metadata, binary data, an assigned event id.
  void AppendSample() {
    for (int i = 0; i < 12; ++i) {
      clock_.Advance(absl::Seconds(1));
      std::vector<EventData> batch = {MakeEvent(absl::StrCat("e", i, "-a"), "kam.v1.A",
                                                std::string("\0\x01\xfe", 3) + std::to_string(i))};
      if (i % 3 == 0) batch.push_back(MakeEvent(absl::StrCat("e", i, "-b"), "kam.v1.B"));
      if (i == 5) batch.push_back(MakeEvent("", "kam.v1.Assigned"));
      KAM_ASSERT_OK(log().Append(absl::StrCat("acct-", i % 3), ExpectedVersion::Any(), batch));
    }
  }
};

TEST_F(ReopenTest, KeepsEventsStreamsAndHead) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  const std::vector<RecordedEvent> before = ReadWholeLog(log());
  const LogHead head = log().Head();
  std::vector<StreamInfo> infos;
  for (int s = 0; s < 3; ++s) {
    KAM_ASSERT_OK_AND_ASSIGN(StreamInfo info, log().GetStreamInfo(absl::StrCat("acct-", s)));
    infos.push_back(info);
  }

  ASSERT_NO_FATAL_FAILURE(Reopen());

  ExpectSameHead(head, log().Head());
  EXPECT_NE(log().Head().hash, GenesisHash());
  const std::vector<RecordedEvent> after = ReadWholeLog(log());
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) ExpectSameEvent(before[i], after[i]);
  for (int s = 0; s < 3; ++s) {
    KAM_ASSERT_OK_AND_ASSIGN(StreamInfo info, log().GetStreamInfo(absl::StrCat("acct-", s)));
    EXPECT_EQ(info.last_version, infos[s].last_version);
    EXPECT_EQ(info.last_position, infos[s].last_position);
    EXPECT_EQ(info.event_count, infos[s].event_count);
    EXPECT_EQ(info.first_recorded_at, infos[s].first_recorded_at);
    EXPECT_EQ(info.last_recorded_at, infos[s].last_recorded_at);
  }
  KAM_ASSERT_OK_AND_ASSIGN(VerifyResult v, log().Verify(1, 0));
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.checked, before.size());
  EXPECT_EQ(v.head_hash, head.hash);
}

TEST_F(ReopenTest, RetryAfterReopenReturnsOriginalResult) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  const std::vector<EventData> batch = {MakeEvent("retry-1"), MakeEvent("retry-2")};
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult original,
                           log().Append("payments", ExpectedVersion::NoStream(), batch));
  KAM_ASSERT_OK(log().Append("acct-0", ExpectedVersion::Any(), {MakeEvent("later")}));
  const LogHead head = log().Head();

  ASSERT_NO_FATAL_FAILURE(Reopen());

  KAM_ASSERT_OK_AND_ASSIGN(AppendResult retry,
                           log().Append("payments", ExpectedVersion::NoStream(), batch));
  ExpectSameResult(original, retry);
  ExpectSameHead(head, log().Head());
  EXPECT_EQ(log()
                .Append("payments", ExpectedVersion::Any(), {MakeEvent("retry-1", "t", "changed")})
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(
      log().Append("elsewhere", ExpectedVersion::Any(), {MakeEvent("retry-2")}).status().code(),
      absl::StatusCode::kAlreadyExists);
  ExpectSameHead(head, log().Head());
}

TEST_F(ReopenTest, AppendsAfterReopenContinueChainAndVersions) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  const LogHead head = log().Head();
  KAM_ASSERT_OK_AND_ASSIGN(StreamInfo info, log().GetStreamInfo("acct-1"));

  ASSERT_NO_FATAL_FAILURE(Reopen());

  EXPECT_EQ(log().Append("acct-1", ExpectedVersion::NoStream(), {MakeEvent("n-0")}).status().code(),
            absl::StatusCode::kAborted);
  KAM_ASSERT_OK_AND_ASSIGN(
      AppendResult r,
      log().Append("acct-1", ExpectedVersion::Exact(info.last_version), {MakeEvent("n-1")}));
  EXPECT_EQ(r.first_version, info.last_version + 1);
  EXPECT_EQ(r.first_position, head.position + 1);
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult read,
                           log().ReadAll(r.first_position, Direction::kForward, 1, LogFilter()));
  ASSERT_EQ(read.events.size(), 1u);
  EXPECT_EQ(read.events[0].prev_hash, head.hash);
  KAM_ASSERT_OK_AND_ASSIGN(VerifyResult v, log().Verify(1, 0));
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.checked, head.position + 1);
}

TEST_F(ReopenTest, RecordedAtNeverGoesBackwardsAcrossReopen) {
  const absl::Time t1 = absl::FromUnixSeconds(1800000000);
  clock_.Set(t1);
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a")}));
  Close();
  clock_.Set(t1 - absl::Hours(1));
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(log().Head().recorded_at, t1);
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("b")}));
  std::vector<RecordedEvent> all = ReadWholeLog(log());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_GE(all[1].recorded_at, all[0].recorded_at);
}

class UnsafeNoFsyncTest : public LogTest {
 protected:
  RocksDbLogOptions Options() const override {
    RocksDbLogOptions options = LogTest::Options();
    options.unsafe_skip_fsync_on_append = true;
    return options;
  }
};

TEST_F(UnsafeNoFsyncTest, CleanCloseStillKeepsEverything) {
  for (int i = 0; i < 50; ++i) {
    KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent(absl::StrCat(i))}));
  }
  const LogHead head = log().Head();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ExpectSameHead(head, log().Head());
  KAM_ASSERT_OK_AND_ASSIGN(VerifyResult v, log().Verify(1, 0));
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.checked, 50u);
}

// --- Killing a process with SIGKILL mid-append. ---

constexpr int kAppenderThreads = 4;
constexpr int kAcksBeforeKill = 2000;

// An acknowledged append as the child reported it.
struct Ack {
  std::string stream;
  uint64_t first_version = 0;
  uint64_t first_position = 0;
  std::vector<std::string> event_ids;
};

// The events of an acked append can be rebuilt from their ids alone.
EventData AckedEvent(const std::string& id) { return MakeEvent(id, "kam.v1.Killed", id); }

// Child role: appends from several threads until killed; after each
// acknowledged append writes one line
//   ACK <stream> <first_version> <first_position> <id>...
// with a single write() below PIPE_BUF, so lines never interleave.
int AppendUntilKilled(const ChildArgs& args) {
  RocksDbLogOptions options;  // fsync before acknowledging, system clock.
  absl::StatusOr<std::unique_ptr<EventLog>> opened = OpenRocksDbLog(args.directory, options);
  if (!opened.ok()) {
    std::string line = absl::StrCat("ERR open: ", opened.status().ToString(), "\n");
    (void)!write(args.fd, line.data(), line.size());
    return 2;
  }
  EventLog& log = **opened;
  std::vector<std::thread> threads;
  for (int t = 0; t < kAppenderThreads; ++t) {
    threads.emplace_back([&log, &args, t] {
      std::mt19937 rng(static_cast<uint32_t>(t) + 1);
      for (uint64_t i = 0;; ++i) {
        const std::string stream = absl::StrCat("acct-", rng() % 6);
        const int count = rng() % 4 == 0 ? 1 + static_cast<int>(rng() % 3) : 1;
        std::vector<EventData> events;
        for (int j = 0; j < count; ++j) {
          events.push_back(AckedEvent(absl::StrCat("k", t, "-", i, "-", j)));
        }
        absl::StatusOr<AppendResult> r = log.Append(stream, ExpectedVersion::Any(), events);
        std::string line;
        if (r.ok()) {
          line = absl::StrCat("ACK ", stream, " ", r->first_version, " ", r->first_position);
          for (const EventData& e : events) absl::StrAppend(&line, " ", e.event_id);
        } else {
          line = absl::StrCat("ERR ", r.status().ToString());
        }
        line.push_back('\n');
        if (write(args.fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
            !r.ok()) {
          _exit(3);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return 0;
}
KAM_REGISTER_CHILD_ROLE(append_until_killed, AppendUntilKilled);

bool ParseAck(const std::string& line, Ack* ack) {
  std::vector<std::string> fields = absl::StrSplit(line, ' ');
  if (fields.size() < 5 || fields[0] != "ACK") return false;
  ack->stream = fields[1];
  if (!absl::SimpleAtoi(fields[2], &ack->first_version) ||
      !absl::SimpleAtoi(fields[3], &ack->first_position)) {
    return false;
  }
  ack->event_ids.assign(fields.begin() + 4, fields.end());
  return true;
}

// This kills a real process: the child is a separate process appending with
// fsync-before-ack, and gets SIGKILL while appends are in flight. It proves
// the log recovers every acknowledged event after a process crash. A power
// loss is covered by the same rule (nothing is acknowledged before its
// fsync), which this test cannot exercise.
TEST(DurabilityTest, AcknowledgedAppendsSurviveSigkill) {
  TempDir dir;
  const std::string log_dir = dir.Join("log");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = SpawnChild("append_until_killed", log_dir, fds[1]);
  close(fds[1]);
  ASSERT_GT(child, 0);

  std::vector<Ack> acks;
  LineReader reader(fds[0]);
  std::string line;
  std::string child_error;
  bool killed = false;
  for (;;) {
    LineReader::Result got = reader.Next(&line);
    if (got == LineReader::Result::kLine) {
      Ack ack;
      if (ParseAck(line, &ack)) {
        acks.push_back(std::move(ack));
      } else if (child_error.empty()) {
        child_error = line;
      }
      if (!killed && acks.size() >= static_cast<size_t>(kAcksBeforeKill)) {
        ASSERT_EQ(kill(child, SIGKILL), 0);
        killed = true;
      }
      continue;  // Until EOF: acks written before the kill count too.
    }
    if (got == LineReader::Result::kStuck && !killed) ADD_FAILURE() << "child stopped acking";
    if (!killed) kill(child, SIGKILL);
    break;
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(killed) << "child ended early after " << acks.size() << " acks: " << child_error;
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  EXPECT_EQ(child_error, "");
  ASSERT_GE(acks.size(), static_cast<size_t>(kAcksBeforeKill));

  KAM_ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventLog> log,
                           OpenRocksDbLog(log_dir, RocksDbLogOptions()));

  // Every acknowledged event is there, where it was acknowledged.
  std::map<std::string, uint64_t> acked_position;
  uint64_t highest = 0;
  for (const Ack& ack : acks) {
    const uint64_t n = ack.event_ids.size();
    absl::StatusOr<std::vector<RecordedEvent>> events =
        log->ReadStream(ack.stream, ack.first_version, Direction::kForward, n);
    ASSERT_TRUE(events.ok()) << ack.stream << ": " << events.status();
    ASSERT_EQ(events->size(), n) << ack.stream << " from version " << ack.first_version;
    for (uint64_t j = 0; j < n; ++j) {
      const RecordedEvent& e = (*events)[j];
      EXPECT_EQ(e.event_id, ack.event_ids[j]);
      EXPECT_EQ(e.version, ack.first_version + j);
      EXPECT_EQ(e.position, ack.first_position + j);
      EXPECT_EQ(e.data, ack.event_ids[j]);
      acked_position[ack.event_ids[j]] = ack.first_position + j;
    }
    highest = std::max(highest, ack.first_position + n - 1);
  }

  // The recovered log is whole: dense positions, a sound chain.
  const LogHead head = log->Head();
  EXPECT_GE(head.position, highest);
  std::vector<RecordedEvent> all = ReadWholeLog(*log);
  ASSERT_EQ(all.size(), head.position);
  size_t acked_found = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].position, i + 1);
    auto it = acked_position.find(all[i].event_id);
    if (it != acked_position.end()) {
      EXPECT_EQ(it->second, all[i].position);
      ++acked_found;
    }
  }
  EXPECT_EQ(acked_found, acked_position.size());
  KAM_ASSERT_OK_AND_ASSIGN(VerifyResult v, log->Verify(1, 0));
  EXPECT_TRUE(v.ok) << "at " << v.first_bad_position << ": " << v.problem;
  EXPECT_EQ(v.checked, head.position);
  EXPECT_EQ(v.head_hash, head.hash);

  // Idempotency survived the crash, and the log takes new appends.
  const Ack& last = acks.back();
  std::vector<EventData> again;
  for (const std::string& id : last.event_ids) again.push_back(AckedEvent(id));
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult retry,
                           log->Append(last.stream, ExpectedVersion::Any(), again));
  EXPECT_EQ(retry.first_position, last.first_position);
  EXPECT_EQ(retry.first_version, last.first_version);
  KAM_ASSERT_OK_AND_ASSIGN(
      AppendResult fresh,
      log->Append("after-crash", ExpectedVersion::NoStream(), {MakeEvent("after-crash-1")}));
  EXPECT_EQ(fresh.first_position, head.position + 1);
}

}  // namespace
}  // namespace kam::eventstore
