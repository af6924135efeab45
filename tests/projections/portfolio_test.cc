// Worked examples of DOMAIN.md "Portfolio": groups, Pareto curve and the
// attention list with its precedence and ties.

#include "gtest/gtest.h"
#include "projections/rules.h"
#include "tests/projections/rules_test_support.h"

namespace kam::projections {
namespace {

struct Summary {
  std::string id;
  int64_t revenue;
  kam::v1::RelationshipStage stage;
  kam::v1::AbcClass abc;
  kam::v1::ValueSegment segment;
  uint32_t risk_score;
  kam::v1::RiskLevel risk_level;
  bool opportunity = false;
};

kam::v1::AccountView ViewOf(const Summary& s) {
  kam::v1::AccountView view;
  view.set_account_id(s.id);
  view.mutable_profile()->set_name("Name " + s.id);
  view.set_account_manager("wang");
  view.set_stage(s.stage);
  view.set_abc_class(s.abc);
  view.set_value_segment(s.segment);
  view.mutable_risk()->set_score(s.risk_score);
  view.mutable_risk()->set_level(s.risk_level);
  if (s.risk_score > 0) {
    kam::v1::RiskFactorFinding* small = view.mutable_risk()->add_factors();
    small->set_name(kam::v1::RISK_FACTOR_SINGLE_THREADED);
    small->set_points(15);
    kam::v1::RiskFactorFinding* big = view.mutable_risk()->add_factors();
    big->set_name(kam::v1::RISK_FACTOR_PURCHASING_STANDARD_COMPETITOR_ONLY);
    big->set_points(60);
  }
  if (s.opportunity) view.add_opportunities()->set_kind(kam::v1::OPPORTUNITY_KIND_NEW_PROJECT);
  view.mutable_revenue()->mutable_trailing_365_days()->set_minor_units(s.revenue);
  view.mutable_revenue()->mutable_trailing_365_days()->set_currency_code("CNY");
  return view;
}

std::vector<kam::v1::AccountView> Portfolio() {
  std::vector<Summary> accounts = {
      {"a-ei", 500, kam::v1::RELATIONSHIP_STAGE_STRATEGIC_COOPERATION, kam::v1::ABC_CLASS_A,
       kam::v1::VALUE_SEGMENT_EI, 0, kam::v1::RISK_LEVEL_LOW},
      {"b-eii", 300, kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION, kam::v1::ABC_CLASS_A,
       kam::v1::VALUE_SEGMENT_EII, 10, kam::v1::RISK_LEVEL_LOW},
      {"c-high", 100, kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION, kam::v1::ABC_CLASS_B,
       kam::v1::VALUE_SEGMENT_EIV, 75, kam::v1::RISK_LEVEL_HIGH, true},
      {"d-high", 50, kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION, kam::v1::ABC_CLASS_C,
       kam::v1::VALUE_SEGMENT_EIV, 75, kam::v1::RISK_LEVEL_HIGH},
      {"e-prospect", 0, kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT, kam::v1::ABC_CLASS_C,
       kam::v1::VALUE_SEGMENT_NONE, 0, kam::v1::RISK_LEVEL_NOT_APPLICABLE, true},
      {"f-lost", 50, kam::v1::RELATIONSHIP_STAGE_LOST, kam::v1::ABC_CLASS_C,
       kam::v1::VALUE_SEGMENT_NONE, 0, kam::v1::RISK_LEVEL_NOT_APPLICABLE},
  };
  std::vector<kam::v1::AccountView> views;
  for (const Summary& s : accounts) views.push_back(ViewOf(s));
  return views;
}

TEST(PortfolioTest, CountsAndRevenueByGroupWithEveryGroupListed) {
  kam::v1::Portfolio p = BuildPortfolio(Portfolio(), DefaultRules(), PortfolioOptions());
  EXPECT_EQ(p.account_count(), 6u);
  EXPECT_EQ(p.trailing_365_day_revenue().minor_units(), 1000);
  ASSERT_EQ(p.by_stage_size(), 5);
  EXPECT_EQ(p.by_stage(0).stage(), kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
  EXPECT_EQ(p.by_stage(0).accounts(), 1u);
  EXPECT_EQ(p.by_stage(1).stage(), kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  EXPECT_EQ(p.by_stage(1).accounts(), 2u);
  EXPECT_EQ(p.by_stage(1).trailing_365_day_revenue().minor_units(), 150);
  EXPECT_EQ(p.by_stage(4).stage(), kam::v1::RELATIONSHIP_STAGE_LOST);
  EXPECT_EQ(p.by_stage(4).accounts(), 1u);
  ASSERT_EQ(p.by_abc_class_size(), 3);
  EXPECT_EQ(p.by_abc_class(0).accounts(), 2u);
  EXPECT_EQ(p.by_abc_class(0).trailing_365_day_revenue().minor_units(), 800);
  ASSERT_EQ(p.by_value_segment_size(), 5);
  EXPECT_EQ(p.by_value_segment(2).value_segment(), kam::v1::VALUE_SEGMENT_EIII);
  EXPECT_EQ(p.by_value_segment(2).accounts(), 0u);  // Empty groups are listed.
  EXPECT_EQ(p.by_value_segment(4).value_segment(), kam::v1::VALUE_SEGMENT_NONE);
  EXPECT_EQ(p.by_value_segment(4).accounts(), 2u);
  ASSERT_EQ(p.by_risk_level_size(), 4);
  EXPECT_EQ(p.by_risk_level(0).risk_level(), kam::v1::RISK_LEVEL_NOT_APPLICABLE);
  EXPECT_EQ(p.by_risk_level(0).accounts(), 2u);
  EXPECT_EQ(p.by_risk_level(3).risk_level(), kam::v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(p.by_risk_level(3).accounts(), 2u);
  EXPECT_EQ(p.rules_version(), RulesVersion(DefaultRules()));
}

TEST(PortfolioTest, ParetoCurveInRankOrderWithTiesByAccountId) {
  kam::v1::Portfolio p = BuildPortfolio(Portfolio(), DefaultRules(), PortfolioOptions());
  ASSERT_EQ(p.pareto_curve_size(), 6);
  EXPECT_EQ(p.pareto_curve(0).account_id(), "a-ei");
  EXPECT_EQ(p.pareto_curve(0).rank(), 1u);
  EXPECT_EQ(p.pareto_curve(1).cumulative_revenue().minor_units(), 800);
  EXPECT_DOUBLE_EQ(p.pareto_curve(1).cumulative_share(), 0.8);
  EXPECT_EQ(p.pareto_curve(3).account_id(), "d-high");  // 50, before f-lost's 50.
  EXPECT_EQ(p.pareto_curve(4).account_id(), "f-lost");
  EXPECT_EQ(p.pareto_curve(5).cumulative_revenue().minor_units(), 1000);
}

TEST(PortfolioTest, ParetoCurveThinnedKeepsFirstLastAndLastAAndB) {
  PortfolioOptions options;
  options.max_pareto_points = 2;
  kam::v1::Portfolio p = BuildPortfolio(Portfolio(), DefaultRules(), options);
  std::vector<uint64_t> ranks;
  for (const auto& point : p.pareto_curve()) ranks.push_back(point.rank());
  // Evenly spaced 3 and 6, rank 1, last A (2) and last B (3).
  EXPECT_EQ(ranks, (std::vector<uint64_t>{1, 2, 3, 6}));
}

TEST(PortfolioTest, AttentionEiiThenHighRiskThenOpportunities) {
  kam::v1::Portfolio p = BuildPortfolio(Portfolio(), DefaultRules(), PortfolioOptions());
  ASSERT_EQ(p.attention_size(), 4);
  EXPECT_EQ(p.attention(0).account_id(), "b-eii");
  ASSERT_EQ(p.attention(0).reasons_size(), 1);
  EXPECT_EQ(p.attention(0).reasons(0), kam::v1::ATTENTION_REASON_VALUE_SEGMENT_EII);
  // Equal risk score: revenue descending.
  EXPECT_EQ(p.attention(1).account_id(), "c-high");
  ASSERT_EQ(p.attention(1).reasons_size(), 2);
  EXPECT_EQ(p.attention(1).reasons(0), kam::v1::ATTENTION_REASON_HIGH_RISK);
  EXPECT_EQ(p.attention(1).reasons(1), kam::v1::ATTENTION_REASON_OPEN_OPPORTUNITIES);
  ASSERT_EQ(p.attention(1).risk_factors_size(), 2);  // Highest points first.
  EXPECT_EQ(p.attention(1).risk_factors(0),
            kam::v1::RISK_FACTOR_PURCHASING_STANDARD_COMPETITOR_ONLY);
  EXPECT_EQ(p.attention(1).opportunities(0), kam::v1::OPPORTUNITY_KIND_NEW_PROJECT);
  EXPECT_EQ(p.attention(2).account_id(), "d-high");
  EXPECT_EQ(p.attention(3).account_id(), "e-prospect");
  EXPECT_EQ(p.attention(3).reasons(0), kam::v1::ATTENTION_REASON_OPEN_OPPORTUNITIES);
}

TEST(PortfolioTest, AttentionTiesByAccountIdAndMaxAttention) {
  std::vector<kam::v1::AccountView> views = {
      ViewOf({"z", 10, kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT, kam::v1::ABC_CLASS_C,
              kam::v1::VALUE_SEGMENT_NONE, 0, kam::v1::RISK_LEVEL_NOT_APPLICABLE, true}),
      ViewOf({"y", 10, kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT, kam::v1::ABC_CLASS_C,
              kam::v1::VALUE_SEGMENT_NONE, 0, kam::v1::RISK_LEVEL_NOT_APPLICABLE, true})};
  PortfolioOptions options;
  options.max_attention = 1;
  kam::v1::Portfolio p = BuildPortfolio(views, DefaultRules(), options);
  ASSERT_EQ(p.attention_size(), 1);
  EXPECT_EQ(p.attention(0).account_id(), "y");
}

TEST(PortfolioTest, EmptyPortfolio) {
  kam::v1::Portfolio p = BuildPortfolio({}, DefaultRules(), PortfolioOptions());
  EXPECT_EQ(p.account_count(), 0u);
  EXPECT_EQ(p.by_stage_size(), 5);
  EXPECT_EQ(p.pareto_curve_size(), 0);
  EXPECT_EQ(p.attention_size(), 0);
}

}  // namespace
}  // namespace kam::projections
