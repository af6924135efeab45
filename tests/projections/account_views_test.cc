// AccountViews end to end over a real log and projection store: as-of on
// both time axes with a late-recorded event, corrections changing the
// portfolio-wide ABC class, and the live ranking following new events.

#include "projections/account_views.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "kam/v1/events.pb.h"
#include "projections/projector.h"
#include "projections/rebuild.h"
#include "tests/support/fake_clock.h"

namespace kam::projections {
namespace {

const absl::Time kDay0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01.

using SettableClock = ::kam::test_support::FakeClock;

class AccountViewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kam_views_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    eventstore::RocksDbLogOptions options;
    options.clock = &clock_;
    auto log = eventstore::OpenRocksDbLog(root_ + "/log", options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    auto store = OpenCurrentProjections(root_ + "/projections");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    views_ = std::make_unique<AccountViews>(store_.get(), DefaultRules(), &clock_);
    ASSERT_TRUE(views_->Load().ok());
    projector_ = std::make_unique<Projector>(log_.get(), store_.get(), views_->ApplyListener());
  }
  void TearDown() override {
    projector_.reset();
    views_.reset();
    store_.reset();
    log_.reset();
    std::filesystem::remove_all(root_);
  }

  // Records `event` for `account` as if now were `recorded_at`; returns its id.
  std::string Record(const std::string& account, kam::v1::AccountEvent event,
                     absl::Time occurred_at, absl::Time recorded_at) {
    clock_.Set(recorded_at);
    event.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(occurred_at));
    eventstore::EventData data;
    data.event_id = "ev-" + std::to_string(++next_id_);
    data.type =
        event.GetDescriptor()->FindFieldByNumber(event.kind_case())->message_type()->full_name();
    data.data = event.SerializeAsString();
    data.occurred_at = occurred_at;
    auto r = log_->Append(AccountStream(account), eventstore::ExpectedVersion::Any(), {data});
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(projector_->CatchUp().ok());
    return data.event_id;
  }

  std::string Open(const std::string& account, absl::Time at) {
    kam::v1::AccountEvent e;
    e.mutable_account_opened()->set_name(account);
    e.mutable_account_opened()->set_kind(kam::v1::ACCOUNT_KIND_CUSTOMER);
    return Record(account, e, at, at);
  }

  std::string Order(const std::string& account, const std::string& order_id, int64_t amount,
                    absl::Time occurred_at, absl::Time recorded_at) {
    kam::v1::AccountEvent e;
    e.mutable_order_placed()->set_order_id(order_id);
    e.mutable_order_placed()->mutable_amount()->set_minor_units(amount);
    e.mutable_order_placed()->mutable_amount()->set_currency_code("CNY");
    return Record(account, e, occurred_at, recorded_at);
  }

  kam::v1::AccountView View(const std::string& account, absl::Time as_of, TimeAxis axis) {
    auto view = views_->GetAccount(account, ViewTime{as_of, axis});
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? *view : kam::v1::AccountView();
  }

  std::string root_;
  SettableClock clock_{kDay0};
  std::unique_ptr<eventstore::EventLog> log_;
  std::unique_ptr<ProjectionStore> store_;
  std::unique_ptr<AccountViews> views_;
  std::unique_ptr<Projector> projector_;
  int next_id_ = 0;
};

TEST_F(AccountViewsTest, LateRecordedOrderChangesTheOccurredAxisButNotTheRecordedAxis) {
  Open("acme", kDay0);
  // Placed on day 20, recorded only on day 40.
  Order("acme", "o-1", 500000, kDay0 + absl::Hours(24 * 20), kDay0 + absl::Hours(24 * 40));
  const absl::Time t = kDay0 + absl::Hours(24 * 30);

  kam::v1::AccountView occurred = View("acme", t, TimeAxis::kOccurred);
  EXPECT_EQ(occurred.stage(), kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  EXPECT_EQ(occurred.abc_class(), kam::v1::ABC_CLASS_A);

  kam::v1::AccountView recorded = View("acme", t, TimeAxis::kRecorded);
  EXPECT_EQ(recorded.stage(), kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
  EXPECT_EQ(recorded.abc_class(), kam::v1::ABC_CLASS_C);

  // Once recorded, both axes agree.
  const absl::Time later = kDay0 + absl::Hours(24 * 41);
  EXPECT_EQ(View("acme", later, TimeAxis::kRecorded).stage(),
            kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
}

TEST_F(AccountViewsTest, AccountDoesNotExistBeforeItsOpening) {
  Open("acme", kDay0 + absl::Hours(24));
  auto before = views_->GetAccount("acme", ViewTime{kDay0, TimeAxis::kOccurred});
  EXPECT_EQ(before.status().code(), absl::StatusCode::kNotFound);
  auto unknown = views_->GetAccount("nobody", ViewTime{kDay0, TimeAxis::kOccurred});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AccountViewsTest, RetractedOrderChangesAbcClassOfOtherAccounts) {
  Open("big", kDay0);
  Open("small", kDay0);
  const absl::Time d = kDay0 + absl::Hours(24 * 10);
  std::string big_order = Order("big", "o-big", 900, d, d);
  Order("small", "o-small", 100, d, d);
  const absl::Time t = kDay0 + absl::Hours(24 * 20);
  // big is 90 % of revenue: the share before small is 90 %, so small is B.
  EXPECT_EQ(View("big", t, TimeAxis::kOccurred).abc_class(), kam::v1::ABC_CLASS_A);
  EXPECT_EQ(View("small", t, TimeAxis::kOccurred).abc_class(), kam::v1::ABC_CLASS_B);

  kam::v1::AccountEvent retraction;
  retraction.mutable_event_retracted()->set_retracted_event_id(big_order);
  Record("big", retraction, t, t);
  const absl::Time after = t + absl::Hours(1);
  EXPECT_EQ(View("big", after, TimeAxis::kOccurred).abc_class(), kam::v1::ABC_CLASS_C);
  EXPECT_EQ(View("small", after, TimeAxis::kOccurred).abc_class(), kam::v1::ABC_CLASS_A);
  // What we knew before the retraction was recorded still shows it.
  EXPECT_EQ(View("small", t - absl::Hours(1), TimeAxis::kRecorded).abc_class(),
            kam::v1::ABC_CLASS_B);
  // On the OCCURRED axis a retraction applies to every time: it never happened.
  EXPECT_EQ(View("small", t - absl::Hours(1), TimeAxis::kOccurred).abc_class(),
            kam::v1::ABC_CLASS_A);
}

TEST_F(AccountViewsTest, LiveRankingFollowsTimeAndNewEvents) {
  Open("a", kDay0);
  Open("b", kDay0);
  Order("a", "o-a", 1000, kDay0, kDay0);
  clock_.Set(kDay0 + absl::Hours(24));
  auto now_view = views_->GetAccount("a", ViewTime{});
  ASSERT_TRUE(now_view.ok());
  EXPECT_EQ(now_view->abc_class(), kam::v1::ABC_CLASS_A);
  // 365 days after the order it leaves the trailing window: revenue 0, C.
  clock_.Set(kDay0 + absl::Hours(24 * 365));
  now_view = views_->GetAccount("a", ViewTime{});
  ASSERT_TRUE(now_view.ok());
  EXPECT_EQ(now_view->abc_class(), kam::v1::ABC_CLASS_C);
  // A new order for b is seen by the next live query.
  Order("b", "o-b", 10, kDay0 + absl::Hours(24 * 365), kDay0 + absl::Hours(24 * 365));
  auto b_view = views_->GetAccount("b", ViewTime{});
  ASSERT_TRUE(b_view.ok());
  EXPECT_EQ(b_view->abc_class(), kam::v1::ABC_CLASS_A);
}

TEST_F(AccountViewsTest, PortfolioCountsEveryAccountExistingAtAsOf) {
  Open("a", kDay0);
  Open("b", kDay0);
  Open("c", kDay0 + absl::Hours(24 * 100));
  Order("a", "o-a", 1000, kDay0 + absl::Hours(24), kDay0 + absl::Hours(24));
  auto portfolio =
      views_->GetPortfolio(ViewTime{kDay0 + absl::Hours(24 * 50), TimeAxis::kOccurred}, 0, 0);
  ASSERT_TRUE(portfolio.ok()) << portfolio.status();
  EXPECT_EQ(portfolio->account_count(), 2u);
}

}  // namespace
}  // namespace kam::projections
