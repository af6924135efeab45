// The thresholds and points of the rules of DOMAIN.md, with their defaults,
// and how a deployment overrides them: a JSON file holding a
// kam.v1.RulesConfig (proto/kam/v1/rules_config.proto) in protobuf's JSON
// mapping, where every absent field keeps its DOMAIN.md default.
//
//   absl::StatusOr<Rules> rules = LoadRulesFile("/etc/kam/rules.json");
//   if (!rules.ok()) return rules.status();
//   std::string version = RulesVersion(*rules);  // "acme:3fa2c1..."
//
// Every view carries the RulesVersion of the rules that made it, so a replay
// can tell whether the same rules were used.

#ifndef KAM_PROJECTIONS_RULES_CONFIG_H_
#define KAM_PROJECTIONS_RULES_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kam::projections {

// Points of each defection risk factor; defaults from DOMAIN.md's table.
struct RiskPoints {
  uint32_t purchasing_standard_competitor_only = 60;
  uint32_t purchasing_standard_both = 30;
  uint32_t complaint_open_over_7_days = 15;  // Per complaint.
  uint32_t complaint_resolved_unsatisfied = 10;
  uint32_t single_threaded = 15;
  uint32_t no_decision_maker = 10;
  uint32_t key_contact_left = 15;
  uint32_t no_contact_60_days = 10;
  uint32_t no_executive_contact_180_days = 5;
  uint32_t revenue_decline = 15;
  uint32_t share_drop = 15;
  uint32_t delivery_problems = 10;
  uint32_t competitor_price_cut = 10;
  uint32_t competitor_new_product = 5;
  uint32_t account_manager_changed = 5;
};

// Every configurable value of the rules. A default-constructed Rules is
// DOMAIN.md's. Durations are whole days (86,400 s); see Days().
struct Rules {
  std::string name = "default";
  std::string reporting_currency = "CNY";

  // Relationship stage.
  uint32_t stable_share_percent = 50;
  uint32_t strategic_share_percent = 80;
  uint32_t dormant_days = 365;

  // Relationship level LEVEL_2_SOCIAL.
  uint32_t social_min_contacts = 3;
  uint32_t social_min_departments = 2;
  uint32_t social_contact_days = 90;

  // ABC class and revenue figures.
  uint32_t abc_a_cumulative_percent = 80;
  uint32_t abc_b_cumulative_percent = 95;
  uint32_t revenue_window_days = 365;

  // Value segment.
  std::optional<int64_t> contribution_revenue_floor;  // Off by default.
  uint32_t stability_min_quarters = 3;
  // CV limit in hundredths: 60 is 0.6, compared exactly (see IsStable).
  uint32_t stability_max_cv_hundredths = 60;

  // Prospect segment.
  int64_t prospect_revenue_floor = 10'000'000;
  double prospect_intent_threshold = 0.5;

  // Defection risk.
  RiskPoints risk_points;
  uint32_t risk_medium_from = 30;
  uint32_t risk_high_from = 60;
  uint32_t risk_score_cap = 100;
  uint32_t risk_window_days = 90;
  uint32_t complaint_open_days = 7;
  uint32_t complaint_open_max_count = 2;
  uint32_t single_threaded_max_contacts = 1;
  uint32_t no_contact_days = 60;
  uint32_t no_executive_contact_days = 180;
  uint32_t revenue_decline_window_days = 91;
  uint32_t revenue_decline_shift_days = 365;
  uint32_t revenue_decline_percent = 80;
  uint32_t share_drop_points = 10;
  uint32_t delivery_problem_percent = 10;

  // Opportunities.
  uint32_t opportunity_window_days = 90;
  uint32_t supplier_evaluation_due_days = 330;
};

// A whole number of days of exactly 86,400 s (DOMAIN.md "Words").
inline absl::Duration Days(int64_t days) { return absl::Hours(24) * days; }

// The DOMAIN.md defaults.
Rules DefaultRules();

// Parses a kam.v1.RulesConfig in protobuf's JSON mapping; absent fields keep
// their defaults. InvalidArgument naming the field when the JSON does not
// parse, names an unknown field, or a value is out of range (e.g. a percent
// above 100, a window of 0 days, a currency that is not 3 capital letters).
absl::StatusOr<Rules> ParseRulesConfig(absl::string_view json);

// Reads and parses the rules file at `path`. NotFound when it cannot be
// read; the errors of ParseRulesConfig otherwise. Messages name the file.
absl::StatusOr<Rules> LoadRulesFile(const std::string& path);

// name + ":" + the first 16 hex digits of the SHA-256 of a canonical
// encoding of every value, e.g. "default:3fa2c1d09b7e4a55". Equal rules give
// equal versions; changing any value changes it.
std::string RulesVersion(const Rules& rules);

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_RULES_CONFIG_H_
