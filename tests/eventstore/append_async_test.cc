// AppendAsync: the same commit queue as Append, answered by callback once
// the group is durable; blocking and asynchronous appends share groups.

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_support.h"

namespace kam::eventstore::testing {
namespace {

class AppendAsyncTest : public LogTest {};

TEST_F(AppendAsyncTest, AnswersWithTheResultAppendWouldGive) {
  absl::Notification done;
  absl::StatusOr<AppendResult> result;
  log().AppendAsync("s", ExpectedVersion::NoStream(), {MakeEvent("a1"), MakeEvent("a2")},
                    [&](absl::StatusOr<AppendResult> r) {
                      result = std::move(r);
                      done.Notify();
                    });
  done.WaitForNotification();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first_position, 1u);
  EXPECT_EQ(result->last_position, 2u);
  EXPECT_EQ(result->last_version, 1u);
  // Durable and readable once answered.
  EXPECT_EQ(log().Head().position, 2u);
  // The same ids again: the original result, as Append gives.
  auto retry = log().Append("s", ExpectedVersion::NoStream(), {MakeEvent("a1"), MakeEvent("a2")});
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->first_position, 1u);
}

TEST_F(AppendAsyncTest, InvalidInputAndConflictsAreAnsweredWithTheirErrors) {
  absl::StatusOr<AppendResult> invalid;
  log().AppendAsync("", ExpectedVersion::Any(), {MakeEvent("x")},
                    [&](absl::StatusOr<AppendResult> r) { invalid = std::move(r); });
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  absl::Notification done;
  absl::StatusOr<AppendResult> conflict;
  log().AppendAsync("s", ExpectedVersion::Exact(3), {MakeEvent("y")},
                    [&](absl::StatusOr<AppendResult> r) {
                      conflict = std::move(r);
                      done.Notify();
                    });
  done.WaitForNotification();
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(log().Head().position, 0u);
}

TEST_F(AppendAsyncTest, MixedWithBlockingAppendsPositionsStayDenseAndEveryCallerIsAnswered) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  absl::BlockingCounter answered(kThreads * kPerThread);
  absl::Mutex mu;
  std::vector<uint64_t> positions;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = absl::StrCat("t", t, "-", i);
        const std::string stream = absl::StrCat("s", i % 5);
        if ((t + i) % 2 == 0) {
          auto r = log().Append(stream, ExpectedVersion::Any(), {MakeEvent(id)});
          if (!r.ok()) failures.fetch_add(1);
          if (r.ok()) {
            absl::MutexLock lock(&mu);
            positions.push_back(r->first_position);
          }
          answered.DecrementCount();
        } else {
          log().AppendAsync(stream, ExpectedVersion::Any(), {MakeEvent(id)},
                            [&](absl::StatusOr<AppendResult> r) {
                              if (!r.ok()) failures.fetch_add(1);
                              if (r.ok()) {
                                absl::MutexLock lock(&mu);
                                positions.push_back(r->first_position);
                              }
                              answered.DecrementCount();
                            });
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  answered.Wait();
  EXPECT_EQ(failures.load(), 0);
  std::sort(positions.begin(), positions.end());
  ASSERT_EQ(positions.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < positions.size(); ++i) ASSERT_EQ(positions[i], i + 1);
  EXPECT_EQ(log().Head().position, positions.size());
  auto verified = log().Verify(0, 0);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok);
}

// A commit that cannot finish (its hook waits) must not hold the caller:
// AppendAsync hands the group to the log's thread, and `done` runs there.
class AppendAsyncHeldCommitTest : public LogTest {
 protected:
  RocksDbLogOptions Options() const override {
    RocksDbLogOptions options = LogTest::Options();
    options.on_group_commit = [this](size_t, size_t) { release_.WaitForNotification(); };
    return options;
  }
  void TearDown() override {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

  absl::Notification release_;
};

TEST_F(AppendAsyncHeldCommitTest, CallerReturnsBeforeTheCommitAndIsAnsweredElsewhere) {
  absl::Notification returned;
  absl::Notification done;
  std::thread::id caller_id;
  std::thread::id done_id;
  std::thread caller([&] {
    caller_id = std::this_thread::get_id();
    log().AppendAsync("s", ExpectedVersion::Any(), {MakeEvent("held")},
                      [&](absl::StatusOr<AppendResult> r) {
                        EXPECT_TRUE(r.ok()) << r.status();
                        done_id = std::this_thread::get_id();
                        done.Notify();
                      });
    returned.Notify();
  });
  // Bounded so that a caller held by the commit fails instead of hanging.
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(60)))
      << "AppendAsync waited for the commit";
  EXPECT_FALSE(done.HasBeenNotified());
  release_.Notify();
  done.WaitForNotification();
  caller.join();
  EXPECT_NE(done_id, caller_id);
  EXPECT_EQ(log().Head().position, 1u);
}

// A blocking appender that leads a group goes on to commit the asynchronous
// appends queued behind it, but never runs their `done`: it may hold locks
// that `done` takes (the Accounts service's do).
class BlockingLeaderTest : public LogTest {
 protected:
  RocksDbLogOptions Options() const override {
    RocksDbLogOptions options = LogTest::Options();
    options.on_group_commit = [this](size_t, size_t) {
      if (held_.HasBeenNotified()) return;
      held_.Notify();
      release_.WaitForNotification();
    };
    return options;
  }
  void TearDown() override {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

  // Options() is const; the hook outlives that call.
  mutable absl::Notification held_;
  absl::Notification release_;
};

TEST_F(BlockingLeaderTest, AsynchronousAppendsItCommitsAreAnsweredOnTheLogsThread) {
  constexpr int kAsync = 3;
  std::thread::id leader_id;
  std::thread leader([&] {
    leader_id = std::this_thread::get_id();
    EXPECT_TRUE(log().Append("lead", ExpectedVersion::Any(), {MakeEvent("lead")}).ok());
  });
  held_.WaitForNotification();  // The leader's commit is under way.
  absl::Mutex mu;
  std::vector<std::thread::id> done_ids;
  absl::BlockingCounter answered(kAsync);
  for (int i = 0; i < kAsync; ++i) {
    log().AppendAsync("queued", ExpectedVersion::Any(), {MakeEvent(absl::StrCat("queued-", i))},
                      [&](absl::StatusOr<AppendResult> r) {
                        EXPECT_TRUE(r.ok()) << r.status();
                        absl::MutexLock lock(&mu);
                        done_ids.push_back(std::this_thread::get_id());
                        answered.DecrementCount();
                      });
  }
  release_.Notify();
  leader.join();
  answered.Wait();
  EXPECT_EQ(log().Head().position, static_cast<uint64_t>(1 + kAsync));
  absl::MutexLock lock(&mu);
  for (const std::thread::id& id : done_ids) EXPECT_NE(id, leader_id);
}

TEST_F(AppendAsyncTest, ClosingTheLogAnswersEveryPendingAppendOnce) {
  constexpr int kAppends = 500;
  std::atomic<int> answers{0};
  std::atomic<int> failures{0};
  for (int i = 0; i < kAppends; ++i) {
    log().AppendAsync(absl::StrCat("s", i % 7), ExpectedVersion::Any(),
                      {MakeEvent(absl::StrCat("close-", i))}, [&](absl::StatusOr<AppendResult> r) {
                        if (!r.ok()) failures.fetch_add(1);
                        answers.fetch_add(1);
                      });
  }
  Close();  // With appends still queued.
  EXPECT_EQ(answers.load(), kAppends);
  EXPECT_EQ(failures.load(), 0);
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(log().Head().position, static_cast<uint64_t>(kAppends));
}

}  // namespace
}  // namespace kam::eventstore::testing
