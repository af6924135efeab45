// On a generated portfolio (1,000 accounts, 100,000 events, every event
// kind), the live projector, fed while appends go on, reaches exactly the
// digest of an offline rebuild from scratch, and both serve the same views.

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "kam/v1/events.pb.h"
#include "projections/account_views.h"
#include "projections/projector.h"
#include "projections/rebuild.h"
#include "tools/generator/portfolio_generator.h"

namespace kam::projections {
namespace {

class PortfolioDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kam_digest_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(PortfolioDigestTest, IncrementalProjectorAndRebuildAgreeOnAGeneratedPortfolio) {
  eventstore::RocksDbLogOptions log_options;
  log_options.unsafe_skip_fsync_on_append = true;  // Durability is not under test here.
  auto log = eventstore::OpenRocksDbLog(root_ + "/log", log_options);
  ASSERT_TRUE(log.ok()) << log.status();
  auto store = OpenCurrentProjections(root_ + "/projections");
  ASSERT_TRUE(store.ok()) << store.status();

  Checkpoint live;
  {
    Projector projector(log->get(), store->get());
    ASSERT_TRUE(projector.Start().ok());
    tools::GeneratorOptions options;
    options.accounts = 1000;
    options.events = 100000;
    auto generated = tools::GenerateIntoLog(options, log->get(), 100);
    ASSERT_TRUE(generated.ok()) << generated.status();
    ASSERT_EQ(*generated, 100000);
    const uint64_t head = (*log)->Head().position;
    ASSERT_EQ(projector.WaitFor(head, absl::InfiniteFuture()), head);
    projector.Stop();
    ASSERT_TRUE(projector.status().ok()) << projector.status();
    live = (*store)->checkpoint();
  }
  ASSERT_EQ(live.position, 100000u);
  auto scanned = (*store)->ScanDigest();
  ASSERT_TRUE(scanned.ok());
  EXPECT_EQ(*scanned, live.digest);

  // Every event kind reached the projections.
  std::set<int> kinds;
  auto ids = (*store)->AccountIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 1000u);
  for (const std::string& id : *ids) {
    auto events = (*store)->LoadStream(AccountStream(id));
    ASSERT_TRUE(events.ok());
    for (const StoredEvent& e : *events) kinds.insert(e.event.kind_case());
  }
  auto catalog = (*store)->LoadStream(kCatalogStream);
  ASSERT_TRUE(catalog.ok());
  for (const StoredEvent& e : *catalog) kinds.insert(e.event.kind_case());
  EXPECT_EQ(kinds.size(),
            static_cast<size_t>(kam::v1::AccountEvent::descriptor()->oneof_decl(0)->field_count()));

  const absl::Time as_of = absl::FromUnixSeconds(1767225600);  // 2026-01-01.
  auto views =
      std::make_unique<AccountViews>(store->get(), DefaultRules(), &eventstore::SystemClock());
  ASSERT_TRUE(views->Load().ok());
  auto live_portfolio = views->GetPortfolio(ViewTime{as_of, TimeAxis::kOccurred}, 0, 0);
  ASSERT_TRUE(live_portfolio.ok()) << live_portfolio.status();
  views.reset();
  store->reset();

  RebuildOptions rebuild_options;
  rebuild_options.threads = 2;
  auto rebuilt = RebuildProjections(**log, root_ + "/projections", rebuild_options);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->position, live.position);
  EXPECT_EQ(rebuilt->digest, live.digest);

  auto reopened = OpenCurrentProjections(root_ + "/projections");
  ASSERT_TRUE(reopened.ok());
  AccountViews rebuilt_views(reopened->get(), DefaultRules(), &eventstore::SystemClock());
  ASSERT_TRUE(rebuilt_views.Load().ok());
  auto rebuilt_portfolio = rebuilt_views.GetPortfolio(ViewTime{as_of, TimeAxis::kOccurred}, 0, 0);
  ASSERT_TRUE(rebuilt_portfolio.ok());
  EXPECT_EQ(rebuilt_portfolio->SerializeAsString(), live_portfolio->SerializeAsString());
  EXPECT_GT(rebuilt_portfolio->account_count(), 900u);
}

}  // namespace
}  // namespace kam::projections
