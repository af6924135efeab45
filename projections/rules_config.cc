#include "projections/rules_config.h"

#include <openssl/evp.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "kam/v1/rules_config.pb.h"

namespace kam::projections {

namespace {

// Absent fields keep the default: only `optional` fields that are set apply.
#define KAM_OVERRIDE(config, rules, field) \
  if ((config).has_##field()) (rules).field = (config).field()

void ApplyRiskPoints(const kam::v1::RiskPoints& config, RiskPoints& points) {
  KAM_OVERRIDE(config, points, purchasing_standard_competitor_only);
  KAM_OVERRIDE(config, points, purchasing_standard_both);
  KAM_OVERRIDE(config, points, complaint_open_over_7_days);
  KAM_OVERRIDE(config, points, complaint_resolved_unsatisfied);
  KAM_OVERRIDE(config, points, single_threaded);
  KAM_OVERRIDE(config, points, no_decision_maker);
  KAM_OVERRIDE(config, points, key_contact_left);
  KAM_OVERRIDE(config, points, no_contact_60_days);
  KAM_OVERRIDE(config, points, no_executive_contact_180_days);
  KAM_OVERRIDE(config, points, revenue_decline);
  KAM_OVERRIDE(config, points, share_drop);
  KAM_OVERRIDE(config, points, delivery_problems);
  KAM_OVERRIDE(config, points, competitor_price_cut);
  KAM_OVERRIDE(config, points, competitor_new_product);
  KAM_OVERRIDE(config, points, account_manager_changed);
}

void ApplyConfig(const kam::v1::RulesConfig& config, Rules& rules) {
  KAM_OVERRIDE(config, rules, name);
  KAM_OVERRIDE(config, rules, reporting_currency);
  KAM_OVERRIDE(config, rules, stable_share_percent);
  KAM_OVERRIDE(config, rules, strategic_share_percent);
  KAM_OVERRIDE(config, rules, dormant_days);
  KAM_OVERRIDE(config, rules, social_min_contacts);
  KAM_OVERRIDE(config, rules, social_min_departments);
  KAM_OVERRIDE(config, rules, social_contact_days);
  KAM_OVERRIDE(config, rules, abc_a_cumulative_percent);
  KAM_OVERRIDE(config, rules, abc_b_cumulative_percent);
  KAM_OVERRIDE(config, rules, revenue_window_days);
  KAM_OVERRIDE(config, rules, contribution_revenue_floor);
  KAM_OVERRIDE(config, rules, stability_min_quarters);
  KAM_OVERRIDE(config, rules, stability_max_cv_hundredths);
  KAM_OVERRIDE(config, rules, prospect_revenue_floor);
  KAM_OVERRIDE(config, rules, prospect_intent_threshold);
  ApplyRiskPoints(config.risk_points(), rules.risk_points);
  KAM_OVERRIDE(config, rules, risk_medium_from);
  KAM_OVERRIDE(config, rules, risk_high_from);
  KAM_OVERRIDE(config, rules, risk_score_cap);
  KAM_OVERRIDE(config, rules, risk_window_days);
  KAM_OVERRIDE(config, rules, complaint_open_days);
  KAM_OVERRIDE(config, rules, complaint_open_max_count);
  KAM_OVERRIDE(config, rules, single_threaded_max_contacts);
  KAM_OVERRIDE(config, rules, no_contact_days);
  KAM_OVERRIDE(config, rules, no_executive_contact_days);
  KAM_OVERRIDE(config, rules, revenue_decline_window_days);
  KAM_OVERRIDE(config, rules, revenue_decline_shift_days);
  KAM_OVERRIDE(config, rules, revenue_decline_percent);
  KAM_OVERRIDE(config, rules, share_drop_points);
  KAM_OVERRIDE(config, rules, delivery_problem_percent);
  KAM_OVERRIDE(config, rules, opportunity_window_days);
  KAM_OVERRIDE(config, rules, supplier_evaluation_due_days);
}

#undef KAM_OVERRIDE

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("rules config: field '", field, "' ", problem));
}

// Checks a value against [low, high], naming the field when it is outside.
absl::Status CheckRange(absl::string_view field, int64_t value, int64_t low, int64_t high) {
  if (value >= low && value <= high) return absl::OkStatus();
  return FieldError(field, absl::StrCat("is ", value, ", must be in [", low, ", ", high, "]"));
}

bool IsCurrencyCode(absl::string_view code) {
  if (code.size() != 3) return false;
  for (char c : code) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status ValidatePercents(const Rules& r) {
  struct Field {
    const char* name;
    int64_t value;
  };
  const Field percents[] = {
      {"stable_share_percent", r.stable_share_percent},
      {"strategic_share_percent", r.strategic_share_percent},
      {"abc_a_cumulative_percent", r.abc_a_cumulative_percent},
      {"abc_b_cumulative_percent", r.abc_b_cumulative_percent},
      {"revenue_decline_percent", r.revenue_decline_percent},
      {"share_drop_points", r.share_drop_points},
      {"delivery_problem_percent", r.delivery_problem_percent},
  };
  for (const Field& f : percents) {
    absl::Status status = CheckRange(f.name, f.value, 0, 100);
    if (!status.ok()) return status;
  }
  return CheckRange("stability_max_cv_hundredths", r.stability_max_cv_hundredths, 0, 1000);
}

absl::Status ValidateWindows(const Rules& r) {
  constexpr int64_t kMaxDays = 100 * 365;
  struct Field {
    const char* name;
    int64_t value;
  };
  const Field windows[] = {
      {"dormant_days", r.dormant_days},
      {"social_contact_days", r.social_contact_days},
      {"revenue_window_days", r.revenue_window_days},
      {"risk_window_days", r.risk_window_days},
      {"no_contact_days", r.no_contact_days},
      {"no_executive_contact_days", r.no_executive_contact_days},
      {"revenue_decline_window_days", r.revenue_decline_window_days},
      {"revenue_decline_shift_days", r.revenue_decline_shift_days},
      {"opportunity_window_days", r.opportunity_window_days},
      {"supplier_evaluation_due_days", r.supplier_evaluation_due_days},
  };
  for (const Field& f : windows) {
    absl::Status status = CheckRange(f.name, f.value, 1, kMaxDays);
    if (!status.ok()) return status;
  }
  return CheckRange("complaint_open_days", r.complaint_open_days, 0, kMaxDays);
}

absl::Status ValidateRules(const Rules& r) {
  if (r.name.empty()) return FieldError("name", "must not be empty");
  if (r.name.find(':') != std::string::npos) return FieldError("name", "must not contain ':'");
  if (!IsCurrencyCode(r.reporting_currency)) {
    return FieldError("reporting_currency", "must be an ISO-4217 code of 3 capital letters");
  }
  absl::Status status = ValidatePercents(r);
  if (!status.ok()) return status;
  status = ValidateWindows(r);
  if (!status.ok()) return status;
  if (r.abc_a_cumulative_percent > r.abc_b_cumulative_percent) {
    return FieldError("abc_a_cumulative_percent", "must not exceed abc_b_cumulative_percent");
  }
  status = CheckRange("stability_min_quarters", r.stability_min_quarters, 0, 4);
  if (!status.ok()) return status;
  if (!(r.prospect_intent_threshold >= 0.0 && r.prospect_intent_threshold <= 1.0)) {
    return FieldError("prospect_intent_threshold", "must be in [0, 1]");
  }
  if (r.prospect_revenue_floor < 0) return FieldError("prospect_revenue_floor", "is negative");
  if (r.contribution_revenue_floor.has_value() && *r.contribution_revenue_floor < 0) {
    return FieldError("contribution_revenue_floor", "is negative");
  }
  if (r.risk_medium_from > r.risk_high_from) {
    return FieldError("risk_medium_from", "must not exceed risk_high_from");
  }
  return CheckRange("risk_score_cap", r.risk_score_cap, 0, 10000);
}

// A text line per value, in a fixed order: the input of RulesVersion.
std::string CanonicalEncoding(const Rules& r) {
  const RiskPoints& p = r.risk_points;
  uint64_t intent_bits = 0;
  static_assert(sizeof(intent_bits) == sizeof(r.prospect_intent_threshold));
  std::memcpy(&intent_bits, &r.prospect_intent_threshold, sizeof(intent_bits));
  return absl::StrCat(
      "kam-rules/1\n", "name=", r.name, "\n", "currency=", r.reporting_currency, "\n",
      "stage=", r.stable_share_percent, ",", r.strategic_share_percent, ",", r.dormant_days, "\n",
      "social=", r.social_min_contacts, ",", r.social_min_departments, ",", r.social_contact_days,
      "\n", "abc=", r.abc_a_cumulative_percent, ",", r.abc_b_cumulative_percent, ",",
      r.revenue_window_days, "\n", "contribution_floor=",
      r.contribution_revenue_floor.has_value() ? absl::StrCat(*r.contribution_revenue_floor)
                                               : "off",
      "\n", "stability=", r.stability_min_quarters, ",", r.stability_max_cv_hundredths, "\n",
      "prospect=", r.prospect_revenue_floor, ",", intent_bits, "\n",
      "points=", p.purchasing_standard_competitor_only, ",", p.purchasing_standard_both, ",",
      p.complaint_open_over_7_days, ",", p.complaint_resolved_unsatisfied, ",", p.single_threaded,
      ",", p.no_decision_maker, ",", p.key_contact_left, ",", p.no_contact_60_days, ",",
      p.no_executive_contact_180_days, ",", p.revenue_decline, ",", p.share_drop, ",",
      p.delivery_problems, ",", p.competitor_price_cut, ",", p.competitor_new_product, ",",
      p.account_manager_changed, "\n", "risk=", r.risk_medium_from, ",", r.risk_high_from, ",",
      r.risk_score_cap, ",", r.risk_window_days, ",", r.complaint_open_days, ",",
      r.complaint_open_max_count, ",", r.single_threaded_max_contacts, ",", r.no_contact_days, ",",
      r.no_executive_contact_days, ",", r.revenue_decline_window_days, ",",
      r.revenue_decline_shift_days, ",", r.revenue_decline_percent, ",", r.share_drop_points, ",",
      r.delivery_problem_percent, "\n", "opportunities=", r.opportunity_window_days, ",",
      r.supplier_evaluation_due_days, "\n");
}

std::string Sha256(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

Rules DefaultRules() { return Rules(); }

absl::StatusOr<Rules> ParseRulesConfig(absl::string_view json) {
  kam::v1::RulesConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &config, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("rules config: not a kam.v1.RulesConfig in JSON: ", parsed.ToString()));
  }
  Rules rules = DefaultRules();
  ApplyConfig(config, rules);
  absl::Status status = ValidateRules(rules);
  if (!status.ok()) return status;
  return rules;
}

absl::StatusOr<Rules> LoadRulesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("rules file ", path, ": cannot be read"));
  std::stringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat("rules file ", path, ": read failed"));
  absl::StatusOr<Rules> rules = ParseRulesConfig(contents.str());
  if (!rules.ok()) {
    return absl::Status(rules.status().code(),
                        absl::StrCat("rules file ", path, ": ", rules.status().message()));
  }
  return rules;
}

std::string RulesVersion(const Rules& rules) {
  std::string hex = absl::BytesToHexString(Sha256(CanonicalEncoding(rules)));
  return absl::StrCat(rules.name, ":", hex.substr(0, 16));
}

}  // namespace kam::projections
