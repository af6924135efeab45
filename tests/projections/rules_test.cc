// Worked examples of DOMAIN.md "Relationship stage", "Relationship level",
// "ABC class", "Value segment" and "Prospect segment", with their
// boundaries.

#include "projections/rules.h"

#include <limits>

#include "gtest/gtest.h"
#include "projections/account_state.h"
#include "tests/projections/rules_test_support.h"

namespace kam::projections {
namespace {

using testing::Day;
using testing::HistoryBuilder;
namespace t = testing;

kam::v1::RelationshipStage StageAt(HistoryBuilder& h) {
  return StageOf(FoldAccountState(h.OccurredView()).stage_inputs, DefaultRules());
}

// --- Relationship stage -----------------------------------------------------

TEST(StageTest, OpenedAccountIsInDevelopment) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
}

TEST(StageTest, ShareAssessmentAloneKeepsDevelopment) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Share(90), Day(1));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
}

TEST(StageTest, AnOrderWithoutShareIsInitialCooperation) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
}

TEST(StageTest, OnlyCancelledOrdersIsDevelopment) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Cancel("o1"), Day(2));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
}

TEST(StageTest, Share49IsInitialAnd50IsStable) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Share(49), Day(2));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  h.Add(t::Share(50), Day(3));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
}

TEST(StageTest, Share79WithPartnershipIsStableAnd80IsStrategic) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Signed("a1", kam::v1::AGREEMENT_KIND_STRATEGIC_PARTNERSHIP), Day(2));
  h.Add(t::Share(79), Day(3));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
  h.Add(t::Share(80), Day(4));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_STRATEGIC_COOPERATION);
}

TEST(StageTest, EquityCooperationAlsoMakesStrategic) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Signed("a1", kam::v1::AGREEMENT_KIND_EQUITY_COOPERATION), Day(2));
  h.Add(t::Share(95), Day(3));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_STRATEGIC_COOPERATION);
}

TEST(StageTest, FrameContractOrEndedPartnershipIsOnlyStable) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Share(90), Day(2));
  h.Add(t::Signed("f1", kam::v1::AGREEMENT_KIND_FRAME_CONTRACT), Day(3));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
  h.Add(t::Signed("a1", kam::v1::AGREEMENT_KIND_STRATEGIC_PARTNERSHIP), Day(4));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_STRATEGIC_COOPERATION);
  h.Add(t::Ended("a1"), Day(5));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
}

TEST(StageTest, LostThenReactivatedFollowsOrdersAndShareAgain) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Share(60), Day(2));
  h.Add(t::Lost(), Day(3));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_LOST);
  h.Add(t::Reactivated(), Day(4));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
  h.Add(t::Lost(), Day(5));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_LOST);
}

TEST(StageTest, LostWithoutOrdersIsStillLost) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Lost(kam::v1::LOSS_REASON_CUSTOMER_BUSINESS_CHANGE), Day(1));
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_LOST);
}

TEST(StageTest, LatestIsInBusinessOrderNotLogOrder) {
  // Recorded in log order: a reactivation, then a loss backdated before it.
  HistoryBuilder h("acme", Day(10), TimeAxis::kRecorded);
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Share(80), Day(6));
  h.Add(t::Share(30), Day(2), Day(7));  // Older assessment, recorded later.
  EXPECT_EQ(StageOf(FoldAccountState(h.history()).stage_inputs, DefaultRules()),
            kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
  h.Add(t::Reactivated(), Day(5), Day(8));
  h.Add(t::Lost(), Day(4), Day(9));  // Occurred before the reactivation.
  EXPECT_EQ(StageOf(FoldAccountState(h.history()).stage_inputs, DefaultRules()),
            kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
}

TEST(StageTest, ConfiguredShareThresholdsApply) {
  Rules rules;
  rules.stable_share_percent = 40;
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Share(45), Day(2));
  EXPECT_EQ(StageOf(FoldAccountState(h.OccurredView()).stage_inputs, rules),
            kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
}

// --- Stage history -----------------------------------------------------------

TEST(StageHistoryTest, StartsWithDevelopmentAtOpeningAndKeepsEveryChange) {
  HistoryBuilder h("acme", Day(100));
  std::string opened = h.Add(t::Opened(), Day(0));
  std::string order = h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Share(40), Day(2));  // Still INITIAL: no change.
  std::string share = h.Add(t::Share(55), Day(3));
  std::string lost = h.Add(t::Lost(), Day(4));
  std::string back = h.Add(t::Reactivated(), Day(5));
  std::vector<StageChange> changes = StageHistoryOf(h.OccurredView(), DefaultRules());
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_EQ(changes[0].stage, kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
  EXPECT_EQ(changes[0].caused_by_event_id, opened);
  EXPECT_EQ(changes[0].changed_at, Day(0));
  EXPECT_EQ(changes[0].position, 1u);
  EXPECT_EQ(changes[1].stage, kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  EXPECT_EQ(changes[1].caused_by_event_id, order);
  EXPECT_EQ(changes[2].stage, kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
  EXPECT_EQ(changes[2].caused_by_event_id, share);
  EXPECT_EQ(changes[2].changed_at, Day(3));
  EXPECT_EQ(changes[3].stage, kam::v1::RELATIONSHIP_STAGE_LOST);
  EXPECT_EQ(changes[3].caused_by_event_id, lost);
  EXPECT_EQ(changes[4].stage, kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
  EXPECT_EQ(changes[4].caused_by_event_id, back);
}

TEST(StageHistoryTest, RecordedAxisUsesLogOrderAndRecordedTimes) {
  HistoryBuilder h("acme", Day(100), TimeAxis::kRecorded);
  h.Add(t::Opened(), Day(0), Day(0));
  std::string order = h.Add(t::Order("o1", 100), Day(1), Day(20));
  h.Add(t::Share(70), Day(30), Day(30));
  std::vector<StageChange> changes = StageHistoryOf(h.history(), DefaultRules());
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[1].stage, kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  EXPECT_EQ(changes[1].changed_at, Day(20));  // recorded_at, not occurred_at.
  EXPECT_EQ(changes[1].caused_by_event_id, order);
  EXPECT_EQ(changes[2].stage, kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
}

TEST(StageHistoryTest, CancellationIsAStageChange) {
  HistoryBuilder h("acme", Day(100));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  std::string cancel = h.Add(t::Cancel("o1"), Day(2));
  std::vector<StageChange> changes = StageHistoryOf(h.OccurredView(), DefaultRules());
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[2].stage, kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
  EXPECT_EQ(changes[2].caused_by_event_id, cancel);
}

// --- Dormant -------------------------------------------------------------------

TEST(DormantTest, Dormant365DaysAfterTheLastOrderNotAt364) {
  HistoryBuilder h("acme", Day(364));
  h.Add(t::Opened(), Day(-10));
  h.Add(t::Order("o1", 100), Day(0));
  EXPECT_FALSE(IsDormant(FoldAccountState(h.OccurredView()), Day(364), DefaultRules()));
  h.set_as_of(Day(365));  // T - 365 d < occurred_at fails: out of the window.
  EXPECT_TRUE(IsDormant(FoldAccountState(h.OccurredView()), Day(365), DefaultRules()));
}

TEST(DormantTest, NoOrdersOrOnlyCancelledIsNotDormant) {
  HistoryBuilder h("acme", Day(800));
  h.Add(t::Opened(), Day(0));
  EXPECT_FALSE(IsDormant(FoldAccountState(h.OccurredView()), Day(800), DefaultRules()));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Cancel("o1"), Day(2));
  EXPECT_FALSE(IsDormant(FoldAccountState(h.OccurredView()), Day(800), DefaultRules()));
}

// --- Revenue windows -------------------------------------------------------------

TEST(RevenueTest, TrailingWindowExcludesItsStartAndIncludesItsEnd) {
  HistoryBuilder h("acme", Day(400));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("at-start", 1), Day(35));                             // T - 365 d: out.
  h.Add(t::Order("after-start", 10), Day(35) + absl::Nanoseconds(1));  // In.
  h.Add(t::Order("at-end", 100), Day(400));                            // T: in.
  h.Add(t::Order("cancelled", 1000), Day(200));
  h.Add(t::Cancel("cancelled"), Day(201));
  AccountState state = FoldAccountState(h.OccurredView());
  EXPECT_EQ(TrailingNetRevenue(state, Day(400), Days(365)), 110);
}

TEST(RevenueTest, RecordedAxisFutureOrderCountsForStageButNotWindows) {
  HistoryBuilder h("acme", Day(10), TimeAxis::kRecorded);
  h.Add(t::Opened(), Day(0));
  // Recorded before T with an occurred_at slightly after T (clock skew).
  h.Add(t::Order("o1", 500), Day(10) + absl::Seconds(30), Day(9));
  AccountState state = FoldAccountState(h.history());
  EXPECT_EQ(StageOf(state.stage_inputs, DefaultRules()),
            kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  EXPECT_EQ(TrailingNetRevenue(state, Day(10), Days(365)), 0);
}

TEST(RevenueTest, QuartersSplitTheYearInto91Point25DayWindows) {
  const absl::Time as_of = Day(365);  // The year is (Day(0), Day(365)].
  HistoryBuilder h("acme", as_of);
  h.Add(t::Opened(), Day(-1));
  h.Add(t::Order("q1-end", 1), Day(91.25));                            // Last instant of Q1.
  h.Add(t::Order("q2-start", 10), Day(91.25) + absl::Nanoseconds(1));  // Q2.
  h.Add(t::Order("q3-end", 100), Day(273.75));                         // Last instant of Q3.
  h.Add(t::Order("q4-end", 1000), as_of);
  QuarterlyFigures quarters =
      QuarterlyRevenue(FoldAccountState(h.OccurredView()), as_of, DefaultRules());
  EXPECT_EQ(quarters.revenue, (std::array<int64_t, 4>{1, 10, 100, 1000}));
  EXPECT_EQ(quarters.quarters_with_orders, 4u);
}

// --- Relationship level ------------------------------------------------------------

class LevelTest : public ::testing::Test {
 protected:
  // Three active contacts in two departments, one of them MANAGEMENT, and a
  // visit 89 days before T.
  void AddSocialNetwork(HistoryBuilder& h) {
    h.Add(t::Opened(), Day(0));
    h.Add(t::Contact("c1", "purchasing", kam::v1::CONTACT_ROLE_PURCHASER,
                     kam::v1::CONTACT_LEVEL_OPERATIONAL),
          Day(1));
    h.Add(t::Contact("c2", "purchasing", kam::v1::CONTACT_ROLE_USER,
                     kam::v1::CONTACT_LEVEL_OPERATIONAL),
          Day(1));
    h.Add(t::Contact("c3", "engineering", kam::v1::CONTACT_ROLE_TECHNICAL,
                     kam::v1::CONTACT_LEVEL_MANAGEMENT),
          Day(1));
    h.Add(t::Visit(kam::v1::VISITOR_SENIORITY_SALES), Day(11));
  }
  kam::v1::RelationshipLevel LevelAt(HistoryBuilder& h) {
    return RelationshipLevelOf(FoldAccountState(h.OccurredView()), h.history().as_of,
                               DefaultRules());
  }
};

TEST_F(LevelTest, DefaultIsFinancial) {
  HistoryBuilder h("acme", Day(10));
  h.Add(t::Opened(), Day(0));
  EXPECT_EQ(LevelAt(h), kam::v1::RELATIONSHIP_LEVEL_LEVEL_1_FINANCIAL);
}

TEST_F(LevelTest, ThreeContactsInTwoDepartmentsWithAManagerAndRecentVisitIsSocial) {
  HistoryBuilder h("acme", Day(100));
  AddSocialNetwork(h);
  EXPECT_EQ(LevelAt(h), kam::v1::RELATIONSHIP_LEVEL_LEVEL_2_SOCIAL);
}

TEST_F(LevelTest, OneDepartmentIsNotSocial) {
  HistoryBuilder h("acme", Day(100));
  AddSocialNetwork(h);
  kam::v1::AccountEvent move;
  move.mutable_contact_changed()->set_contact_id("c3");
  move.mutable_contact_changed()->set_department("purchasing");
  h.Add(move, Day(50));
  EXPECT_EQ(LevelAt(h), kam::v1::RELATIONSHIP_LEVEL_LEVEL_1_FINANCIAL);
}

TEST_F(LevelTest, TwoContactsAreNotSocial) {
  HistoryBuilder h("acme", Day(100));
  AddSocialNetwork(h);
  h.Add(t::ContactLeft("c1"), Day(50));
  EXPECT_EQ(LevelAt(h), kam::v1::RELATIONSHIP_LEVEL_LEVEL_1_FINANCIAL);
}

TEST_F(LevelTest, NoManagementOrExecutiveIsNotSocial) {
  HistoryBuilder h("acme", Day(100));
  AddSocialNetwork(h);
  kam::v1::AccountEvent demote;
  demote.mutable_contact_changed()->set_contact_id("c3");
  demote.mutable_contact_changed()->set_level(kam::v1::CONTACT_LEVEL_OPERATIONAL);
  h.Add(demote, Day(50));
  EXPECT_EQ(LevelAt(h), kam::v1::RELATIONSHIP_LEVEL_LEVEL_1_FINANCIAL);
}

TEST_F(LevelTest, VisitExactly90DaysAgoIsOutsideTheWindow) {
  HistoryBuilder h("acme", Day(101));  // The visit at Day(11) is T - 90 d.
  AddSocialNetwork(h);
  EXPECT_EQ(LevelAt(h), kam::v1::RELATIONSHIP_LEVEL_LEVEL_1_FINANCIAL);
  h.Add(t::Call(false), Day(101));
  EXPECT_EQ(LevelAt(h), kam::v1::RELATIONSHIP_LEVEL_LEVEL_2_SOCIAL);
}

TEST_F(LevelTest, StructuralAgreementIsLevel3IndependentOfStage) {
  // DOMAIN.md: 60 % share with an equity cooperation is STABLE_COOPERATION
  // at LEVEL_3_STRUCTURAL.
  HistoryBuilder h("acme", Day(100));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Share(60), Day(2));
  h.Add(t::Signed("eq", kam::v1::AGREEMENT_KIND_EQUITY_COOPERATION), Day(3));
  EXPECT_EQ(LevelAt(h), kam::v1::RELATIONSHIP_LEVEL_LEVEL_3_STRUCTURAL);
  EXPECT_EQ(StageAt(h), kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
  h.Add(t::Ended("eq"), Day(4));
  EXPECT_EQ(LevelAt(h), kam::v1::RELATIONSHIP_LEVEL_LEVEL_1_FINANCIAL);
}

// --- ABC class ------------------------------------------------------------------------

std::vector<kam::v1::AbcClass> ClassesOf(const std::vector<AccountAbc>& accounts) {
  std::vector<kam::v1::AbcClass> classes;
  for (const AccountAbc& a : accounts) classes.push_back(a.abc_class);
  return classes;
}

TEST(AbcTest, CumulativeShareAt80IsBAndAt95IsC) {
  // Before: 0 %, 50 %, 80 %, 95 %.
  std::vector<AccountAbc> result =
      AbcClasses({{"d", 5}, {"a", 50}, {"c", 15}, {"b", 30}}, DefaultRules());
  ASSERT_EQ(result.size(), 4u);
  EXPECT_EQ(result[0].account_id, "a");
  EXPECT_EQ(result[3].account_id, "d");
  EXPECT_EQ(ClassesOf(result),
            (std::vector<kam::v1::AbcClass>{kam::v1::ABC_CLASS_A, kam::v1::ABC_CLASS_A,
                                            kam::v1::ABC_CLASS_B, kam::v1::ABC_CLASS_C}));
}

TEST(AbcTest, CumulativeShareJustUnder80IsAAndJustUnder95IsB) {
  // Before: 0 %, 79 %, 94 %, 99 %.
  std::vector<AccountAbc> result =
      AbcClasses({{"a", 79}, {"b", 15}, {"c", 5}, {"d", 1}}, DefaultRules());
  EXPECT_EQ(ClassesOf(result),
            (std::vector<kam::v1::AbcClass>{kam::v1::ABC_CLASS_A, kam::v1::ABC_CLASS_A,
                                            kam::v1::ABC_CLASS_B, kam::v1::ABC_CLASS_C}));
}

TEST(AbcTest, TiesByAccountIdAndZeroRevenueIsC) {
  std::vector<AccountAbc> result = AbcClasses({{"z", 0}, {"b", 10}, {"a", 10}}, DefaultRules());
  EXPECT_EQ(result[0].account_id, "a");
  EXPECT_EQ(result[1].account_id, "b");
  EXPECT_EQ(result[2].account_id, "z");
  // Before b: 50 % < 80 %: A. Zero revenue: C.
  EXPECT_EQ(ClassesOf(result),
            (std::vector<kam::v1::AbcClass>{kam::v1::ABC_CLASS_A, kam::v1::ABC_CLASS_A,
                                            kam::v1::ABC_CLASS_C}));
}

TEST(AbcTest, AllZeroIsAllC) {
  std::vector<AccountAbc> result = AbcClasses({{"a", 0}, {"b", 0}}, DefaultRules());
  EXPECT_EQ(ClassesOf(result),
            (std::vector<kam::v1::AbcClass>{kam::v1::ABC_CLASS_C, kam::v1::ABC_CLASS_C}));
}

TEST(AbcTest, HugeRevenuesStayExact) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  std::vector<AccountAbc> result =
      AbcClasses({{"a", big}, {"b", big}, {"c", big}, {"d", big}, {"e", big}}, DefaultRules());
  // Before: 0, 20, 40, 60, 80 %.
  EXPECT_EQ(ClassesOf(result), (std::vector<kam::v1::AbcClass>{
                                   kam::v1::ABC_CLASS_A, kam::v1::ABC_CLASS_A, kam::v1::ABC_CLASS_A,
                                   kam::v1::ABC_CLASS_A, kam::v1::ABC_CLASS_B}));
}

// --- Value segment --------------------------------------------------------------------

TEST(ContributionTest, ClassAIsHighOthersLowUnlessTheFloorIsConfigured) {
  Rules rules;
  EXPECT_EQ(ContributionOf(kam::v1::ABC_CLASS_A, 0, rules), Contribution::kHigh);
  EXPECT_EQ(ContributionOf(kam::v1::ABC_CLASS_B, 1'000'000'000, rules), Contribution::kLow);
  rules.contribution_revenue_floor = 5000;
  EXPECT_EQ(ContributionOf(kam::v1::ABC_CLASS_B, 5000, rules), Contribution::kHigh);
  EXPECT_EQ(ContributionOf(kam::v1::ABC_CLASS_C, 4999, rules), Contribution::kLow);
}

QuarterlyFigures Quarters(std::array<int64_t, 4> revenue) {
  QuarterlyFigures figures;
  figures.revenue = revenue;
  for (int64_t q : revenue) figures.quarters_with_orders += q > 0 ? 1 : 0;
  return figures;
}

TEST(StabilityTest, CoefficientOfVariationAtTheLimitIsHigh) {
  // 100 * (9 + 9 + 16) = 3400 = 34 * 10^2: CV exactly 0.6.
  EXPECT_EQ(StabilityOf(Quarters({0, 300, 300, 400}), DefaultRules()), Stability::kHigh);
  EXPECT_EQ(StabilityOf(Quarters({0, 3, 3, 4}), DefaultRules()), Stability::kHigh);
}

TEST(StabilityTest, CoefficientOfVariationJustAboveTheLimitIsLow) {
  EXPECT_EQ(StabilityOf(Quarters({0, 300, 300, 401}), DefaultRules()), Stability::kLow);
}

TEST(StabilityTest, TwoOfFourQuartersIsLowThreeIsHigh) {
  EXPECT_EQ(StabilityOf(Quarters({0, 0, 100, 100}), DefaultRules()), Stability::kLow);
  EXPECT_EQ(StabilityOf(Quarters({0, 100, 100, 100}), DefaultRules()), Stability::kHigh);
}

TEST(StabilityTest, NoRevenueInTheYearIsLow) {
  QuarterlyFigures zero_orders;
  zero_orders.quarters_with_orders = 4;  // Orders of amount 0.
  EXPECT_EQ(StabilityOf(zero_orders, DefaultRules()), Stability::kLow);
}

TEST(StabilityTest, ConfiguredLimitAndHugeAmountsStayExact) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  // CV = sqrt(1/3) ~ 0.577 <= 0.6.
  EXPECT_EQ(StabilityOf(Quarters({0, big, big, big}), DefaultRules()), Stability::kHigh);
  Rules strict;
  strict.stability_max_cv_hundredths = 57;  // 0.57 < 0.577.
  EXPECT_EQ(StabilityOf(Quarters({0, big, big, big}), strict), Stability::kLow);
  strict.stability_max_cv_hundredths = 58;
  EXPECT_EQ(StabilityOf(Quarters({0, big, big, big}), strict), Stability::kHigh);
}

TEST(ValueSegmentTest, EveryRowOfTheTable) {
  const auto stable = kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION;
  EXPECT_EQ(ValueSegmentOf(stable, Contribution::kHigh, Stability::kHigh),
            kam::v1::VALUE_SEGMENT_EI);
  EXPECT_EQ(ValueSegmentOf(stable, Contribution::kHigh, Stability::kLow),
            kam::v1::VALUE_SEGMENT_EII);
  EXPECT_EQ(ValueSegmentOf(stable, Contribution::kLow, Stability::kHigh),
            kam::v1::VALUE_SEGMENT_EIII);
  EXPECT_EQ(ValueSegmentOf(stable, Contribution::kLow, Stability::kLow),
            kam::v1::VALUE_SEGMENT_EIV);
  EXPECT_EQ(StrategyOf(kam::v1::VALUE_SEGMENT_EI), kam::v1::VALUE_STRATEGY_CONSOLIDATE);
  EXPECT_EQ(StrategyOf(kam::v1::VALUE_SEGMENT_EII), kam::v1::VALUE_STRATEGY_TURN_AROUND);
  EXPECT_EQ(StrategyOf(kam::v1::VALUE_SEGMENT_EIII), kam::v1::VALUE_STRATEGY_UPGRADE);
  EXPECT_EQ(StrategyOf(kam::v1::VALUE_SEGMENT_EIV), kam::v1::VALUE_STRATEGY_LIQUIDATE);
  EXPECT_EQ(StrategyOf(kam::v1::VALUE_SEGMENT_NONE), kam::v1::VALUE_STRATEGY_NONE);
}

TEST(ValueSegmentTest, OnlyCustomersGetOne) {
  for (auto stage : {kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION,
                     kam::v1::RELATIONSHIP_STAGE_STRATEGIC_COOPERATION}) {
    EXPECT_EQ(ValueSegmentOf(stage, Contribution::kHigh, Stability::kHigh),
              kam::v1::VALUE_SEGMENT_EI);
  }
  for (auto stage : {kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT, kam::v1::RELATIONSHIP_STAGE_LOST}) {
    EXPECT_EQ(ValueSegmentOf(stage, Contribution::kHigh, Stability::kHigh),
              kam::v1::VALUE_SEGMENT_NONE);
  }
}

// --- Prospect segment -----------------------------------------------------------------

TEST(ProspectSegmentTest, EveryRowWithItsBoundaries) {
  const auto development = kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT;
  const Rules rules;
  auto segment = [&](int64_t revenue, double intent) {
    return ProspectSegmentOf(development, ProspectRecord{revenue, "CNY", intent, Day(0), "e"},
                             rules);
  };
  EXPECT_EQ(segment(10'000'000, 0.5), kam::v1::PROSPECT_SEGMENT_PI);
  EXPECT_EQ(segment(10'000'000, 0.49), kam::v1::PROSPECT_SEGMENT_PII);
  EXPECT_EQ(segment(9'999'999, 0.5), kam::v1::PROSPECT_SEGMENT_PIII);
  EXPECT_EQ(segment(9'999'999, 0.49), kam::v1::PROSPECT_SEGMENT_PIV);
}

TEST(ProspectSegmentTest, NoneOutsideDevelopmentOrWithoutAssessment) {
  const Rules rules;
  ProspectRecord prospect{20'000'000, "CNY", 0.9, Day(0), "e"};
  EXPECT_EQ(ProspectSegmentOf(kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION, prospect, rules),
            kam::v1::PROSPECT_SEGMENT_NONE);
  EXPECT_EQ(ProspectSegmentOf(kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT, std::nullopt, rules),
            kam::v1::PROSPECT_SEGMENT_NONE);
}

TEST(ProspectSegmentTest, TheLatestAssessmentInBusinessOrderCounts) {
  HistoryBuilder h("acme", Day(100), TimeAxis::kRecorded);
  h.Add(t::Opened("Acme Steel", "wang", kam::v1::ACCOUNT_KIND_PROSPECT), Day(0));
  h.Add(t::Prospect(50'000'000, 0.9), Day(20));
  h.Add(t::Prospect(1'000, 0.1), Day(10), Day(21));  // Older, recorded later.
  AccountState state = FoldAccountState(h.history());
  EXPECT_EQ(ProspectSegmentOf(kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT, state.latest_prospect,
                              DefaultRules()),
            kam::v1::PROSPECT_SEGMENT_PI);
}

}  // namespace
}  // namespace kam::projections
