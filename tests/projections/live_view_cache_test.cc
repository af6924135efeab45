// A view "now" may come from the live cache; it must always equal the view
// computed afresh as of the same instant. Time walks past the generated
// history (orders leave windows, complaints age, accounts go dormant) while
// new events arrive.

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "projections/account_views.h"
#include "projections/projector.h"
#include "projections/rebuild.h"
#include "tests/support/account_events.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tools/generator/portfolio_generator.h"

namespace kam::projections {
namespace {

// A generated log, its projections and views, under a clock a day past the
// generated history. Members are destroyed users first, the directory last.
class LiveViewCacheTest : public ::testing::Test {
 protected:
  // Generates `accounts` accounts with `events` events into a new log, then
  // projects them with the views warming from the first event on: the
  // projector applies the log in batches while the warmer computes views.
  void Generate(int accounts, int events) {
    options_.accounts = accounts;
    options_.events = events;
    eventstore::RocksDbLogOptions log_options;
    log_options.clock = &clock_;
    log_options.unsafe_skip_fsync_on_append = true;  // Durability is not under test.
    auto log = eventstore::OpenRocksDbLog(dir_.Join("log"), log_options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    ASSERT_TRUE(tools::GenerateIntoLog(options_, log_.get(), 100).ok());
    auto store = OpenCurrentProjections(dir_.Join("projections"));
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
    views_ = std::make_unique<AccountViews>(store_.get(), DefaultRules(), &clock_);
    ASSERT_TRUE(views_->Load().ok());
    views_->StartWarming();
    projector_ = std::make_unique<Projector>(log_.get(), store_.get(), views_->ApplyListener());
    ASSERT_TRUE(projector_->CatchUp().ok());
  }

  // Appends `event` to `account`'s stream and projects it.
  void Append(const std::string& account, const eventstore::EventData& event) {
    ASSERT_TRUE(
        log_->Append(AccountStream(account), eventstore::ExpectedVersion::Any(), {event}).ok());
    ASSERT_TRUE(projector_->CatchUp().ok());
  }

  test_support::TempDir dir_;
  tools::GeneratorOptions options_;
  test_support::FakeClock clock_{options_.end + absl::Hours(24)};
  std::unique_ptr<eventstore::EventLog> log_;
  std::unique_ptr<ProjectionStore> store_;
  std::unique_ptr<AccountViews> views_;
  std::unique_ptr<Projector> projector_;
};

TEST_F(LiveViewCacheTest, CachedNowViewsEqualFreshViewsAsTimeAndEventsMoveOn) {
  ASSERT_NO_FATAL_FAILURE(Generate(60, 6000));
  auto ids = store_->AccountIds();
  ASSERT_TRUE(ids.ok());

  std::mt19937_64 random(11);
  int compared = 0;
  int changed = 0;
  std::vector<std::string> last(ids->size());
  int rankings_changed = 0;
  std::string last_classes;
  for (int step = 0; step < 1200; ++step) {
    // Half an hour to a day: about 600 days, past every window, and fine
    // enough to land between two edges a day apart.
    clock_.Advance(absl::Minutes(30 + static_cast<int64_t>(random() % (24 * 60))));
    if (step % 100 == 99) {
      // A new visit for one account, recorded and occurring now.
      const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now()));
      const std::string& account = (*ids)[random() % ids->size()];
      ASSERT_NO_FATAL_FAILURE(
          Append(account, test_support::DataOf(test_support::Visit("review"), now)));
    }
    if (step % 100 == 49) {
      // A new order: the ranking must take it in.
      const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now()));
      const std::string& account = (*ids)[random() % ids->size()];
      ASSERT_NO_FATAL_FAILURE(Append(
          account, test_support::DataOf(
                       test_support::Order(absl::StrCat("walk-", step), 1000000 + step), now)));
    }
    if (step % 20 == 0) {
      // The kept ranking against one computed by views that never saw it.
      AccountViews fresh_views(store_.get(), DefaultRules(), &clock_);
      ASSERT_TRUE(fresh_views.Load().ok());
      auto kept = views_->AbcRanking(ViewTime{});
      auto fresh = fresh_views.AbcRanking(ViewTime{});
      ASSERT_TRUE(kept.ok() && fresh.ok());
      ASSERT_EQ(kept->size(), fresh->size()) << absl::FormatTime(clock_.Now());
      std::string classes;
      for (size_t i = 0; i < kept->size(); ++i) {
        ASSERT_EQ((*kept)[i].account_id, (*fresh)[i].account_id) << absl::FormatTime(clock_.Now());
        ASSERT_EQ((*kept)[i].revenue, (*fresh)[i].revenue) << (*kept)[i].account_id;
        ASSERT_EQ((*kept)[i].abc_class, (*fresh)[i].abc_class) << (*kept)[i].account_id;
        absl::StrAppend(&classes, (*kept)[i].account_id, (*kept)[i].abc_class, ",");
      }
      rankings_changed += !last_classes.empty() && classes != last_classes;
      last_classes = classes;
    }
    for (int k = 0; k < 8; ++k) {
      const size_t i = random() % ids->size();
      auto live = views_->GetAccount((*ids)[i], ViewTime{});
      auto fresh = views_->GetAccount((*ids)[i], ViewTime{clock_.Now(), TimeAxis::kOccurred});
      ASSERT_EQ(live.ok(), fresh.ok()) << (*ids)[i];
      if (!live.ok()) continue;
      ASSERT_EQ(live->SerializeAsString(), fresh->SerializeAsString())
          << (*ids)[i] << " at " << absl::FormatTime(clock_.Now())
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
  EXPECT_GT(rankings_changed, 5) << "the ranking must have moved for this test to mean anything";
}

// Events arriving while the warmer works (other accounts' events, moving ABC
// classes, catalog entries) must not leave views uncomputed: once the warmer
// is idle, every account's view "now" comes from the cache.
TEST_F(LiveViewCacheTest, WarmerLeavesEveryViewCachedWhenEventsArriveWhileItWorks) {
  ASSERT_NO_FATAL_FAILURE(Generate(300, 30000));
  ASSERT_TRUE(views_->AwaitWarm(absl::Minutes(10)));

  auto ids = store_->AccountIds();
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 300u);
  // Every view is a cache hit equal to a fresh one; returns the classes.
  const auto expect_all_cached = [&](const char* when) {
    std::vector<kam::v1::AbcClass> classes;
    const LiveCacheStats before = views_->live_cache_stats();
    EXPECT_EQ(before.queued, 0u) << when;
    for (const std::string& id : *ids) {
      auto live = views_->GetAccount(id, ViewTime{});
      auto fresh = views_->GetAccount(id, ViewTime{clock_.Now(), TimeAxis::kOccurred});
      if (!live.ok() || !fresh.ok()) {
        ADD_FAILURE() << id << " " << when << ": " << live.status() << " / " << fresh.status();
        return classes;
      }
      EXPECT_EQ(live->SerializeAsString(), fresh->SerializeAsString()) << id << " " << when;
      classes.push_back(live->abc_class());
    }
    const LiveCacheStats after = views_->live_cache_stats();
    EXPECT_EQ(after.misses, before.misses) << "views the warmer left uncomputed " << when;
    EXPECT_EQ(after.hits, before.hits + ids->size()) << when;
    // Every account at once (ListAccounts, GetPortfolio) reads the same cache.
    auto all_live = views_->AllAccounts(ViewTime{});
    auto all_fresh = views_->AllAccounts(ViewTime{clock_.Now(), TimeAxis::kOccurred});
    EXPECT_TRUE(all_live.ok() && all_fresh.ok()) << when;
    if (all_live.ok() && all_fresh.ok()) {
      EXPECT_EQ(all_live->size(), ids->size()) << when;
      EXPECT_EQ(all_live->size(), all_fresh->size()) << when;
      for (size_t i = 0; i < std::min(all_live->size(), all_fresh->size()); ++i) {
        EXPECT_EQ((*all_live)[i].SerializeAsString(), (*all_fresh)[i].SerializeAsString())
            << (*all_live)[i].account_id() << " " << when;
      }
    }
    auto portfolio_live = views_->GetPortfolio(ViewTime{}, 100, 100);
    auto portfolio_fresh =
        views_->GetPortfolio(ViewTime{clock_.Now(), TimeAxis::kOccurred}, 100, 100);
    EXPECT_TRUE(portfolio_live.ok() && portfolio_fresh.ok()) << when;
    if (portfolio_live.ok() && portfolio_fresh.ok()) {
      EXPECT_EQ(portfolio_live->SerializeAsString(), portfolio_fresh->SerializeAsString()) << when;
    }
    return classes;
  };
  const std::vector<kam::v1::AbcClass> classes_before = expect_all_cached("after the load");

  // One huge order moves the other accounts' ABC classes without touching
  // their streams.
  kam::v1::AccountEvent order =
      test_support::Order("warm-huge-order", int64_t{1} << 50, options_.currency);
  order.mutable_order_placed()->set_quantity(1);
  const absl::Time an_hour_ago = absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now()) - 3600);
  ASSERT_NO_FATAL_FAILURE(Append(ids->front(), test_support::DataOf(order, an_hour_ago)));
  ASSERT_TRUE(views_->AwaitWarm(absl::Minutes(10)));
  const std::vector<kam::v1::AbcClass> classes_after = expect_all_cached("after the huge order");
  ASSERT_EQ(classes_after.size(), classes_before.size());
  int moved = 0;
  for (size_t i = 1; i < classes_after.size(); ++i) moved += classes_after[i] != classes_before[i];
  EXPECT_GT(moved, 10)
      << "the order must move other accounts' classes for this test to mean anything";
}

}  // namespace
}  // namespace kam::projections
