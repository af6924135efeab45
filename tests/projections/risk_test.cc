// Worked examples of DOMAIN.md "Defection risk": every factor of the table
// alone, its boundaries, the cap and the levels.

#include <algorithm>

#include "gtest/gtest.h"
#include "projections/account_state.h"
#include "projections/rules.h"
#include "tests/projections/rules_test_support.h"

namespace kam::projections {
namespace {

using testing::Day;
using testing::HistoryBuilder;
namespace t = testing;

const absl::Time kAsOf = Day(400);

// A customer at T = Day(400) with no risk factor: an order in the trailing
// 91 days (none a year earlier), a decision maker at executive level and a
// manager in two departments, and an executive visit the day before T.
class RiskTest : public ::testing::Test {
 protected:
  RiskTest() : h_("acme", kAsOf) {
    h_.Add(t::Opened(), Day(0));
    recent_order_ = h_.Add(t::Order("o-recent", 1000), Day(390));
    h_.Add(t::BoardDecisionMaker(), Day(1));
    h_.Add(t::PurchasingManager(), Day(1));
  }

  void AddRecentExecutiveVisit() {
    h_.Add(t::Visit(kam::v1::VISITOR_SENIORITY_EXECUTIVE), Day(399));
  }

  kam::v1::DefectionRisk Risk() {
    AccountState state = FoldAccountState(h_.OccurredView());
    return DefectionRiskOf(state, StageOf(state.stage_inputs, rules_), h_.history().as_of, rules_);
  }

  // The risk's only factor; fails the test when there is not exactly one.
  kam::v1::RiskFactorFinding OnlyFactor() {
    kam::v1::DefectionRisk risk = Risk();
    EXPECT_EQ(risk.factors_size(), 1) << risk.DebugString();
    if (risk.factors_size() != 1) return {};
    EXPECT_EQ(risk.score(), risk.factors(0).points());
    return risk.factors(0);
  }

  std::vector<std::string> Ids(const kam::v1::RiskFactorFinding& f) {
    return std::vector<std::string>(f.event_ids().begin(), f.event_ids().end());
  }

  HistoryBuilder h_;
  Rules rules_;
  std::string recent_order_;
};

TEST_F(RiskTest, HealthyCustomerHasNoFactor) {
  AddRecentExecutiveVisit();
  kam::v1::DefectionRisk risk = Risk();
  EXPECT_EQ(risk.score(), 0u);
  EXPECT_EQ(risk.level(), kam::v1::RISK_LEVEL_LOW);
  EXPECT_EQ(risk.factors_size(), 0);
}

TEST_F(RiskTest, PurchasingStandardCompetitorOnlyIs60AndHigh) {
  AddRecentExecutiveVisit();
  std::string id = h_.Add(t::Standard(false, true), Day(200));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_PURCHASING_STANDARD_COMPETITOR_ONLY);
  EXPECT_EQ(f.points(), 60u);
  EXPECT_EQ(Ids(f), std::vector<std::string>{id});
  EXPECT_EQ(Risk().level(), kam::v1::RISK_LEVEL_HIGH);
}

TEST_F(RiskTest, PurchasingStandardBothIs30AndMedium) {
  AddRecentExecutiveVisit();
  h_.Add(t::Standard(false, true), Day(100));
  std::string id = h_.Add(t::Standard(true, true), Day(200));  // The latest counts.
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_PURCHASING_STANDARD_BOTH);
  EXPECT_EQ(f.points(), 30u);
  EXPECT_EQ(Ids(f), std::vector<std::string>{id});
  EXPECT_EQ(Risk().level(), kam::v1::RISK_LEVEL_MEDIUM);
}

TEST_F(RiskTest, OnlyUsMeetingTheStandardIsNoFactor) {
  AddRecentExecutiveVisit();
  h_.Add(t::Standard(true, false), Day(200));
  EXPECT_EQ(Risk().factors_size(), 0);
}

TEST_F(RiskTest, ComplaintOpenSevenDaysIsNotAFactorSevenDaysAndASecondIs) {
  AddRecentExecutiveVisit();
  h_.Add(t::Complaint("k1"), kAsOf - Days(7));
  EXPECT_EQ(Risk().factors_size(), 0);
  std::string id = h_.Add(t::Complaint("k2"), kAsOf - Days(7) - absl::Seconds(1));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_COMPLAINT_OPEN_OVER_7_DAYS);
  EXPECT_EQ(f.points(), 15u);
  EXPECT_EQ(Ids(f), std::vector<std::string>{id});
}

TEST_F(RiskTest, ComplaintsOpenTooLongScore15EachAtMostTwo) {
  AddRecentExecutiveVisit();
  std::string k1 = h_.Add(t::Complaint("k1"), Day(300));
  std::string k2 = h_.Add(t::Complaint("k2"), Day(301));
  EXPECT_EQ(OnlyFactor().points(), 30u);
  std::string k3 = h_.Add(t::Complaint("k3"), Day(302));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.points(), 30u);
  EXPECT_EQ(Ids(f), (std::vector<std::string>{k1, k2, k3}));
  h_.Add(t::Resolved("k1", true), Day(303));
  h_.Add(t::Resolved("k2", true), Day(303));
  h_.Add(t::Resolved("k3", true), Day(303));
  EXPECT_EQ(Risk().factors_size(), 0);
}

TEST_F(RiskTest, ComplaintResolvedUnsatisfiedWithin90DaysIs10) {
  AddRecentExecutiveVisit();
  h_.Add(t::Complaint("k1"), Day(300));
  std::string resolved = h_.Add(t::Resolved("k1", false), kAsOf - Days(90) + absl::Seconds(1));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_COMPLAINT_RESOLVED_UNSATISFIED);
  EXPECT_EQ(f.points(), 10u);
  EXPECT_EQ(Ids(f), std::vector<std::string>{resolved});
}

TEST_F(RiskTest, ComplaintResolvedUnsatisfied90DaysAgoOrSatisfiedIsNoFactor) {
  AddRecentExecutiveVisit();
  h_.Add(t::Complaint("k1"), Day(300));
  h_.Add(t::Resolved("k1", false), kAsOf - Days(90));
  h_.Add(t::Complaint("k2"), Day(390));
  h_.Add(t::Resolved("k2", true), Day(391));
  EXPECT_EQ(Risk().factors_size(), 0);
}

TEST_F(RiskTest, SingleThreadedWithOneActiveContactIs15AndListsNone) {
  AddRecentExecutiveVisit();
  h_.Add(t::ContactLeft("c2"), Day(200));  // Not a key contact.
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_SINGLE_THREADED);
  EXPECT_EQ(f.points(), 15u);
  EXPECT_EQ(f.event_ids_size(), 0);
}

TEST_F(RiskTest, NoDecisionMakerIs10AndListsNone) {
  AddRecentExecutiveVisit();
  h_.Add(t::ContactRoleChanged("c1", kam::v1::CONTACT_ROLE_INFLUENCER), Day(200));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_NO_DECISION_MAKER);
  EXPECT_EQ(f.points(), 10u);
  EXPECT_EQ(f.event_ids_size(), 0);
}

TEST_F(RiskTest, KeyContactLeftWhenOneSeatIsLeftEmpty) {
  AddRecentExecutiveVisit();
  // A new decision maker fills that seat, but the executive seat stays empty.
  h_.Add(t::Contact("c3", "plant", kam::v1::CONTACT_ROLE_DECISION_MAKER,
                    kam::v1::CONTACT_LEVEL_MANAGEMENT),
         Day(300));
  std::string left = h_.Add(t::ContactLeft("c1"), Day(350));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_KEY_CONTACT_LEFT);
  EXPECT_EQ(f.points(), 15u);
  EXPECT_EQ(Ids(f), std::vector<std::string>{left});
}

TEST_F(RiskTest, KeyContactLeftIsNoFactorWhenTheSeatIsFilledAgain) {
  AddRecentExecutiveVisit();
  h_.Add(t::ContactLeft("c1"), Day(350));
  // Re-adding the contact id makes the contact active again.
  h_.Add(t::BoardDecisionMaker(), Day(360));
  EXPECT_EQ(Risk().factors_size(), 0);
}

TEST_F(RiskTest, KeyContactWhoLeft90DaysAgoIsNoLongerAFactor) {
  AddRecentExecutiveVisit();
  h_.Add(t::Contact("c3", "plant", kam::v1::CONTACT_ROLE_DECISION_MAKER,
                    kam::v1::CONTACT_LEVEL_MANAGEMENT),
         Day(300));
  h_.Add(t::ContactLeft("c1"), kAsOf - Days(90));
  EXPECT_EQ(Risk().factors_size(), 0);
}

TEST_F(RiskTest, NoContactIn60DaysIs10) {
  h_.Add(t::Visit(kam::v1::VISITOR_SENIORITY_EXECUTIVE), kAsOf - Days(60));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_NO_CONTACT_60_DAYS);
  EXPECT_EQ(f.points(), 10u);
  EXPECT_EQ(f.event_ids_size(), 0);
}

TEST_F(RiskTest, NoExecutiveContactIn180DaysIs5) {
  h_.Add(t::Visit(kam::v1::VISITOR_SENIORITY_SALES), Day(399));
  h_.Add(t::Visit(kam::v1::VISITOR_SENIORITY_EXECUTIVE), kAsOf - Days(180));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_NO_EXECUTIVE_CONTACT_180_DAYS);
  EXPECT_EQ(f.points(), 5u);
  h_.Add(t::Call(true), Day(250));  // An executive-level communication.
  EXPECT_EQ(Risk().factors_size(), 0);
}

TEST_F(RiskTest, RevenueDeclineBelow80PercentOfAYearEarlierIs15) {
  AddRecentExecutiveVisit();
  // A year earlier the 91-day window is (Day(-56), Day(35)]: 1251 there
  // against 1000 now: 1000 * 100 < 80 * 1251.
  std::string earlier = h_.Add(t::Order("o-earlier", 1251), Day(35));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_REVENUE_DECLINE);
  EXPECT_EQ(f.points(), 15u);
  EXPECT_EQ(Ids(f), (std::vector<std::string>{earlier, recent_order_}));
}

TEST_F(RiskTest, RevenueAtExactly80PercentIsNoDecline) {
  AddRecentExecutiveVisit();
  h_.Add(t::Order("o-earlier", 1250), Day(35));  // 1000 = 80 % of 1250.
  EXPECT_EQ(Risk().factors_size(), 0);
}

TEST_F(RiskTest, RevenueDeclineNeedsRevenueAYearEarlier) {
  AddRecentExecutiveVisit();
  h_.Add(t::Cancel("o-recent"), Day(395));
  h_.Add(t::Order("o-other", 1), Day(391));  // Still a customer, with 1 of revenue.
  EXPECT_EQ(Risk().factors_size(), 0);
}

TEST_F(RiskTest, ShareDropOf10PointsIs15And9IsNot) {
  AddRecentExecutiveVisit();
  h_.Add(t::Share(45), Day(100));
  h_.Add(t::Share(36), Day(200));
  EXPECT_EQ(Risk().factors_size(), 0);
  std::string last = h_.Add(t::Share(26), Day(300));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_SHARE_DROP);
  EXPECT_EQ(f.points(), 15u);
  EXPECT_EQ(Ids(f), (std::vector<std::string>{"e7", last}));
}

TEST_F(RiskTest, DeliveryProblemsOverTenPercentIs10) {
  AddRecentExecutiveVisit();
  for (int i = 0; i < 9; ++i) h_.Add(t::Delivered("o-recent", true, true), Day(391));
  h_.Add(t::Delivered("o-recent", false, true), Day(392));           // 1 of 10: not > 10 %.
  h_.Add(t::Delivered("o-recent", false, false), kAsOf - Days(90));  // Outside.
  EXPECT_EQ(Risk().factors_size(), 0);
  std::string incomplete = h_.Add(t::Delivered("o-recent", true, false), Day(393));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_DELIVERY_PROBLEMS);
  EXPECT_EQ(f.points(), 10u);
  EXPECT_EQ(f.event_ids_size(), 2);
  EXPECT_EQ(f.event_ids(1), incomplete);
}

TEST_F(RiskTest, CompetitorPriceCutIn90DaysIs10) {
  AddRecentExecutiveVisit();
  h_.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_PRICE_CUT), kAsOf - Days(90));
  EXPECT_EQ(Risk().factors_size(), 0);
  std::string id = h_.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_PRICE_CUT), Day(350));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_COMPETITOR_PRICE_CUT);
  EXPECT_EQ(f.points(), 10u);
  EXPECT_EQ(Ids(f), std::vector<std::string>{id});
}

TEST_F(RiskTest, CompetitorNewProductIn90DaysIs5) {
  AddRecentExecutiveVisit();
  std::string id = h_.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_NEW_PRODUCT), Day(350));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_COMPETITOR_NEW_PRODUCT);
  EXPECT_EQ(f.points(), 5u);
  EXPECT_EQ(Ids(f), std::vector<std::string>{id});
}

TEST_F(RiskTest, AccountManagerChangedToADifferentManagerIs5) {
  AddRecentExecutiveVisit();
  h_.Add(t::ManagerAssigned("wang"), Day(340));  // The same manager: no change.
  EXPECT_EQ(Risk().factors_size(), 0);
  std::string id = h_.Add(t::ManagerAssigned("zhao"), Day(350));
  kam::v1::RiskFactorFinding f = OnlyFactor();
  EXPECT_EQ(f.name(), kam::v1::RISK_FACTOR_ACCOUNT_MANAGER_CHANGED);
  EXPECT_EQ(f.points(), 5u);
  EXPECT_EQ(Ids(f), std::vector<std::string>{id});
}

TEST_F(RiskTest, ScoreIsCappedAt100WithEveryFactorListed) {
  // No interaction at all: NO_CONTACT and NO_EXECUTIVE_CONTACT.
  h_.Add(t::Standard(false, true), Day(200));                               // 60
  h_.Add(t::Complaint("k1"), Day(300));                                     // 15
  h_.Add(t::ContactLeft("c2"), Day(200));                                   // SINGLE_THREADED 15
  h_.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_PRICE_CUT), Day(350));  // 10
  kam::v1::DefectionRisk risk = Risk();
  EXPECT_EQ(risk.score(), 100u);  // 60 + 15 + 15 + 10 + 5 + 10 = 115.
  EXPECT_EQ(risk.level(), kam::v1::RISK_LEVEL_HIGH);
  ASSERT_EQ(risk.factors_size(), 6);
  EXPECT_EQ(risk.factors(0).name(), kam::v1::RISK_FACTOR_PURCHASING_STANDARD_COMPETITOR_ONLY);
  EXPECT_EQ(risk.factors(5).name(), kam::v1::RISK_FACTOR_COMPETITOR_PRICE_CUT);
}

TEST_F(RiskTest, ConfiguredPointsApply) {
  AddRecentExecutiveVisit();
  rules_.risk_points.competitor_new_product = 33;
  h_.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_NEW_PRODUCT), Day(350));
  EXPECT_EQ(Risk().score(), 33u);
  EXPECT_EQ(Risk().level(), kam::v1::RISK_LEVEL_MEDIUM);
}

TEST(RiskNotApplicableTest, DevelopmentAndLostHaveNoRisk) {
  HistoryBuilder h("acme", kAsOf);
  h.Add(t::Opened("Acme Steel", "wang", kam::v1::ACCOUNT_KIND_PROSPECT), Day(0));
  h.Add(t::Standard(false, true), Day(200));
  AccountState state = FoldAccountState(h.OccurredView());
  for (auto stage : {kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT, kam::v1::RELATIONSHIP_STAGE_LOST}) {
    kam::v1::DefectionRisk risk = DefectionRiskOf(state, stage, kAsOf, DefaultRules());
    EXPECT_EQ(risk.level(), kam::v1::RISK_LEVEL_NOT_APPLICABLE);
    EXPECT_EQ(risk.score(), 0u);
    EXPECT_EQ(risk.factors_size(), 0);
  }
}

TEST(RiskLevelTest, Bounds) {
  const Rules rules;
  EXPECT_EQ(RiskLevelOf(0, rules), kam::v1::RISK_LEVEL_LOW);
  EXPECT_EQ(RiskLevelOf(29, rules), kam::v1::RISK_LEVEL_LOW);
  EXPECT_EQ(RiskLevelOf(30, rules), kam::v1::RISK_LEVEL_MEDIUM);
  EXPECT_EQ(RiskLevelOf(59, rules), kam::v1::RISK_LEVEL_MEDIUM);
  EXPECT_EQ(RiskLevelOf(60, rules), kam::v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(RiskLevelOf(100, rules), kam::v1::RISK_LEVEL_HIGH);
}

}  // namespace
}  // namespace kam::projections
