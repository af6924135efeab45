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

}  // namespace
}  // namespace kam::eventstore::testing
