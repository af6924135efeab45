// A view "now" may come from the live cache; it must always equal the view
// computed afresh as of the same instant. Time walks past the generated
// history (orders leave windows, complaints age, accounts go dormant) while
// new events arrive.

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "projections/account_views.h"
#include "projections/projector.h"
#include "projections/rebuild.h"
#include "tests/support/fake_clock.h"
#include "tools/generator/portfolio_generator.h"

namespace kam::projections {
namespace {

TEST(LiveViewCacheTest, CachedNowViewsEqualFreshViewsAsTimeAndEventsMoveOn) {
  char pattern[] = "/tmp/kam_live_XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  tools::GeneratorOptions options;
  options.accounts = 60;
  options.events = 6000;
  test_support::FakeClock clock(options.end + absl::Hours(24));
  eventstore::RocksDbLogOptions log_options;
  log_options.clock = &clock;
  log_options.unsafe_skip_fsync_on_append = true;  // Durability is not under test.
  auto log = eventstore::OpenRocksDbLog(dir + "/log", log_options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(tools::GenerateIntoLog(options, log->get(), 100).ok());
  auto store = OpenCurrentProjections(dir + "/projections");
  ASSERT_TRUE(store.ok());
  AccountViews views(store->get(), DefaultRules(), &clock);
  ASSERT_TRUE(views.Load().ok());
  // The warming thread computes views ahead while the test reads them.
  views.StartWarming();
  Projector projector(log->get(), store->get(), views.ApplyListener());
  ASSERT_TRUE(projector.CatchUp().ok());
  auto ids = (*store)->AccountIds();
  ASSERT_TRUE(ids.ok());

  std::mt19937_64 random(11);
  int compared = 0;
  int changed = 0;
  std::vector<std::string> last(ids->size());
  for (int step = 0; step < 1200; ++step) {
    // Half an hour to a day: about 600 days, past every window, and fine
    // enough to land between two edges a day apart.
    clock.Advance(absl::Minutes(30 + static_cast<int64_t>(random() % (24 * 60))));
    if (step % 100 == 99) {
      // A new visit for one account, recorded and occurring now.
      kam::v1::AccountEvent visit;
      const absl::Time now = clock.Now();
      visit.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(now));
      visit.mutable_visit_recorded()->set_purpose("review");
      eventstore::EventData data;
      data.type = "kam.v1.VisitRecorded";
      data.data = visit.SerializeAsString();
      data.occurred_at = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
      const std::string& account = (*ids)[random() % ids->size()];
      ASSERT_TRUE(
          (*log)->Append(AccountStream(account), eventstore::ExpectedVersion::Any(), {data}).ok());
      ASSERT_TRUE(projector.CatchUp().ok());
    }
    for (int k = 0; k < 8; ++k) {
      const size_t i = random() % ids->size();
      auto live = views.GetAccount((*ids)[i], ViewTime{});
      auto fresh = views.GetAccount((*ids)[i], ViewTime{clock.Now(), TimeAxis::kOccurred});
      ASSERT_EQ(live.ok(), fresh.ok()) << (*ids)[i];
      if (!live.ok()) continue;
      ASSERT_EQ(live->SerializeAsString(), fresh->SerializeAsString())
          << (*ids)[i] << " at " << absl::FormatTime(clock.Now())
          << "\nlive:  " << live->ShortDebugString() << "\nfresh: " << fresh->ShortDebugString();
      kam::v1::AccountView without_time = *live;
      without_time.clear_as_of();
      const std::string now_state = without_time.SerializeAsString();
      changed += !last[i].empty() && last[i] != now_state;
      last[i] = now_state;
      ++compared;
    }
  }
  EXPECT_GT(compared, 8000);
  EXPECT_GT(changed, 20) << "time must have changed some views for this test to mean anything";
  projector.Stop();
  views.StopWarming();
  store->reset();
  log->reset();
  std::filesystem::remove_all(dir);
}

// Events arriving while the warmer works (other accounts' events, moving ABC
// classes, catalog entries) must not leave views uncomputed: once the warmer
// is idle, every account's view "now" comes from the cache.
TEST(LiveViewCacheTest, WarmerLeavesEveryViewCachedWhenEventsArriveWhileItWorks) {
  char pattern[] = "/tmp/kam_warm_XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  tools::GeneratorOptions options;
  options.accounts = 300;
  options.events = 30000;
  test_support::FakeClock clock(options.end + absl::Hours(24));
  eventstore::RocksDbLogOptions log_options;
  log_options.clock = &clock;
  log_options.unsafe_skip_fsync_on_append = true;  // Durability is not under test.
  auto log = eventstore::OpenRocksDbLog(dir + "/log", log_options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(tools::GenerateIntoLog(options, log->get(), 100).ok());
  auto store = OpenCurrentProjections(dir + "/projections");
  ASSERT_TRUE(store.ok());
  AccountViews views(store->get(), DefaultRules(), &clock);
  ASSERT_TRUE(views.Load().ok());
  // Warming from the first event on: the projector applies the whole log in
  // batches while the warmer computes views.
  views.StartWarming();
  Projector projector(log->get(), store->get(), views.ApplyListener());
  ASSERT_TRUE(projector.CatchUp().ok());
  ASSERT_TRUE(views.AwaitWarm(absl::Minutes(10)));

  auto ids = (*store)->AccountIds();
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 300u);
  // Every view is a cache hit equal to a fresh one; returns the classes.
  const auto expect_all_cached = [&](const char* when) {
    std::vector<kam::v1::AbcClass> classes;
    const LiveCacheStats before = views.live_cache_stats();
    EXPECT_EQ(before.queued, 0u) << when;
    for (const std::string& id : *ids) {
      auto live = views.GetAccount(id, ViewTime{});
      auto fresh = views.GetAccount(id, ViewTime{clock.Now(), TimeAxis::kOccurred});
      if (!live.ok() || !fresh.ok()) {
        ADD_FAILURE() << id << " " << when << ": " << live.status() << " / " << fresh.status();
        return classes;
      }
      EXPECT_EQ(live->SerializeAsString(), fresh->SerializeAsString()) << id << " " << when;
      classes.push_back(live->abc_class());
    }
    const LiveCacheStats after = views.live_cache_stats();
    EXPECT_EQ(after.misses, before.misses) << "views the warmer left uncomputed " << when;
    EXPECT_EQ(after.hits, before.hits + ids->size()) << when;
    // Every account at once (ListAccounts, GetPortfolio) reads the same cache.
    auto all_live = views.AllAccounts(ViewTime{});
    auto all_fresh = views.AllAccounts(ViewTime{clock.Now(), TimeAxis::kOccurred});
    EXPECT_TRUE(all_live.ok() && all_fresh.ok()) << when;
    if (all_live.ok() && all_fresh.ok()) {
      EXPECT_EQ(all_live->size(), ids->size()) << when;
      EXPECT_EQ(all_live->size(), all_fresh->size()) << when;
      for (size_t i = 0; i < std::min(all_live->size(), all_fresh->size()); ++i) {
        EXPECT_EQ((*all_live)[i].SerializeAsString(), (*all_fresh)[i].SerializeAsString())
            << (*all_live)[i].account_id() << " " << when;
      }
    }
    auto portfolio_live = views.GetPortfolio(ViewTime{}, 100, 100);
    auto portfolio_fresh = views.GetPortfolio(ViewTime{clock.Now(), TimeAxis::kOccurred}, 100, 100);
    EXPECT_TRUE(portfolio_live.ok() && portfolio_fresh.ok()) << when;
    if (portfolio_live.ok() && portfolio_fresh.ok()) {
      EXPECT_EQ(portfolio_live->SerializeAsString(), portfolio_fresh->SerializeAsString()) << when;
    }
    return classes;
  };
  const std::vector<kam::v1::AbcClass> classes_before = expect_all_cached("after the load");

  // One huge order moves the other accounts' ABC classes without touching
  // their streams.
  kam::v1::AccountEvent order;
  order.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(clock.Now()) - 3600);
  order.mutable_order_placed()->set_order_id("warm-huge-order");
  order.mutable_order_placed()->mutable_amount()->set_minor_units(int64_t{1} << 50);
  order.mutable_order_placed()->mutable_amount()->set_currency_code(options.currency);
  order.mutable_order_placed()->set_quantity(1);
  eventstore::EventData data;
  data.type = "kam.v1.OrderPlaced";
  data.data = order.SerializeAsString();
  data.occurred_at = absl::FromUnixSeconds(order.occurred_at().seconds());
  ASSERT_TRUE(
      (*log)->Append(AccountStream(ids->front()), eventstore::ExpectedVersion::Any(), {data}).ok());
  ASSERT_TRUE(projector.CatchUp().ok());
  ASSERT_TRUE(views.AwaitWarm(absl::Minutes(10)));
  const std::vector<kam::v1::AbcClass> classes_after = expect_all_cached("after the huge order");
  ASSERT_EQ(classes_after.size(), classes_before.size());
  int moved = 0;
  for (size_t i = 1; i < classes_after.size(); ++i) moved += classes_after[i] != classes_before[i];
  EXPECT_GT(moved, 10)
      << "the order must move other accounts' classes for this test to mean anything";
  projector.Stop();
  views.StopWarming();
  store->reset();
  log->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kam::projections
