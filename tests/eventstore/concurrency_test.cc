// Concurrent appends through the group commit: dense positions and versions,
// optimistic concurrency and idempotency between appends of one group,
// tailing readers, head listeners.

#include <atomic>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "eventstore/clock.h"
#include "eventstore/event_log.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_support.h"

namespace kam::eventstore {
namespace {

using ::kam::eventstore::testing::ExpectSameResult;
using ::kam::eventstore::testing::LogTest;
using ::kam::eventstore::testing::MakeEvent;
using ::kam::eventstore::testing::ReadWholeLog;
using ::kam::eventstore::testing::ReadWholeStream;

constexpr int kThreads = 16;
constexpr int kStreams = 8;

// A clock that moves forward a microsecond per call but every third call
// reads 5 ms in the past, as a stepped system clock might.
class JitteryClock final : public Clock {
 public:
  absl::Time Now() const override {
    const int64_t n = calls_.fetch_add(1);
    absl::Time t = absl::FromUnixSeconds(1800000000) + absl::Microseconds(n);
    return n % 3 == 0 ? t - absl::Milliseconds(5) : t;
  }

 private:
  mutable std::atomic<int64_t> calls_{0};
};

struct PlannedAppend {
  std::string stream;
  std::vector<EventData> events;
};

struct Workload {
  std::vector<std::vector<PlannedAppend>> per_thread;
  uint64_t total_events = 0;
};

// `appends` appends per thread to one of kStreams streams at random; about
// a third of them carry 2 or 3 events. Deterministic for a given seed.
Workload MakeWorkload(int appends, uint32_t seed) {
  Workload w;
  std::mt19937 rng(seed);
  for (int t = 0; t < kThreads; ++t) {
    std::vector<PlannedAppend>& plan = w.per_thread.emplace_back();
    for (int a = 0; a < appends; ++a) {
      PlannedAppend& p = plan.emplace_back();
      p.stream = absl::StrCat("acct-", rng() % kStreams);
      const uint32_t roll = rng() % 6;
      const int count = roll < 4 ? 1 : static_cast<int>(roll - 2);  // 1, 2 or 3.
      for (int e = 0; e < count; ++e) {
        p.events.push_back(MakeEvent(absl::StrCat("t", t, "-a", a, "-e", e),
                                     absl::StrCat("kam.v1.T", e), absl::StrCat(t, "/", a)));
      }
      w.total_events += count;
    }
  }
  return w;
}

struct Outcome {
  absl::StatusOr<AppendResult> result = absl::UnknownError("not run");
  uint64_t head_after = 0;  // Head().position right after Append returned.
};

// Runs every thread's plan at once with ExpectedVersion::Any().
std::vector<std::vector<Outcome>> RunWorkload(EventLog& log, const Workload& w) {
  std::vector<std::vector<Outcome>> outcomes(w.per_thread.size());
  absl::Notification start;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < w.per_thread.size(); ++t) {
    outcomes[t].resize(w.per_thread[t].size());
    threads.emplace_back([&, t] {
      start.WaitForNotification();
      for (size_t a = 0; a < w.per_thread[t].size(); ++a) {
        const PlannedAppend& p = w.per_thread[t][a];
        outcomes[t][a].result = log.Append(p.stream, ExpectedVersion::Any(), p.events);
        outcomes[t][a].head_after = log.Head().position;
      }
    });
  }
  start.Notify();
  for (std::thread& t : threads) t.join();
  return outcomes;
}

// Everything a finished workload must have left in the log.
void ExpectLogHoldsWorkloadExactly(const EventLog& log, const Workload& w,
                                   const std::vector<std::vector<Outcome>>& outcomes) {
  // Every append succeeded, was readable when acknowledged, and got
  // contiguous coordinates.
  uint64_t acknowledged = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> expected;  // id -> (position, version)
  for (size_t t = 0; t < w.per_thread.size(); ++t) {
    for (size_t a = 0; a < w.per_thread[t].size(); ++a) {
      const PlannedAppend& p = w.per_thread[t][a];
      const Outcome& o = outcomes[t][a];
      ASSERT_TRUE(o.result.ok()) << "thread " << t << " append " << a << ": " << o.result.status();
      const AppendResult& r = *o.result;
      const uint64_t n = p.events.size();
      EXPECT_EQ(r.last_position - r.first_position + 1, n) << "thread " << t << " append " << a;
      EXPECT_EQ(r.last_version - r.first_version + 1, n) << "thread " << t << " append " << a;
      EXPECT_GE(o.head_after, r.last_position) << "acknowledged before readable";
      for (uint64_t j = 0; j < n; ++j) {
        expected[p.events[j].event_id] = {r.first_position + j, r.first_version + j};
      }
      acknowledged += n;
    }
  }
  EXPECT_EQ(acknowledged, w.total_events);
  EXPECT_EQ(log.Head().position, w.total_events);

  // Global positions are exactly 1..N, in order, and each event is found once.
  std::vector<RecordedEvent> all = ReadWholeLog(log, 997);
  ASSERT_EQ(all.size(), w.total_events);
  std::set<std::string> seen;
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].position, i + 1);
    EXPECT_TRUE(seen.insert(all[i].event_id).second) << "twice: " << all[i].event_id;
    auto it = expected.find(all[i].event_id);
    ASSERT_NE(it, expected.end()) << "unknown event " << all[i].event_id;
    EXPECT_EQ(all[i].position, it->second.first) << all[i].event_id;
    EXPECT_EQ(all[i].version, it->second.second) << all[i].event_id;
    if (i > 0) {
      EXPECT_GE(all[i].recorded_at, all[i - 1].recorded_at) << "position " << i + 1;
      EXPECT_EQ(all[i].prev_hash, all[i - 1].hash) << "position " << i + 1;
    }
  }
  EXPECT_EQ(seen.size(), expected.size());

  // Each stream's versions are exactly 0..k-1 in position order.
  uint64_t total_in_streams = 0;
  for (int s = 0; s < kStreams; ++s) {
    const std::string stream = absl::StrCat("acct-", s);
    std::vector<RecordedEvent> events = ReadWholeStream(log, stream);
    for (size_t v = 0; v < events.size(); ++v) {
      EXPECT_EQ(events[v].version, v) << stream;
      EXPECT_EQ(events[v].stream, stream);
      if (v > 0) {
        EXPECT_GT(events[v].position, events[v - 1].position) << stream;
      }
    }
    if (events.empty()) continue;
    absl::StatusOr<StreamInfo> info = log.GetStreamInfo(stream);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->event_count, events.size()) << stream;
    EXPECT_EQ(info->last_version, events.size() - 1) << stream;
    EXPECT_EQ(info->last_position, events.back().position) << stream;
    total_in_streams += info->event_count;
  }
  EXPECT_EQ(total_in_streams, w.total_events);

  absl::StatusOr<VerifyResult> v = log.Verify(1, 0);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->ok) << "at " << v->first_bad_position << ": " << v->problem;
  EXPECT_EQ(v->checked, w.total_events);
}

class ConcurrencyTest : public LogTest {
 protected:
  RocksDbLogOptions Options() const override {
    RocksDbLogOptions options = LogTest::Options();
    options.clock = &jittery_clock_;
    return options;
  }

  JitteryClock jittery_clock_;
};

TEST_F(ConcurrencyTest, SixteenThreadsKeepPositionsAndVersionsDense) {
  const Workload w = MakeWorkload(100, 20231123);
  std::vector<std::vector<Outcome>> outcomes = RunWorkload(log(), w);
  ExpectLogHoldsWorkloadExactly(log(), w, outcomes);
}

TEST_F(ConcurrencyTest, TailingReaderSeesEveryPositionOnceInOrder) {
  const Workload w = MakeWorkload(60, 7);
  std::vector<uint64_t> seen_positions;
  std::vector<std::string> seen_ids;
  std::thread reader([&] {
    uint64_t next = 1;
    while (next <= w.total_events) {
      // The deadline only guards against a hang; it is not what is tested.
      const uint64_t head = log().WaitForPositionAfter(next - 1, absl::Now() + absl::Seconds(60));
      if (head < next) {
        ADD_FAILURE() << "no position " << next << " within 60 s; head " << head;
        return;
      }
      absl::StatusOr<ReadAllResult> r = log().ReadAll(next, Direction::kForward, 64, LogFilter());
      if (!r.ok()) {
        ADD_FAILURE() << r.status();
        return;
      }
      if (r->events.empty()) {
        ADD_FAILURE() << "head is " << head << " but ReadAll(" << next << ") returned nothing";
        return;
      }
      for (const RecordedEvent& e : r->events) {
        seen_positions.push_back(e.position);
        seen_ids.push_back(e.event_id);
      }
      if (r->next_position != r->events.back().position + 1) {
        ADD_FAILURE() << "unfiltered read: next_position " << r->next_position << " after position "
                      << r->events.back().position;
        return;
      }
      next = r->next_position;
    }
  });
  std::vector<std::vector<Outcome>> outcomes = RunWorkload(log(), w);
  reader.join();

  ASSERT_EQ(seen_positions.size(), w.total_events);
  for (size_t i = 0; i < seen_positions.size(); ++i) {
    ASSERT_EQ(seen_positions[i], i + 1) << "the tail skipped or repeated a position";
  }
  std::vector<RecordedEvent> all = ReadWholeLog(log());
  ASSERT_EQ(all.size(), w.total_events);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(seen_ids[i], all[i].event_id) << "position " << i + 1 << " changed after it was read";
  }
  ExpectLogHoldsWorkloadExactly(log(), w, outcomes);
}

TEST_F(ConcurrencyTest, HeadListenerSeesIncreasingCommitBoundaries) {
  const Workload w = MakeWorkload(40, 99);
  absl::Mutex mu;
  std::vector<uint64_t> heard;
  const uint64_t id = log().AddHeadListener([&](uint64_t position) {
    absl::MutexLock lock(&mu);
    heard.push_back(position);
  });
  std::vector<std::vector<Outcome>> outcomes = RunWorkload(log(), w);
  log().RemoveHeadListener(id);

  std::set<uint64_t> append_ends;
  for (const auto& thread : outcomes) {
    for (const Outcome& o : thread) {
      ASSERT_TRUE(o.result.ok()) << o.result.status();
      append_ends.insert(o.result->last_position);
    }
  }
  absl::MutexLock lock(&mu);
  ASSERT_FALSE(heard.empty());
  for (size_t i = 1; i < heard.size(); ++i) {
    EXPECT_GT(heard[i], heard[i - 1]) << "call #" << i;
  }
  for (uint64_t h : heard) {
    EXPECT_EQ(append_ends.count(h), 1u) << h << " is not where any append ended";
  }
  EXPECT_EQ(heard.back(), w.total_events);
}

TEST_F(ConcurrencyTest, ExactVersionRaceHasOneWinnerPerVersion) {
  constexpr int kRacers = 8;
  constexpr int kWinsEach = 15;
  absl::Notification start;
  std::vector<std::vector<uint64_t>> won(kRacers);
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kRacers; ++t) {
    threads.emplace_back([&, t] {
      start.WaitForNotification();
      for (int attempt = 0; static_cast<int>(won[t].size()) < kWinsEach && attempt < 100000;
           ++attempt) {
        absl::StatusOr<StreamInfo> info = log().GetStreamInfo("contested");
        ExpectedVersion expected =
            info.ok() ? ExpectedVersion::Exact(info->last_version) : ExpectedVersion::NoStream();
        absl::StatusOr<AppendResult> r =
            log().Append("contested", expected, {MakeEvent(absl::StrCat("r", t, "-", attempt))});
        if (r.ok()) {
          if (r->first_version != (info.ok() ? info->last_version + 1 : 0)) ++unexpected;
          won[t].push_back(r->first_version);
        } else if (!absl::IsAborted(r.status())) {
          ++unexpected;
        }
      }
    });
  }
  start.Notify();
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(unexpected.load(), 0);
  std::set<uint64_t> versions;
  for (int t = 0; t < kRacers; ++t) {
    ASSERT_EQ(won[t].size(), static_cast<size_t>(kWinsEach)) << "racer " << t;
    for (uint64_t v : won[t]) EXPECT_TRUE(versions.insert(v).second) << "two winners at " << v;
  }
  constexpr uint64_t kTotal = kRacers * kWinsEach;
  ASSERT_EQ(versions.size(), kTotal);
  EXPECT_EQ(*versions.rbegin(), kTotal - 1);
  std::vector<RecordedEvent> events = ReadWholeStream(log(), "contested");
  ASSERT_EQ(events.size(), kTotal);
  for (size_t v = 0; v < events.size(); ++v) EXPECT_EQ(events[v].version, v);
  EXPECT_EQ(log().Head().position, kTotal);
}

// Runs send(i) for i in [0, n) on n threads while a commit leader is held
// inside a head listener (listeners run on the committing thread before it
// hands leadership on), so the n appends almost always queue up and commit
// as one group. What the tests expect holds whether or not they do; the
// holder itself appends one event to stream "holder".
template <typename Send>
void RunWhileLeaderIsHeld(EventLog& log, int n, const std::string& holder_id, Send send) {
  absl::Notification entered;
  absl::Notification release;
  std::atomic<bool> first{true};
  const uint64_t listener = log.AddHeadListener([&](uint64_t) {
    if (first.exchange(false)) {
      entered.Notify();
      release.WaitForNotification();
    }
  });
  std::thread holder([&] {
    absl::Status s = log.Append("holder", ExpectedVersion::Any(), {MakeEvent(holder_id)}).status();
    if (!s.ok()) ADD_FAILURE() << s;
  });
  entered.WaitForNotification();
  std::atomic<int> started{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < n; ++i) {
    senders.emplace_back([&, i] {
      ++started;
      send(i);
    });
  }
  while (started.load() < n) std::this_thread::yield();
  release.Notify();
  holder.join();
  for (std::thread& t : senders) t.join();
  log.RemoveHeadListener(listener);
}

constexpr int kRounds = 10;
constexpr int kSenders = 8;

TEST_F(ConcurrencyTest, ConcurrentRetriesOfOneEventRecordItOnce) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const EventData event = MakeEvent(absl::StrCat("once-", round));
    const std::string stream = absl::StrCat("acct-", round % 3);
    std::vector<absl::StatusOr<AppendResult>> results(kSenders, absl::UnknownError("not run"));
    RunWhileLeaderIsHeld(log(), kSenders, absl::StrCat("holder-", round), [&](int i) {
      results[i] = log().Append(stream, ExpectedVersion::Any(), {event});
    });
    for (int t = 0; t < kSenders; ++t) {
      ASSERT_TRUE(results[t].ok()) << "sender " << t << ": " << results[t].status();
      ExpectSameResult(*results[0], *results[t]);
    }
    EXPECT_EQ(log().Head().position, static_cast<uint64_t>(2 * (round + 1)));
    EXPECT_EQ(ReadWholeLog(log()).size(), static_cast<size_t>(2 * (round + 1)));
  }
}

TEST_F(ConcurrencyTest, ConcurrentConflictingUsesOfOneEventIdRecordOne) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string id = absl::StrCat("contested-", round);
    std::vector<absl::StatusOr<AppendResult>> results(kSenders, absl::UnknownError("not run"));
    RunWhileLeaderIsHeld(log(), kSenders, absl::StrCat("holder-", round), [&](int i) {
      results[i] = log().Append(absl::StrCat("acct-", i % 2), ExpectedVersion::Any(),
                                {MakeEvent(id, "t", absl::StrCat("from sender ", i))});
    });
    int winner = -1;
    for (int t = 0; t < kSenders; ++t) {
      if (results[t].ok()) {
        EXPECT_EQ(winner, -1) << "senders " << winner << " and " << t << " both won";
        winner = t;
      } else {
        EXPECT_EQ(results[t].status().code(), absl::StatusCode::kAlreadyExists)
            << results[t].status();
      }
    }
    ASSERT_NE(winner, -1);
    EXPECT_EQ(log().Head().position, static_cast<uint64_t>(2 * (round + 1)));
    KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult r, log().ReadAll(results[winner]->first_position,
                                                            Direction::kForward, 1, LogFilter()));
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].event_id, id);
    EXPECT_EQ(r.events[0].data, absl::StrCat("from sender ", winner));
  }
}

TEST_F(ConcurrencyTest, ConcurrentNoStreamAppendsCreateTheStreamOnce) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string stream = absl::StrCat("new-", round);
    std::vector<absl::StatusOr<AppendResult>> results(kSenders, absl::UnknownError("not run"));
    RunWhileLeaderIsHeld(log(), kSenders, absl::StrCat("holder-", round), [&](int i) {
      results[i] = log().Append(stream, ExpectedVersion::NoStream(),
                                {MakeEvent(absl::StrCat(stream, "-by-", i))});
    });
    int winners = 0;
    for (int t = 0; t < kSenders; ++t) {
      if (results[t].ok()) {
        ++winners;
        EXPECT_EQ(results[t]->first_version, 0u);
      } else {
        EXPECT_EQ(results[t].status().code(), absl::StatusCode::kAborted) << results[t].status();
      }
    }
    EXPECT_EQ(winners, 1);
    KAM_ASSERT_OK_AND_ASSIGN(StreamInfo info, log().GetStreamInfo(stream));
    EXPECT_EQ(info.event_count, 1u);
  }
}

TEST_F(ConcurrencyTest, ConcurrentExactVersionAppendsHaveOneWinner) {
  KAM_ASSERT_OK(log().Append("contested", ExpectedVersion::NoStream(), {MakeEvent("c-0")}));
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const uint64_t expected = static_cast<uint64_t>(round);  // Last version now.
    std::vector<absl::StatusOr<AppendResult>> results(kSenders, absl::UnknownError("not run"));
    RunWhileLeaderIsHeld(log(), kSenders, absl::StrCat("holder-", round), [&](int i) {
      results[i] = log().Append("contested", ExpectedVersion::Exact(expected),
                                {MakeEvent(absl::StrCat("c-", round, "-by-", i))});
    });
    int winners = 0;
    for (int t = 0; t < kSenders; ++t) {
      if (results[t].ok()) {
        ++winners;
        EXPECT_EQ(results[t]->first_version, expected + 1);
      } else {
        EXPECT_EQ(results[t].status().code(), absl::StatusCode::kAborted) << results[t].status();
      }
    }
    EXPECT_EQ(winners, 1);
    KAM_ASSERT_OK_AND_ASSIGN(StreamInfo info, log().GetStreamInfo("contested"));
    EXPECT_EQ(info.last_version, expected + 1);
    EXPECT_EQ(info.event_count, expected + 2);
  }
}

TEST_F(ConcurrencyTest, RemovedHeadListenerIsNotRunningAfterRemoveReturns) {
  struct Progress {
    int calls = 0;
    bool failed = false;
  };
  std::atomic<bool> stop{false};
  std::atomic<bool> removed{false};
  std::atomic<int> calls_after_removal{0};
  absl::Mutex mu;
  Progress progress;  // Guarded by mu.
  const uint64_t id = log().AddHeadListener([&](uint64_t) {
    if (removed.load()) ++calls_after_removal;
    absl::MutexLock lock(&mu);
    ++progress.calls;
  });
  std::vector<std::thread> appenders;
  for (int t = 0; t < 4; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        absl::Status s = log()
                             .Append(absl::StrCat("acct-", t), ExpectedVersion::Any(),
                                     {MakeEvent(absl::StrCat("t", t, "-", i))})
                             .status();
        if (!s.ok()) {
          ADD_FAILURE() << s;
          absl::MutexLock lock(&mu);
          progress.failed = true;
          return;
        }
      }
    });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](Progress* p) { return p->calls >= 20 || p->failed; }, &progress));
  }
  log().RemoveHeadListener(id);
  removed.store(true);
  // Let plenty more commits happen after the removal.
  const uint64_t head = log().Head().position;
  EXPECT_GT(log().WaitForPositionAfter(head + 50, absl::Now() + absl::Seconds(60)), head + 50);
  stop.store(true);
  for (std::thread& t : appenders) t.join();
  EXPECT_EQ(calls_after_removal.load(), 0);
}

// A commit already calling listeners when RemoveHeadListener is called must
// not call the removed listener after RemoveHeadListener returned.
TEST_F(ConcurrencyTest, RemovedHeadListenerIsNotCalledByCommitUnderWay) {
  absl::Notification entered;
  absl::Notification release;
  std::atomic<bool> removed{false};
  std::atomic<int> calls_after_removal{0};
  const uint64_t holder = log().AddHeadListener([&](uint64_t position) {
    if (position == 1) {
      entered.Notify();
      release.WaitForNotification();
    }
  });
  const uint64_t removable = log().AddHeadListener([&](uint64_t) {
    if (removed.load()) ++calls_after_removal;
  });
  std::thread appender([&] {
    absl::Status s = log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a")}).status();
    if (!s.ok()) ADD_FAILURE() << s;
  });
  entered.WaitForNotification();  // The commit of position 1 is calling listeners.
  absl::Notification removing;
  std::thread remover([&] {
    removing.Notify();
    log().RemoveHeadListener(removable);
    removed.store(true);
  });
  removing.WaitForNotification();
  for (int i = 0; i < 100; ++i) std::this_thread::yield();  // Let the removal get ahead.
  release.Notify();
  appender.join();
  remover.join();
  log().RemoveHeadListener(holder);
  EXPECT_EQ(calls_after_removal.load(), 0);
}

// A stream that has events never reads as missing, and its info never goes
// backwards, while appends to it commit: neither GetStreamInfo nor a
// ReadStream tailing the stream may say NotFound.
TEST_F(ConcurrencyTest, ExistingStreamNeverReadsAsMissingDuringAppends) {
  KAM_ASSERT_OK(log().Append("hot", ExpectedVersion::NoStream(), {MakeEvent("hot-first")}));
  std::atomic<int> appenders_left{4};
  std::vector<std::thread> appenders;
  for (int t = 0; t < 4; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        absl::Status s =
            log()
                .Append("hot", ExpectedVersion::Any(), {MakeEvent(absl::StrCat("hot-", t, "-", i))})
                .status();
        if (!s.ok()) ADD_FAILURE() << s;
      }
      --appenders_left;
    });
  }
  int info_not_found = 0;
  int read_not_found = 0;
  int went_back = 0;
  int inconsistent = 0;
  uint64_t last_seen = 0;
  uint64_t next_version = 1;
  while (appenders_left.load() > 0) {
    absl::StatusOr<StreamInfo> info = log().GetStreamInfo("hot");
    if (absl::IsNotFound(info.status())) {
      ++info_not_found;
    } else {
      ASSERT_TRUE(info.ok()) << info.status();
      if (info->last_version < last_seen) ++went_back;
      if (info->event_count != info->last_version + 1) ++inconsistent;
      last_seen = info->last_version;
    }
    absl::StatusOr<std::vector<RecordedEvent>> tail =
        log().ReadStream("hot", next_version, Direction::kForward, 100);
    if (absl::IsNotFound(tail.status())) {
      ++read_not_found;
    } else {
      ASSERT_TRUE(tail.ok()) << tail.status();
      for (const RecordedEvent& e : *tail) {
        EXPECT_EQ(e.version, next_version);
        next_version = e.version + 1;
      }
    }
  }
  for (std::thread& t : appenders) t.join();
  EXPECT_EQ(info_not_found, 0) << "GetStreamInfo said NotFound for a stream with events";
  EXPECT_EQ(read_not_found, 0) << "ReadStream said NotFound for a stream with events";
  EXPECT_EQ(went_back, 0);
  EXPECT_EQ(inconsistent, 0);
  KAM_ASSERT_OK_AND_ASSIGN(StreamInfo info, log().GetStreamInfo("hot"));
  EXPECT_EQ(info.event_count, 1001u);
}

TEST_F(ConcurrencyTest, WaitForPositionAfterWakesOnAppend) {
  EXPECT_EQ(log().WaitForPositionAfter(0, absl::InfinitePast()), 0u);
  std::atomic<uint64_t> woke_at{0};
  std::thread waiter(
      [&] { woke_at.store(log().WaitForPositionAfter(0, absl::Now() + absl::Seconds(60))); });
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a"), MakeEvent("b")}));
  waiter.join();
  EXPECT_EQ(woke_at.load(), 2u);
  // Already beyond: returns at once, whatever the deadline.
  EXPECT_EQ(log().WaitForPositionAfter(1, absl::InfinitePast()), 2u);
  // Not beyond and the deadline has passed: returns the head, <= position.
  EXPECT_EQ(log().WaitForPositionAfter(2, absl::InfinitePast()), 2u);
  EXPECT_EQ(log().WaitForPositionAfter(5, absl::Now()), 2u);
}

using HeadListenerTest = LogTest;

TEST_F(HeadListenerTest, CalledWithNewHeadAfterEachCommitUntilRemoved) {
  std::vector<uint64_t> first;
  std::vector<uint64_t> second;
  const uint64_t first_id = log().AddHeadListener([&](uint64_t p) { first.push_back(p); });
  const uint64_t second_id = log().AddHeadListener([&](uint64_t p) { second.push_back(p); });
  EXPECT_NE(first_id, second_id);

  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a")}));
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("b"), MakeEvent("c")}));
  KAM_ASSERT_OK(log().Append("other", ExpectedVersion::Any(), {MakeEvent("d")}));
  EXPECT_EQ(first, (std::vector<uint64_t>{1, 3, 4}));
  EXPECT_EQ(second, (std::vector<uint64_t>{1, 3, 4}));

  log().RemoveHeadListener(first_id);
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("e")}));
  EXPECT_EQ(first, (std::vector<uint64_t>{1, 3, 4}));
  EXPECT_EQ(second, (std::vector<uint64_t>{1, 3, 4, 5}));

  // A failed append commits nothing and moves no head.
  EXPECT_FALSE(log().Append("acct", ExpectedVersion::NoStream(), {MakeEvent("f")}).ok());
  log().RemoveHeadListener(second_id);
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("g")}));
  EXPECT_EQ(second, (std::vector<uint64_t>{1, 3, 4, 5}));
}

}  // namespace
}  // namespace kam::eventstore
