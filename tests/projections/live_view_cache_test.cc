// A view "now" may come from the live cache; it must always equal the view
// computed afresh as of the same instant. Time walks past the generated
// history (orders leave windows, complaints age, accounts go dormant) while
// new events arrive.

#include <stdlib.h>

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

}  // namespace
}  // namespace kam::projections
