// The rules file: DOMAIN.md defaults, overrides in protobuf's JSON mapping,
// refusals naming the field, and the rules version.

#include "projections/rules_config.h"

#include <fstream>

#include "gtest/gtest.h"

namespace kam::projections {
namespace {

TEST(RulesConfigTest, DefaultsAreDomainValues) {
  Rules rules = DefaultRules();
  EXPECT_EQ(rules.name, "default");
  EXPECT_EQ(rules.reporting_currency, "CNY");
  EXPECT_EQ(rules.stable_share_percent, 50u);
  EXPECT_EQ(rules.strategic_share_percent, 80u);
  EXPECT_EQ(rules.abc_a_cumulative_percent, 80u);
  EXPECT_EQ(rules.abc_b_cumulative_percent, 95u);
  EXPECT_EQ(rules.stability_max_cv_hundredths, 60u);
  EXPECT_EQ(rules.prospect_revenue_floor, 10'000'000);
  EXPECT_EQ(rules.prospect_intent_threshold, 0.5);
  EXPECT_FALSE(rules.contribution_revenue_floor.has_value());
  EXPECT_EQ(rules.risk_points.purchasing_standard_competitor_only, 60u);
  EXPECT_EQ(rules.risk_points.account_manager_changed, 5u);
  EXPECT_EQ(rules.supplier_evaluation_due_days, 330u);
  EXPECT_EQ(rules.risk_score_cap, 100u);
}

TEST(RulesConfigTest, EmptyJsonIsTheDefaults) {
  absl::StatusOr<Rules> rules = ParseRulesConfig("{}");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(RulesVersion(*rules), RulesVersion(DefaultRules()));
}

TEST(RulesConfigTest, PresentFieldsOverrideAbsentOnesKeepDefaults) {
  absl::StatusOr<Rules> rules = ParseRulesConfig(R"({
      "name": "acme",
      "reportingCurrency": "EUR",
      "stableSharePercent": 40,
      "contributionRevenueFloor": "5000000",
      "prospectIntentThreshold": 0.6,
      "riskPoints": {"singleThreaded": 20, "share_drop": 0}
  })");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->name, "acme");
  EXPECT_EQ(rules->reporting_currency, "EUR");
  EXPECT_EQ(rules->stable_share_percent, 40u);
  EXPECT_EQ(rules->strategic_share_percent, 80u);
  ASSERT_TRUE(rules->contribution_revenue_floor.has_value());
  EXPECT_EQ(*rules->contribution_revenue_floor, 5'000'000);
  EXPECT_EQ(rules->prospect_intent_threshold, 0.6);
  EXPECT_EQ(rules->risk_points.single_threaded, 20u);
  EXPECT_EQ(rules->risk_points.share_drop, 0u);  // Present zero is not absent.
  EXPECT_EQ(rules->risk_points.no_decision_maker, 10u);
}

TEST(RulesConfigTest, UnknownFieldIsRefused) {
  absl::StatusOr<Rules> rules = ParseRulesConfig(R"({"stablShare": 40})");
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(rules.status().message().find("stablShare"), absl::string_view::npos) << rules.status();
}

TEST(RulesConfigTest, OutOfRangeValueIsRefusedNamingTheField) {
  absl::StatusOr<Rules> rules = ParseRulesConfig(R"({"strategicSharePercent": 101})");
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(rules.status().message().find("strategic_share_percent"), absl::string_view::npos);
  EXPECT_FALSE(ParseRulesConfig(R"({"reportingCurrency": "yuan"})").ok());
  EXPECT_FALSE(ParseRulesConfig(R"({"opportunityWindowDays": 0})").ok());
  EXPECT_FALSE(ParseRulesConfig(R"({"prospectIntentThreshold": 1.5})").ok());
  EXPECT_FALSE(ParseRulesConfig(R"({"riskMediumFrom": 70})").ok());  // Above HIGH's 60.
  EXPECT_FALSE(ParseRulesConfig("not json").ok());
}

TEST(RulesConfigTest, VersionIsNameAnd16HexOfTheValues) {
  std::string version = RulesVersion(DefaultRules());
  ASSERT_EQ(version.size(), std::string("default:").size() + 16);
  EXPECT_EQ(version.substr(0, 8), "default:");
  EXPECT_EQ(version.find_first_not_of("0123456789abcdef", 8), std::string::npos);
  EXPECT_EQ(RulesVersion(DefaultRules()), version);  // Deterministic.

  Rules changed = DefaultRules();
  changed.risk_points.competitor_new_product = 6;
  EXPECT_NE(RulesVersion(changed), version);
  Rules floor = DefaultRules();
  floor.contribution_revenue_floor = 0;  // On at 0 differs from off.
  EXPECT_NE(RulesVersion(floor), version);
}

TEST(RulesConfigTest, LoadRulesFileNamesTheFile) {
  const std::string missing = ::testing::TempDir() + "/kam_rules_missing.json";
  absl::StatusOr<Rules> rules = LoadRulesFile(missing);
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(rules.status().message().find(missing), absl::string_view::npos);

  const std::string path = ::testing::TempDir() + "/kam_rules_test.json";
  {
    std::ofstream out(path);
    out << R"({"name": "filed", "dormantDays": 0})";
  }
  rules = LoadRulesFile(path);
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(rules.status().message().find(path), absl::string_view::npos);
  EXPECT_NE(rules.status().message().find("dormant_days"), absl::string_view::npos);
  {
    std::ofstream out(path);
    out << R"({"name": "filed", "dormantDays": 180})";
  }
  rules = LoadRulesFile(path);
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->dormant_days, 180u);
  EXPECT_EQ(RulesVersion(*rules).substr(0, 6), "filed:");
}

}  // namespace
}  // namespace kam::projections
