// BuildAccountView: every field of the view from one worked history, the
// segment rules in context, the network, and the refusals.

#include "projections/account_view.h"

#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "projections/rules.h"
#include "tests/projections/rules_test_support.h"

namespace kam::projections {
namespace {

using google::protobuf::util::TimeUtil;
using testing::Day;
using testing::HistoryBuilder;
namespace t = testing;

int64_t Nanos(const google::protobuf::Timestamp& ts) {
  return TimeUtil::TimestampToNanoseconds(ts);
}

// A strategic customer at T = Day(365) with steady quarterly orders.
class AccountViewTest : public ::testing::Test {
 protected:
  AccountViewTest() : h_("acme", Day(365)) {
    opened_ = h_.Add(t::Opened(), Day(0));
    h_.Add(t::BoardDecisionMaker(), Day(1));
    h_.Add(t::PurchasingManager(), Day(1));
    h_.Add(t::Contact("c3", "purchasing", kam::v1::CONTACT_ROLE_USER,
                      kam::v1::CONTACT_LEVEL_OPERATIONAL),
           Day(1));
    first_order_ = h_.Add(t::Order("o1", 1000), Day(50));
    h_.Add(t::Order("o2", 1000), Day(140));
    h_.Add(t::Order("o3", 1000), Day(230));
    h_.Add(t::Order("o4", 1000), Day(320));
    h_.Add(t::Signed("sp", kam::v1::AGREEMENT_KIND_STRATEGIC_PARTNERSHIP), Day(60));
    share_ = h_.Add(t::Share(85), Day(70));
    complaint_ = h_.Add(t::Complaint("k1"), Day(362));
    h_.Add(t::Visit(kam::v1::VISITOR_SENIORITY_EXECUTIVE), Day(360));
  }

  kam::v1::AccountView View(kam::v1::AbcClass abc = kam::v1::ABC_CLASS_A) {
    absl::StatusOr<kam::v1::AccountView> view =
        BuildAccountView(h_.OccurredView(), abc, DefaultRules());
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? *view : kam::v1::AccountView();
  }

  HistoryBuilder h_;
  std::string opened_, first_order_, share_, complaint_;
};

TEST_F(AccountViewTest, FillsEveryField) {
  kam::v1::AccountView view = View();
  EXPECT_EQ(view.account_id(), "acme");
  EXPECT_EQ(view.profile().name(), "Acme Steel");
  EXPECT_EQ(view.profile().kind(), kam::v1::ACCOUNT_KIND_CUSTOMER);
  EXPECT_EQ(Nanos(view.profile().opened_at()), absl::ToUnixNanos(Day(0)));
  EXPECT_EQ(view.account_manager(), "wang");
  ASSERT_EQ(view.contacts_size(), 3);
  EXPECT_EQ(view.contacts(0).contact_id(), "c1");

  EXPECT_EQ(view.stage(), kam::v1::RELATIONSHIP_STAGE_STRATEGIC_COOPERATION);
  ASSERT_EQ(view.stage_history_size(), 3);
  EXPECT_EQ(view.stage_history(0).stage(), kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
  EXPECT_EQ(view.stage_history(0).caused_by_event_id(), opened_);
  EXPECT_EQ(view.stage_history(1).caused_by_event_id(), first_order_);
  EXPECT_EQ(view.stage_history(2).caused_by_event_id(), share_);
  EXPECT_FALSE(view.dormant());
  EXPECT_EQ(view.relationship_level(), kam::v1::RELATIONSHIP_LEVEL_LEVEL_3_STRUCTURAL);
  EXPECT_EQ(view.loss_reason(), kam::v1::LOSS_REASON_UNSPECIFIED);

  EXPECT_EQ(view.abc_class(), kam::v1::ABC_CLASS_A);
  EXPECT_EQ(view.value_segment(), kam::v1::VALUE_SEGMENT_EI);
  EXPECT_EQ(view.strategy(), kam::v1::VALUE_STRATEGY_CONSOLIDATE);
  EXPECT_EQ(view.prospect_segment(), kam::v1::PROSPECT_SEGMENT_NONE);

  EXPECT_EQ(view.risk().level(), kam::v1::RISK_LEVEL_LOW);
  EXPECT_EQ(view.opportunities_size(), 0);  // STRATEGIC: none.
  EXPECT_EQ(view.network().active_contacts(), 3u);

  EXPECT_EQ(view.revenue().trailing_365_days().minor_units(), 4000);
  EXPECT_EQ(view.revenue().trailing_365_days().currency_code(), "CNY");
  EXPECT_EQ(view.revenue().trailing_91_days().minor_units(), 1000);
  EXPECT_EQ(view.revenue().trailing_91_days_year_earlier().minor_units(), 0);
  ASSERT_EQ(view.revenue().quarters_size(), 4);
  EXPECT_EQ(view.revenue().quarters(0).minor_units(), 1000);
  EXPECT_EQ(view.revenue().quarters_with_orders(), 4u);

  ASSERT_EQ(view.open_complaints_size(), 1);
  EXPECT_EQ(view.open_complaints(0).filed_event_id(), complaint_);
  ASSERT_EQ(view.active_agreements_size(), 1);
  EXPECT_EQ(view.active_agreements(0).agreement_id(), "sp");
  EXPECT_EQ(view.latest_share().share_percent(), 85u);
  EXPECT_EQ(view.latest_share().event_id(), share_);
  EXPECT_FALSE(view.has_latest_prospect_assessment());

  EXPECT_EQ(view.rules_version(), RulesVersion(DefaultRules()));
  EXPECT_EQ(view.version(), h_.history().version);
  EXPECT_EQ(view.position(), h_.history().position);
  EXPECT_EQ(Nanos(view.as_of()), absl::ToUnixNanos(Day(365)));
  EXPECT_EQ(view.time_axis(), kam::v1::TIME_AXIS_OCCURRED);
}

TEST_F(AccountViewTest, ClassBWithSteadyOrdersIsEIII) {
  kam::v1::AccountView view = View(kam::v1::ABC_CLASS_B);
  EXPECT_EQ(view.value_segment(), kam::v1::VALUE_SEGMENT_EIII);
  EXPECT_EQ(view.strategy(), kam::v1::VALUE_STRATEGY_UPGRADE);
}

TEST_F(AccountViewTest, WaveringClassAIsEIIAndClassCIsEIV) {
  h_.Add(t::Order("big", 10000), Day(330));  // CV of {1000,1000,1000,11000} > 0.6.
  EXPECT_EQ(View(kam::v1::ABC_CLASS_A).value_segment(), kam::v1::VALUE_SEGMENT_EII);
  EXPECT_EQ(View(kam::v1::ABC_CLASS_A).strategy(), kam::v1::VALUE_STRATEGY_TURN_AROUND);
  EXPECT_EQ(View(kam::v1::ABC_CLASS_C).value_segment(), kam::v1::VALUE_SEGMENT_EIV);
  EXPECT_EQ(View(kam::v1::ABC_CLASS_C).strategy(), kam::v1::VALUE_STRATEGY_LIQUIDATE);
}

TEST_F(AccountViewTest, LostAccountHasItsReasonAndNeitherSegment) {
  h_.Add(t::Lost(kam::v1::LOSS_REASON_NEEDS_NOT_MET), Day(364));
  kam::v1::AccountView view = View();
  EXPECT_EQ(view.stage(), kam::v1::RELATIONSHIP_STAGE_LOST);
  EXPECT_EQ(view.loss_reason(), kam::v1::LOSS_REASON_NEEDS_NOT_MET);
  EXPECT_EQ(view.value_segment(), kam::v1::VALUE_SEGMENT_NONE);
  EXPECT_EQ(view.strategy(), kam::v1::VALUE_STRATEGY_NONE);
  EXPECT_EQ(view.prospect_segment(), kam::v1::PROSPECT_SEGMENT_NONE);
  EXPECT_EQ(view.risk().level(), kam::v1::RISK_LEVEL_NOT_APPLICABLE);
  h_.Add(t::Reactivated(), Day(365));
  EXPECT_EQ(View().loss_reason(), kam::v1::LOSS_REASON_UNSPECIFIED);
}

TEST(AccountViewProspectTest, DevelopmentAccountGetsAProspectSegment) {
  HistoryBuilder h("beta", Day(30));
  h.Add(t::Opened("Acme Steel", "wang", kam::v1::ACCOUNT_KIND_PROSPECT), Day(0));
  std::string assessed = h.Add(t::Prospect(12'000'000, 0.7), Day(10));
  absl::StatusOr<kam::v1::AccountView> view =
      BuildAccountView(h.OccurredView(), kam::v1::ABC_CLASS_C, DefaultRules());
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->stage(), kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
  EXPECT_EQ(view->prospect_segment(), kam::v1::PROSPECT_SEGMENT_PI);
  EXPECT_EQ(view->value_segment(), kam::v1::VALUE_SEGMENT_NONE);
  EXPECT_EQ(view->latest_prospect_assessment().event_id(), assessed);
  EXPECT_EQ(view->risk().level(), kam::v1::RISK_LEVEL_NOT_APPLICABLE);
}

TEST(AccountViewErrorsTest, NoAccountOpenedIsNotFound) {
  HistoryBuilder h("ghost", Day(30));
  h.Add(t::Order("o1", 10), Day(1));
  absl::StatusOr<kam::v1::AccountView> view =
      BuildAccountView(h.OccurredView(), kam::v1::ABC_CLASS_C, DefaultRules());
  EXPECT_EQ(view.status().code(), absl::StatusCode::kNotFound);
}

TEST(AccountViewErrorsTest, AmountInAnotherCurrencyIsRefusedNamingTheEvent) {
  HistoryBuilder h("acme", Day(30));
  h.Add(t::Opened(), Day(0));
  std::string order = h.Add(t::Order("o1", 10, "EUR"), Day(1));
  absl::StatusOr<kam::v1::AccountView> view =
      BuildAccountView(h.OccurredView(), kam::v1::ABC_CLASS_C, DefaultRules());
  EXPECT_EQ(view.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(view.status().message().find(order), absl::string_view::npos);
  EXPECT_NE(view.status().message().find("EUR"), absl::string_view::npos);
}

TEST(AccountViewRecordedTest, RecordedAxisViewUsesRecordedTimes) {
  HistoryBuilder h("acme", Day(30), TimeAxis::kRecorded);
  h.Add(t::Opened(), Day(0), Day(0));
  h.Add(t::Order("o1", 10), Day(1), Day(5));
  absl::StatusOr<kam::v1::AccountView> view =
      BuildAccountView(h.history(), kam::v1::ABC_CLASS_A, DefaultRules());
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->time_axis(), kam::v1::TIME_AXIS_RECORDED);
  ASSERT_EQ(view->stage_history_size(), 2);
  EXPECT_EQ(Nanos(view->stage_history(1).changed_at()), absl::ToUnixNanos(Day(5)));
}

TEST(TrailingYearRevenueTest, MatchesTheViewsFigure) {
  HistoryBuilder h("acme", Day(400));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("old", 7), Day(10));  // Outside the year.
  h.Add(t::Order("new", 11), Day(300));
  absl::StatusOr<int64_t> revenue = TrailingYearRevenue(h.OccurredView(), DefaultRules());
  ASSERT_TRUE(revenue.ok());
  EXPECT_EQ(*revenue, 11);
}

// --- Relationship network ------------------------------------------------------

TEST(NetworkTest, ByDepartmentRoleAndLevelWithCoverage) {
  HistoryBuilder h("acme", Day(30));
  h.Add(t::Opened(), Day(0));
  h.Add(t::PurchasingManager(), Day(1));
  h.Add(t::BoardDecisionMaker(), Day(1));
  h.Add(t::Contact("c3", "purchasing", kam::v1::CONTACT_ROLE_PURCHASER,
                   kam::v1::CONTACT_LEVEL_OPERATIONAL),
        Day(1));
  h.Add(t::Contact("gone", "board", kam::v1::CONTACT_ROLE_INFLUENCER,
                   kam::v1::CONTACT_LEVEL_EXECUTIVE),
        Day(1));
  h.Add(t::ContactLeft("gone"), Day(2));
  kam::v1::RelationshipNetwork network =
      NetworkOf(FoldAccountState(h.OccurredView()), DefaultRules());
  EXPECT_EQ(network.active_contacts(), 3u);
  ASSERT_EQ(network.by_department_size(), 2);
  EXPECT_EQ(network.by_department(0).department(), "board");
  EXPECT_EQ(network.by_department(0).contact_ids_size(), 1);
  EXPECT_EQ(network.by_department(1).department(), "purchasing");
  EXPECT_EQ(network.by_department(1).contact_ids(0), "c2");
  EXPECT_EQ(network.by_department(1).contact_ids(1), "c3");
  ASSERT_EQ(network.by_role_size(), 2);
  EXPECT_EQ(network.by_role(0).role(), kam::v1::CONTACT_ROLE_DECISION_MAKER);
  EXPECT_EQ(network.by_role(1).role(), kam::v1::CONTACT_ROLE_PURCHASER);
  ASSERT_EQ(network.by_level_size(), 3);
  EXPECT_EQ(network.by_level(0).level(), kam::v1::CONTACT_LEVEL_EXECUTIVE);
  EXPECT_TRUE(network.decision_maker_covered());
  EXPECT_TRUE(network.executive_covered());
  EXPECT_FALSE(network.single_threaded());
}

TEST(NetworkTest, OneContactIsSingleThreadedTwoIsNot) {
  HistoryBuilder h("acme", Day(30));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Contact("c1", "purchasing", kam::v1::CONTACT_ROLE_PURCHASER,
                   kam::v1::CONTACT_LEVEL_OPERATIONAL),
        Day(1));
  kam::v1::RelationshipNetwork one = NetworkOf(FoldAccountState(h.OccurredView()), DefaultRules());
  EXPECT_TRUE(one.single_threaded());
  EXPECT_FALSE(one.decision_maker_covered());
  EXPECT_FALSE(one.executive_covered());
  h.Add(t::Contact("c2", "purchasing", kam::v1::CONTACT_ROLE_USER,
                   kam::v1::CONTACT_LEVEL_OPERATIONAL),
        Day(2));
  EXPECT_FALSE(NetworkOf(FoldAccountState(h.OccurredView()), DefaultRules()).single_threaded());
}

TEST(NetworkTest, ContactChangeKeepsWhatIsNotGiven) {
  HistoryBuilder h("acme", Day(30));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Contact("c1", "purchasing", kam::v1::CONTACT_ROLE_PURCHASER,
                   kam::v1::CONTACT_LEVEL_OPERATIONAL),
        Day(1));
  h.Add(t::ContactRoleChanged("c1", kam::v1::CONTACT_ROLE_DECISION_MAKER), Day(2));
  AccountState state = FoldAccountState(h.OccurredView());
  const kam::v1::Contact& c1 = state.contacts.at("c1").contact;
  EXPECT_EQ(c1.role(), kam::v1::CONTACT_ROLE_DECISION_MAKER);
  EXPECT_EQ(c1.department(), "purchasing");
  EXPECT_EQ(c1.level(), kam::v1::CONTACT_LEVEL_OPERATIONAL);
}

}  // namespace
}  // namespace kam::projections
