// RevenueTimeline must give exactly what SelectHistory + FoldAccountState +
// TrailingNetRevenue give, on both axes at any time: checked on a generated
// portfolio (late-recorded orders, cancellations, corrections, retractions)
// recorded through a real log with recorded_at following the business clock.

#include "projections/revenue_timeline.h"

#include <stdlib.h>

#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "projections/account_state.h"
#include "projections/projection_store.h"
#include "projections/rules.h"
#include "tests/support/fake_clock.h"
#include "tools/generator/portfolio_generator.h"

namespace kam::projections {
namespace {

int64_t SlowRevenue(const std::string& account, const std::vector<StoredEvent>& events,
                    absl::Time as_of, TimeAxis axis, absl::Duration window) {
  AccountHistory history = SelectHistory(account, events, {}, as_of, axis);
  return TrailingNetRevenue(FoldAccountState(history), as_of, window);
}

TEST(RevenueTimelineTest, MatchesTheFoldOnAGeneratedPortfolioOnBothAxes) {
  char pattern[] = "/tmp/kam_timeline_XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  tools::GeneratorOptions options;
  options.accounts = 150;
  options.events = 30000;
  test_support::FakeClock clock(options.start);
  std::map<std::string, std::vector<StoredEvent>> revenue_events;
  {
    eventstore::RocksDbLogOptions log_options;
    log_options.clock = &clock;
    log_options.unsafe_skip_fsync_on_append = true;  // Durability is not under test.
    auto log = eventstore::OpenRocksDbLog(dir + "/log", log_options);
    ASSERT_TRUE(log.ok()) << log.status();
    // Recorded when it happened, so late-recorded events are recorded late.
    absl::Status generated = tools::GeneratePortfolio(options, [&](const tools::GeneratedEvent& g) {
      if (g.data.occurred_at > clock.Now()) clock.Set(g.data.occurred_at);
      clock.Advance(absl::Minutes(1));
      return (*log)->Append(g.stream, eventstore::ExpectedVersion::Any(), {g.data}).status();
    });
    ASSERT_TRUE(generated.ok()) << generated;
    uint64_t next = 1;
    while (true) {
      auto read = (*log)->ReadAll(next, eventstore::Direction::kForward, 4096, {});
      ASSERT_TRUE(read.ok());
      for (const eventstore::RecordedEvent& recorded : read->events) {
        if (recorded.stream == kCatalogStream || !IsRevenueEvent(recorded)) continue;
        auto e = DecodeStoredEvent(recorded);
        ASSERT_TRUE(e.ok()) << e.status();
        revenue_events[recorded.stream].push_back(std::move(*e));
      }
      next = read->next_position;
      if (read->end_of_log) break;
    }
  }
  std::filesystem::remove_all(dir);

  std::map<std::string, RevenueTimeline> timelines;
  size_t corrections = 0;
  for (const auto& [account, events] : revenue_events) {
    for (const StoredEvent& e : events) {
      timelines[account].Add(e);
      corrections += e.event.has_event_corrected() || e.event.has_event_retracted();
    }
  }
  ASSERT_GT(revenue_events.size(), 100u);
  ASSERT_GT(corrections, 50u) << "the portfolio must exercise corrections";

  std::mt19937_64 random(7);
  const int64_t span = absl::ToInt64Seconds(options.end - options.start) + 86400 * 400;
  const absl::Duration window = absl::Hours(24 * 365);
  int nonzero = 0;
  for (int sample = 0; sample < 40; ++sample) {
    const absl::Time as_of = options.start + absl::Seconds(static_cast<int64_t>(random() % span));
    for (TimeAxis axis : {TimeAxis::kOccurred, TimeAxis::kRecorded}) {
      for (const auto& [account, events] : revenue_events) {
        const int64_t fast = timelines[account].RevenueAt(as_of, axis, window, nullptr);
        const int64_t slow = SlowRevenue(account, events, as_of, axis, window);
        ASSERT_EQ(fast, slow) << account << " at " << absl::FormatTime(as_of)
                              << (axis == TimeAxis::kOccurred ? " occurred" : " recorded");
        nonzero += fast != 0;
      }
    }
  }
  EXPECT_GT(nonzero, 1000) << "most samples should see revenue";
}

StoredEvent Placed(const std::string& event_id, uint64_t position, absl::Time at,
                   const std::string& order_id, int64_t amount) {
  StoredEvent e;
  e.event_id = event_id;
  e.position = position;
  e.occurred_at = at;
  e.recorded_at = at;
  e.event.mutable_order_placed()->set_order_id(order_id);
  e.event.mutable_order_placed()->mutable_amount()->set_minor_units(amount);
  return e;
}

TEST(RevenueTimelineTest, NextEdgeIsWhenAnOrderEntersOrLeavesTheWindow) {
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  const absl::Duration window = absl::Hours(24 * 365);
  const StoredEvent placed = Placed("o", 1, t0, "o-1", 10);
  StoredEvent future = Placed("f", 2, t0 + absl::Hours(2), "o-2", 10);
  future.recorded_at = t0;  // Placed ahead of when it was recorded (clock skew).
  RevenueTimeline timeline;
  timeline.Add(placed);
  timeline.Add(future);
  absl::Time edge;
  EXPECT_EQ(timeline.RevenueAt(t0 + absl::Hours(1), TimeAxis::kOccurred, window, &edge), 10);
  EXPECT_EQ(edge, t0 + absl::Hours(2));  // The second order becomes visible.
  EXPECT_EQ(timeline.RevenueAt(t0 + absl::Hours(3), TimeAxis::kOccurred, window, &edge), 20);
  EXPECT_EQ(edge, t0 + window);  // The first order leaves.
}

// Amounts whose sum overflows: the result depends on the order of the sum,
// which must be the fold's (placed_at, then order id), not the log's.
TEST(RevenueTimelineTest, SaturatesInTheFoldsOrderWhenTheSumOverflows) {
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  const absl::Duration window = absl::Hours(24 * 365);
  const int64_t max = std::numeric_limits<int64_t>::max();
  const std::vector<std::vector<int64_t>> cases = {
      {max, max, -max}, {-max, max, max}, {max, -max, max}, {max / 2 + 1, max / 2 + 1}, {max, 1}};
  for (const std::vector<int64_t>& amounts : cases) {
    std::vector<StoredEvent> events;
    for (size_t i = 0; i < amounts.size(); ++i) {
      // Logged in reverse business order.
      events.push_back(Placed(absl::StrCat("e", i), i + 1, t0 - absl::Hours(i),
                              absl::StrCat("o", i), amounts[i]));
    }
    RevenueTimeline timeline;
    for (const StoredEvent& e : events) timeline.Add(e);
    for (TimeAxis axis : {TimeAxis::kOccurred, TimeAxis::kRecorded}) {
      EXPECT_EQ(timeline.RevenueAt(t0, axis, window, nullptr),
                SlowRevenue("a", events, t0, axis, window))
          << amounts[0] << " " << amounts[1];
    }
  }
}

// Only EventStore.Append can log a retraction before the event it names;
// the timeline still reads such a log as the fold does.
TEST(RevenueTimelineTest, RetractionLoggedBeforeTheEventItNamesCountsAsTheFoldCountsIt) {
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  const absl::Duration window = absl::Hours(24 * 365);
  StoredEvent retraction;
  retraction.event_id = "r";
  retraction.position = 1;
  retraction.occurred_at = t0;
  retraction.recorded_at = t0;
  retraction.event.mutable_event_retracted()->set_retracted_event_id("p");
  std::vector<StoredEvent> events = {retraction, Placed("p", 2, t0 + absl::Hours(1), "o-1", 100),
                                     Placed("q", 3, t0 + absl::Hours(2), "o-2", 7)};
  RevenueTimeline timeline;
  for (const StoredEvent& e : events) timeline.Add(e);
  for (TimeAxis axis : {TimeAxis::kOccurred, TimeAxis::kRecorded}) {
    for (absl::Time as_of : {t0, t0 + absl::Hours(1), t0 + absl::Hours(3)}) {
      EXPECT_EQ(timeline.RevenueAt(as_of, axis, window, nullptr),
                SlowRevenue("a", events, as_of, axis, window));
    }
  }
}

}  // namespace
}  // namespace kam::projections
