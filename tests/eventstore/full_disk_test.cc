// A full disk: the append that meets it fails with ResourceExhausted naming
// the cause, the log refuses appends until it is reopened and reports that
// once through on_appends_refused, and nothing that was acknowledged is lost,
// whether the disk fills during blocking appends, during asynchronous ones or
// before the log is opened.

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "eventstore/event_log.h"
#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_support.h"
#include "tests/support/full_disk_env.h"

namespace kam::eventstore {
namespace {

using ::kam::eventstore::testing::ExpectSameEvent;
using ::kam::eventstore::testing::ExpectSameHead;
using ::kam::eventstore::testing::LogTest;
using ::kam::eventstore::testing::MakeEvent;
using ::kam::eventstore::testing::ReadWholeLog;
using ::kam::eventstore::testing::ReadWholeStream;
using ::kam::test_support::FullDisk;
using Fault = ::kam::test_support::FullDisk::Fault;

constexpr int kStreams = 4;

std::string StreamName(int i) { return absl::StrCat("acct-", i % kStreams); }

// What a reader sees of the log.
struct LogState {
  LogHead head;
  std::vector<RecordedEvent> events;
  std::vector<absl::StatusOr<StreamInfo>> streams;  // Of StreamName(0..kStreams-1).
};

LogState ReadState(const EventLog& log) {
  LogState state;
  state.head = log.Head();
  state.events = ReadWholeLog(log);
  for (int i = 0; i < kStreams; ++i) state.streams.push_back(log.GetStreamInfo(StreamName(i)));
  return state;
}

// Records a failure for each difference a reader of `log` could notice.
void ExpectReadsAsBefore(const EventLog& log, const LogState& before) {
  const LogState now = ReadState(log);
  ExpectSameHead(before.head, now.head);
  ASSERT_EQ(before.events.size(), now.events.size());
  for (size_t i = 0; i < before.events.size(); ++i) {
    ExpectSameEvent(before.events[i], now.events[i]);
  }
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(before.streams[i].ok() && now.streams[i].ok()) << now.streams[i].status();
    EXPECT_EQ(before.streams[i]->last_version, now.streams[i]->last_version);
    EXPECT_EQ(before.streams[i]->last_position, now.streams[i]->last_position);
    EXPECT_EQ(before.streams[i]->event_count, now.streams[i]->event_count);
    std::vector<RecordedEvent> stream = ReadWholeStream(log, StreamName(i));
    ASSERT_EQ(stream.size(), before.streams[i]->event_count);
    for (const RecordedEvent& e : stream) {
      ASSERT_TRUE(e.position >= 1 && e.position <= before.events.size()) << e.position;
      ExpectSameEvent(before.events[e.position - 1], e);
    }
  }
}

void ExpectChainVerifies(const EventLog& log, uint64_t events) {
  absl::StatusOr<VerifyResult> verified = log.Verify(0, 0);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->ok) << "position " << verified->first_bad_position << ": "
                            << verified->problem;
  EXPECT_EQ(verified->checked, events);
}

void ExpectNamesFullDisk(const absl::Status& status, const std::string& directory) {
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "No space")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), directory)) << status;
}

// Appends of the asynchronous test: one or two events with ids
// `<append>-<k>`.
std::vector<EventData> EventsOfAppend(int append) {
  std::vector<EventData> events;
  for (int k = 0; k <= append % 2; ++k) events.push_back(MakeEvent(absl::StrCat(append, "-", k)));
  return events;
}

// The answers of numbered asynchronous appends, from the log's threads.
class AnswerBook {
 public:
  struct Answer {
    int calls = 0;
    absl::StatusOr<AppendResult> result;
  };

  explicit AnswerBook(int appends) : answers_(appends) {}

  void Record(int append, absl::StatusOr<AppendResult> result) {
    absl::MutexLock lock(&mu_);
    answers_[append].calls++;
    answers_[append].result = std::move(result);
    ++answered_;
  }

  void AwaitAll() {
    absl::MutexLock lock(&mu_);
    const auto all = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return answered_ >= static_cast<int>(answers_.size());
    };
    mu_.Await(absl::Condition(&all));
  }

  std::vector<Answer> Answers() const {
    absl::MutexLock lock(&mu_);
    return answers_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Answer> answers_ ABSL_GUARDED_BY(mu_);
  int answered_ ABSL_GUARDED_BY(mu_) = 0;
};

// The causes on_appends_refused was called with, from the log's thread.
class Refusals {
 public:
  void Record(const absl::Status& cause) {
    absl::MutexLock lock(&mu_);
    causes_.push_back(cause);
  }

  std::vector<absl::Status> Causes() const {
    absl::MutexLock lock(&mu_);
    return causes_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<absl::Status> causes_ ABSL_GUARDED_BY(mu_);
};

// Records a failure unless on_appends_refused was called exactly once, with
// the code and message of `failed`.
void ExpectRefusedOnceWith(const Refusals& refusals, const absl::Status& failed) {
  const std::vector<absl::Status> causes = refusals.Causes();
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].code(), failed.code()) << causes[0];
  EXPECT_EQ(causes[0].message(), failed.message());
}

// The log in `<tmp>/log`, on a disk the test fills up; Reopen() opens it on
// the default file system once the disk has room again.
class FullDiskTest : public LogTest, public ::testing::WithParamInterface<Fault> {
 protected:
  FullDiskTest() : disk_(GetParam()) {}

  RocksDbLogOptions Options() const override {
    RocksDbLogOptions options = LogTest::Options();
    if (on_full_disk_) options.env = disk_.env();
    options.max_group_appends = max_group_appends_;
    options.on_group_commit = on_group_commit_;
    options.on_appends_refused = [refusals = refusals_](const absl::Status& cause) {
      refusals->Record(cause);
    };
    return options;
  }

  void ReopenOnDefaultDisk() {
    on_full_disk_ = false;
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

  // Twenty appends of one to three events over kStreams streams.
  void AppendAcknowledged() {
    for (int i = 0; i < 20; ++i) {
      std::vector<EventData> events;
      for (int k = 0; k <= i % 3; ++k) events.push_back(MakeEvent(absl::StrCat("ack-", i, "-", k)));
      KAM_ASSERT_OK(log().Append(StreamName(i), ExpectedVersion::Any(), events));
    }
  }

  FullDisk disk_;
  bool on_full_disk_ = true;
  size_t max_group_appends_ = RocksDbLogOptions().max_group_appends;
  std::function<void(size_t, size_t)> on_group_commit_;
  // Shared with every log the test opens, which may call it until closed.
  const std::shared_ptr<Refusals> refusals_ = std::make_shared<Refusals>();
};

TEST_P(FullDiskTest, AppendFailsNamingTheCauseAndAcknowledgedEventsAreKept) {
  ASSERT_NO_FATAL_FAILURE(AppendAcknowledged());
  const LogState before = ReadState(log());
  const uint64_t acknowledged = before.events.size();
  ASSERT_EQ(acknowledged, 39u);
  EXPECT_TRUE(refusals_->Causes().empty()) << "appends refused before the disk filled";

  disk_.Fill();
  const std::vector<EventData> lost = {MakeEvent("lost-0"), MakeEvent("lost-1")};
  absl::StatusOr<AppendResult> failed = log().Append(StreamName(1), ExpectedVersion::Any(), lost);
  ExpectNamesFullDisk(failed.status(), log_dir());
  // Answered after the listener ran, so it has been called by now.
  ExpectRefusedOnceWith(*refusals_, failed.status());

  // Refused until reopened, even once the disk has room again: the failed
  // record's fate on disk is unknown until recovery decides it.
  absl::StatusOr<AppendResult> refused =
      log().Append(StreamName(2), ExpectedVersion::Any(), {MakeEvent("refused-0")});
  ExpectNamesFullDisk(refused.status(), log_dir());
  disk_.Free();
  refused = log().Append(StreamName(3), ExpectedVersion::Any(), {MakeEvent("refused-1")});
  ExpectNamesFullDisk(refused.status(), log_dir());
  // Once for the failure, not for each append it refuses.
  ExpectRefusedOnceWith(*refusals_, failed.status());

  ASSERT_NO_FATAL_FAILURE(ExpectReadsAsBefore(log(), before));
  for (const char* id : {"lost-0", "refused-0", "refused-1"}) {
    absl::StatusOr<std::optional<RecordedEvent>> found = log().FindEvent(id);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_FALSE(found->has_value()) << id;
  }
  ExpectChainVerifies(log(), acknowledged);

  ASSERT_NO_FATAL_FAILURE(ReopenOnDefaultDisk());
  const std::vector<RecordedEvent> after = ReadWholeLog(log());
  ASSERT_GE(after.size(), acknowledged);
  for (size_t i = 0; i < acknowledged; ++i) ExpectSameEvent(before.events[i], after[i]);
  // Recovery may keep the failed append (its record reached the file) or
  // drop it, but only whole.
  if (after.size() > acknowledged) {
    ASSERT_EQ(after.size(), acknowledged + lost.size());
    for (size_t k = 0; k < lost.size(); ++k) {
      const RecordedEvent& e = after[acknowledged + k];
      EXPECT_EQ(e.event_id, lost[k].event_id);
      EXPECT_EQ(e.stream, StreamName(1));
      EXPECT_EQ(e.version, before.streams[1]->last_version + 1 + k);
    }
  }
  ExpectChainVerifies(log(), after.size());
  for (const char* id : {"refused-0", "refused-1"}) {
    absl::StatusOr<std::optional<RecordedEvent>> found = log().FindEvent(id);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_FALSE(found->has_value()) << id;
  }

  // A client that retries the failed append with its event ids gets it
  // recorded exactly once, whichever way recovery went.
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult retried,
                           log().Append(StreamName(1), ExpectedVersion::Any(), lost));
  EXPECT_EQ(retried.first_position, acknowledged + 1);
  const uint64_t head = acknowledged + lost.size();
  EXPECT_EQ(log().Head().position, head);

  KAM_ASSERT_OK_AND_ASSIGN(
      AppendResult next, log().Append(StreamName(0), ExpectedVersion::Any(), {MakeEvent("next")}));
  EXPECT_EQ(next.first_position, head + 1);
  ExpectChainVerifies(log(), head + 1);
  EXPECT_EQ(refusals_->Causes().size(), 1u) << "the reopened log refused appends";
}

TEST_P(FullDiskTest, AsyncAppendsAreEachAnsweredOnceAndAcknowledgedOnesSurvive) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  constexpr int kAppends = kThreads * kPerThread;
  constexpr size_t kGroup = 16;
  // The disk fills once this many appends are committed, while every
  // thread's first half is in flight; each issues its second half after.
  constexpr size_t kFullAfter = 50;

  absl::BlockingCounter first_halves_issued(kAppends / 2);
  absl::Notification full;
  size_t committed = 0;  // Only the commit leader touches it.
  max_group_appends_ = kGroup;
  on_group_commit_ = [&](size_t appends, size_t /*events*/) {
    committed += appends;
    if (committed < kFullAfter || full.HasBeenNotified()) return;
    // AppendAsync never waits for a commit, so holding this one up cannot
    // stop the first halves from being issued.
    first_halves_issued.Wait();
    disk_.Fill();
    full.Notify();
  };
  ASSERT_NO_FATAL_FAILURE(Reopen());

  AnswerBook book(kAppends);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (i == kPerThread / 2) full.WaitForNotification();
        const int append = t * kPerThread + i;
        log().AppendAsync(
            StreamName(append), ExpectedVersion::Any(), EventsOfAppend(append),
            [&book, append](absl::StatusOr<AppendResult> r) { book.Record(append, std::move(r)); });
        if (i < kPerThread / 2) first_halves_issued.DecrementCount();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  book.AwaitAll();
  const LogState before = ReadState(log());
  // Closed while the disk is still full; a second answer would come by now.
  Close();
  on_group_commit_ = nullptr;

  // Every refused append is refused for the one failure that was reported.
  const std::vector<absl::Status> causes = refusals_->Causes();
  ASSERT_EQ(causes.size(), 1u);
  const std::vector<AnswerBook::Answer> answers = book.Answers();
  std::vector<std::pair<uint64_t, uint64_t>> acknowledged_ranges;
  for (int a = 0; a < kAppends; ++a) {
    const AnswerBook::Answer& answer = answers[a];
    ASSERT_EQ(answer.calls, 1) << "append " << a;
    if (answer.result.ok()) {
      acknowledged_ranges.emplace_back(answer.result->first_position, answer.result->last_position);
    } else {
      ExpectNamesFullDisk(answer.result.status(), log_dir());
      EXPECT_EQ(answer.result.status().message(), causes[0].message()) << "append " << a;
    }
    if (a % kPerThread >= kPerThread / 2) {
      EXPECT_FALSE(answer.result.ok()) << "append " << a << " was issued on a full disk";
    }
  }
  EXPECT_GE(acknowledged_ranges.size(), kFullAfter);
  // Appends in flight when the disk filled were refused, not left hanging.
  EXPECT_LT(acknowledged_ranges.size(), kFullAfter + kGroup);
  // Acknowledged positions are exactly 1..head: no append after a refused
  // one was acknowledged.
  std::sort(acknowledged_ranges.begin(), acknowledged_ranges.end());
  uint64_t head = 0;
  for (const auto& [first, last] : acknowledged_ranges) {
    ASSERT_EQ(first, head + 1);
    head = last;
  }
  EXPECT_EQ(before.head.position, head);
  EXPECT_EQ(before.events.size(), head);

  ASSERT_NO_FATAL_FAILURE(ReopenOnDefaultDisk());
  const std::vector<RecordedEvent> after = ReadWholeLog(log());
  ASSERT_GE(after.size(), head);
  for (size_t i = 0; i < head; ++i) ExpectSameEvent(before.events[i], after[i]);
  for (int a = 0; a < kAppends; ++a) {
    if (!answers[a].result.ok()) continue;
    const AppendResult& r = *answers[a].result;
    const std::vector<EventData> events = EventsOfAppend(a);
    ASSERT_EQ(r.last_position - r.first_position + 1, events.size()) << "append " << a;
    for (size_t k = 0; k < events.size(); ++k) {
      const RecordedEvent& e = after[r.first_position - 1 + k];
      EXPECT_EQ(e.event_id, events[k].event_id);
      EXPECT_EQ(e.stream, StreamName(a));
      EXPECT_EQ(e.version, r.first_version + k);
    }
  }
  // Refused appends that recovery kept are whole.
  for (size_t i = head; i < after.size();) {
    const std::string& id = after[i].event_id;
    int a = -1;
    ASSERT_TRUE(absl::SimpleAtoi(id.substr(0, id.find('-')), &a) && a >= 0 && a < kAppends) << id;
    ASSERT_FALSE(answers[a].result.ok()) << "append " << a;
    const std::vector<EventData> events = EventsOfAppend(a);
    ASSERT_LE(i + events.size(), after.size()) << "append " << a << " is torn";
    for (size_t k = 0; k < events.size(); ++k, ++i) {
      EXPECT_EQ(after[i].event_id, events[k].event_id);
    }
  }
  ExpectChainVerifies(log(), after.size());
  KAM_ASSERT_OK_AND_ASSIGN(
      AppendResult next, log().Append(StreamName(0), ExpectedVersion::Any(), {MakeEvent("next")}));
  EXPECT_EQ(next.first_position, after.size() + 1);
}

TEST_P(FullDiskTest, OpeningOnAFullDiskFailsNamingTheCauseAndLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(AppendAcknowledged());
  const LogState before = ReadState(log());
  Close();

  // Recovery writes the events it replays from the WAL into a table file
  // before the log opens, so opening needs room.
  disk_.Fill();
  absl::StatusOr<std::unique_ptr<EventLog>> opened = OpenRocksDbLog(log_dir(), Options());
  ASSERT_FALSE(opened.ok());
  ExpectNamesFullDisk(opened.status(), log_dir());

  disk_.Free();
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(ExpectReadsAsBefore(log(), before));
  ExpectChainVerifies(log(), before.events.size());
  KAM_ASSERT_OK_AND_ASSIGN(
      AppendResult next, log().Append(StreamName(0), ExpectedVersion::Any(), {MakeEvent("next")}));
  EXPECT_EQ(next.first_position, before.events.size() + 1);
}

INSTANTIATE_TEST_SUITE_P(Faults, FullDiskTest,
                         ::testing::ValuesIn(::kam::test_support::kEveryFault),
                         ::kam::test_support::FaultTestName());

}  // namespace
}  // namespace kam::eventstore
