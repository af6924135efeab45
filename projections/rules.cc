#include "projections/rules.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "google/protobuf/util/time_util.h"

namespace kam::projections {

namespace {

using kam::v1::RiskFactorFinding;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

int64_t ClampToInt64(__int128 value) {
  if (value > kInt64Max) return kInt64Max;
  if (value < kInt64Min) return kInt64Min;
  return static_cast<int64_t>(value);
}

// A 256-bit unsigned number, for the exact stability comparison.
struct U256 {
  unsigned __int128 high = 0;
  unsigned __int128 low = 0;
};

bool operator<=(const U256& a, const U256& b) {
  return std::tie(a.high, a.low) <= std::tie(b.high, b.low);
}

// The full 256-bit product of two 128-bit numbers, by 64-bit halves.
U256 Multiply(unsigned __int128 a, unsigned __int128 b) {
  using u128 = unsigned __int128;
  const u128 kMask = (u128{1} << 64) - 1;
  u128 a_lo = a & kMask, a_hi = a >> 64, b_lo = b & kMask, b_hi = b >> 64;
  u128 lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
  u128 middle = (lo_lo >> 64) + (hi_lo & kMask) + (lo_hi & kMask);
  U256 product;
  product.low = (middle << 64) | (lo_lo & kMask);
  product.high = hi_hi + (hi_lo >> 64) + (lo_hi >> 64) + (middle >> 64);
  return product;
}

RiskFactorFinding Finding(kam::v1::RiskFactor name, uint32_t points,
                          const std::vector<std::string>& event_ids) {
  RiskFactorFinding finding;
  finding.set_name(name);
  finding.set_points(points);
  for (const std::string& id : event_ids) finding.add_event_ids(id);
  return finding;
}

bool CountsAsRevenue(const OrderRecord& order) { return order.placed && !order.cancelled; }

// Orders counted in a window, in business order (placed_at, then the map's
// order id order stands in for position: both are stable).
std::vector<const OrderRecord*> OrdersInWindow(const AccountState& state, absl::Time end,
                                               absl::Duration window) {
  std::vector<const OrderRecord*> orders;
  for (const auto& [id, order] : state.stage_inputs.orders) {
    if (CountsAsRevenue(order) && InTrailingWindow(order.placed_at, end, window)) {
      orders.push_back(&order);
    }
  }
  std::stable_sort(orders.begin(), orders.end(), [](const OrderRecord* a, const OrderRecord* b) {
    return a->placed_at < b->placed_at;
  });
  return orders;
}

// The event ids of `records` (each with occurred-time `at` and `event_id`)
// that satisfy `pred` and fall in the trailing window.
template <typename Record, typename Pred>
std::vector<std::string> IdsInWindow(const std::vector<Record>& records, absl::Time Record::*at,
                                     absl::Time as_of, absl::Duration window, Pred pred) {
  std::vector<std::string> ids;
  for (const Record& record : records) {
    if (pred(record) && InTrailingWindow(record.*at, as_of, window)) {
      ids.push_back(record.event_id);
    }
  }
  return ids;
}

bool HasInteraction(const AccountState& state, absl::Time as_of, absl::Duration window,
                    bool executive_only) {
  for (const Interaction& interaction : state.interactions) {
    if (executive_only && !interaction.executive) continue;
    if (InTrailingWindow(interaction.occurred_at, as_of, window)) return true;
  }
  return false;
}

bool AnyActive(const AccountState& state, bool (*pred)(const kam::v1::Contact&)) {
  for (const ContactRecord* record : ActiveContacts(state)) {
    if (pred(record->contact)) return true;
  }
  return false;
}

bool IsDecisionMaker(const kam::v1::Contact& c) {
  return c.role() == kam::v1::CONTACT_ROLE_DECISION_MAKER;
}
bool IsExecutive(const kam::v1::Contact& c) {
  return c.level() == kam::v1::CONTACT_LEVEL_EXECUTIVE;
}
bool IsSenior(const kam::v1::Contact& c) {
  return c.level() == kam::v1::CONTACT_LEVEL_EXECUTIVE ||
         c.level() == kam::v1::CONTACT_LEVEL_MANAGEMENT;
}

RiskFinding CompetitorFactor(const AccountState& state, absl::Time as_of, const Rules& rules,
                             kam::v1::CompetitorActivity kind, kam::v1::RiskFactor name,
                             uint32_t points) {
  std::vector<std::string> ids = IdsInWindow(
      state.competitor_activities, &CompetitorRecord::observed_at, as_of,
      Days(rules.risk_window_days), [kind](const CompetitorRecord& r) { return r.kind == kind; });
  if (ids.empty()) return std::nullopt;
  return Finding(name, points, ids);
}

}  // namespace

// ---------------------------------------------------------------------------
// Windows and revenue

bool InTrailingWindow(absl::Time occurred_at, absl::Time end, absl::Duration window) {
  return end - window < occurred_at && occurred_at <= end;
}

int64_t SaturatingAdd(int64_t a, int64_t b) { return ClampToInt64(static_cast<__int128>(a) + b); }

int64_t TrailingNetRevenue(const AccountState& state, absl::Time end, absl::Duration window) {
  int64_t sum = 0;
  for (const OrderRecord* order : OrdersInWindow(state, end, window)) {
    sum = SaturatingAdd(sum, order->amount);
  }
  return sum;
}

std::vector<std::string> TrailingOrderEventIds(const AccountState& state, absl::Time end,
                                               absl::Duration window) {
  std::vector<std::string> ids;
  for (const OrderRecord* order : OrdersInWindow(state, end, window)) {
    ids.push_back(order->placed_event_id);
  }
  return ids;
}

QuarterlyFigures QuarterlyRevenue(const AccountState& state, absl::Time as_of, const Rules& rules) {
  const absl::Duration year = Days(rules.revenue_window_days);
  const absl::Duration quarter = year / 4;
  QuarterlyFigures figures;
  for (int i = 0; i < 4; ++i) {
    // Oldest first; 4 quarters are exactly the year (whole days / 4 is a
    // whole number of nanoseconds), so quarter 3 ends at as_of.
    absl::Time end = as_of - year + quarter * (i + 1);
    std::vector<const OrderRecord*> orders = OrdersInWindow(state, end, quarter);
    for (const OrderRecord* order : orders) {
      figures.revenue[i] = SaturatingAdd(figures.revenue[i], order->amount);
    }
    if (!orders.empty()) ++figures.quarters_with_orders;
  }
  return figures;
}

// ---------------------------------------------------------------------------
// Relationship stage and level

kam::v1::RelationshipStage StageOf(const StageInputs& inputs, const Rules& rules) {
  if (inputs.lifecycle.has_value() && inputs.lifecycle->lost) {
    return kam::v1::RELATIONSHIP_STAGE_LOST;
  }
  bool has_order = std::any_of(inputs.orders.begin(), inputs.orders.end(),
                               [](const auto& entry) { return CountsAsRevenue(entry.second); });
  if (!has_order) return kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT;
  uint32_t share = inputs.latest_share.has_value() ? inputs.latest_share->share_percent : 0;
  bool has_share = inputs.latest_share.has_value();
  if (has_share && share >= rules.strategic_share_percent && HasStructuralAgreement(inputs)) {
    return kam::v1::RELATIONSHIP_STAGE_STRATEGIC_COOPERATION;
  }
  if (has_share && share >= rules.stable_share_percent) {
    return kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION;
  }
  return kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION;
}

bool IsCustomerStage(kam::v1::RelationshipStage stage) {
  return stage == kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION ||
         stage == kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION ||
         stage == kam::v1::RELATIONSHIP_STAGE_STRATEGIC_COOPERATION;
}

bool IsDormant(const AccountState& state, absl::Time as_of, const Rules& rules) {
  const auto& orders = state.stage_inputs.orders;
  bool has_order = std::any_of(orders.begin(), orders.end(),
                               [](const auto& entry) { return CountsAsRevenue(entry.second); });
  return has_order && OrdersInWindow(state, as_of, Days(rules.dormant_days)).empty();
}

bool HasStructuralAgreement(const StageInputs& inputs) {
  for (const auto& [id, agreement] : inputs.agreements) {
    if (!IsActive(agreement)) continue;
    if (agreement.kind == kam::v1::AGREEMENT_KIND_STRATEGIC_PARTNERSHIP ||
        agreement.kind == kam::v1::AGREEMENT_KIND_EQUITY_COOPERATION) {
      return true;
    }
  }
  return false;
}

kam::v1::RelationshipLevel RelationshipLevelOf(const AccountState& state, absl::Time as_of,
                                               const Rules& rules) {
  if (HasStructuralAgreement(state.stage_inputs)) {
    return kam::v1::RELATIONSHIP_LEVEL_LEVEL_3_STRUCTURAL;
  }
  std::vector<const ContactRecord*> active = ActiveContacts(state);
  std::set<std::string> departments;
  for (const ContactRecord* record : active) {
    if (!record->contact.department().empty()) departments.insert(record->contact.department());
  }
  bool social = active.size() >= rules.social_min_contacts &&
                departments.size() >= rules.social_min_departments && AnyActive(state, &IsSenior) &&
                HasInteraction(state, as_of, Days(rules.social_contact_days), false);
  return social ? kam::v1::RELATIONSHIP_LEVEL_LEVEL_2_SOCIAL
                : kam::v1::RELATIONSHIP_LEVEL_LEVEL_1_FINANCIAL;
}

// ---------------------------------------------------------------------------
// ABC class and value segment

std::vector<AccountAbc> AbcClasses(std::vector<AccountRevenue> accounts, const Rules& rules) {
  std::sort(accounts.begin(), accounts.end(), [](const AccountRevenue& a, const AccountRevenue& b) {
    if (a.revenue != b.revenue) return a.revenue > b.revenue;
    return a.account_id < b.account_id;
  });
  __int128 total = 0;
  for (const AccountRevenue& account : accounts) total += std::max<int64_t>(account.revenue, 0);
  std::vector<AccountAbc> classes;
  classes.reserve(accounts.size());
  __int128 before = 0;  // Cumulative revenue before the account.
  for (AccountRevenue& account : accounts) {
    kam::v1::AbcClass abc = kam::v1::ABC_CLASS_C;
    if (account.revenue > 0 && before * 100 < total * rules.abc_a_cumulative_percent) {
      abc = kam::v1::ABC_CLASS_A;
    } else if (account.revenue > 0 && before * 100 < total * rules.abc_b_cumulative_percent) {
      abc = kam::v1::ABC_CLASS_B;
    }
    before += std::max<int64_t>(account.revenue, 0);
    classes.push_back({std::move(account.account_id), account.revenue, abc});
  }
  return classes;
}

Contribution ContributionOf(kam::v1::AbcClass abc_class, int64_t revenue, const Rules& rules) {
  if (abc_class == kam::v1::ABC_CLASS_A) return Contribution::kHigh;
  if (rules.contribution_revenue_floor.has_value() &&
      revenue >= *rules.contribution_revenue_floor) {
    return Contribution::kHigh;
  }
  return Contribution::kLow;
}

bool CoefficientOfVariationWithinLimit(const std::array<int64_t, 4>& quarters, const Rules& rules) {
  using u128 = unsigned __int128;
  u128 sum = 0;
  u128 sum_of_squares = 0;  // < 4 * 2^126: fits.
  for (int64_t q : quarters) {
    u128 value = static_cast<u128>(std::max<int64_t>(q, 0));
    sum += value;
    sum_of_squares += value * value;
  }
  if (sum == 0) return false;
  // CV <= h/100  <=>  4 * sum(q^2) <= (1 + (h/100)^2) * (sum q)^2
  //             <=>  4 * 10^4 * sum(q^2) <= (10^4 + h^2) * (sum q)^2.
  const u128 h = rules.stability_max_cv_hundredths;
  U256 left = Multiply(u128{4} * 10000, sum_of_squares);
  U256 right = Multiply((u128{10000} + h * h) * sum, sum);  // sum < 2^65, factor < 2^27.
  return left <= right;
}

Stability StabilityOf(const QuarterlyFigures& quarters, const Rules& rules) {
  if (quarters.quarters_with_orders < rules.stability_min_quarters) return Stability::kLow;
  return CoefficientOfVariationWithinLimit(quarters.revenue, rules) ? Stability::kHigh
                                                                    : Stability::kLow;
}

kam::v1::ValueSegment ValueSegmentOf(kam::v1::RelationshipStage stage, Contribution contribution,
                                     Stability stability) {
  if (!IsCustomerStage(stage)) return kam::v1::VALUE_SEGMENT_NONE;
  bool high_contribution = contribution == Contribution::kHigh;
  bool high_stability = stability == Stability::kHigh;
  if (high_contribution) {
    return high_stability ? kam::v1::VALUE_SEGMENT_EI : kam::v1::VALUE_SEGMENT_EII;
  }
  return high_stability ? kam::v1::VALUE_SEGMENT_EIII : kam::v1::VALUE_SEGMENT_EIV;
}

kam::v1::ValueStrategy StrategyOf(kam::v1::ValueSegment segment) {
  switch (segment) {
    case kam::v1::VALUE_SEGMENT_EI:
      return kam::v1::VALUE_STRATEGY_CONSOLIDATE;
    case kam::v1::VALUE_SEGMENT_EII:
      return kam::v1::VALUE_STRATEGY_TURN_AROUND;
    case kam::v1::VALUE_SEGMENT_EIII:
      return kam::v1::VALUE_STRATEGY_UPGRADE;
    case kam::v1::VALUE_SEGMENT_EIV:
      return kam::v1::VALUE_STRATEGY_LIQUIDATE;
    default:
      return kam::v1::VALUE_STRATEGY_NONE;
  }
}

kam::v1::ProspectSegment ProspectSegmentOf(kam::v1::RelationshipStage stage,
                                           const std::optional<ProspectRecord>& prospect,
                                           const Rules& rules) {
  if (stage != kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT || !prospect.has_value()) {
    return kam::v1::PROSPECT_SEGMENT_NONE;
  }
  bool high_revenue = prospect->expected_annual_revenue >= rules.prospect_revenue_floor;
  bool high_intent = prospect->intent >= rules.prospect_intent_threshold;
  if (high_revenue)
    return high_intent ? kam::v1::PROSPECT_SEGMENT_PI : kam::v1::PROSPECT_SEGMENT_PII;
  return high_intent ? kam::v1::PROSPECT_SEGMENT_PIII : kam::v1::PROSPECT_SEGMENT_PIV;
}

// ---------------------------------------------------------------------------
// Defection risk

RiskFinding PurchasingStandardFactor(const AccountState& state, const Rules& rules) {
  if (!state.latest_standard.has_value()) return std::nullopt;
  const StandardAssessment& latest = *state.latest_standard;
  if (!latest.competitor_meets) return std::nullopt;
  if (latest.we_meet) {
    return Finding(kam::v1::RISK_FACTOR_PURCHASING_STANDARD_BOTH,
                   rules.risk_points.purchasing_standard_both, {latest.event_id});
  }
  return Finding(kam::v1::RISK_FACTOR_PURCHASING_STANDARD_COMPETITOR_ONLY,
                 rules.risk_points.purchasing_standard_competitor_only, {latest.event_id});
}

RiskFinding ComplaintOpenFactor(const AccountState& state, absl::Time as_of, const Rules& rules) {
  std::vector<const ComplaintRecord*> overdue;
  for (const auto& [id, complaint] : state.complaints) {
    if (!complaint.filed || complaint.resolved) continue;
    if (as_of - complaint.filed_at > Days(rules.complaint_open_days)) overdue.push_back(&complaint);
  }
  if (overdue.empty()) return std::nullopt;
  std::stable_sort(
      overdue.begin(), overdue.end(),
      [](const ComplaintRecord* a, const ComplaintRecord* b) { return a->filed_at < b->filed_at; });
  std::vector<std::string> ids;
  for (const ComplaintRecord* complaint : overdue) ids.push_back(complaint->filed_event_id);
  uint32_t counted = std::min<uint32_t>(overdue.size(), rules.complaint_open_max_count);
  if (counted == 0) return std::nullopt;
  return Finding(kam::v1::RISK_FACTOR_COMPLAINT_OPEN_OVER_7_DAYS,
                 counted * rules.risk_points.complaint_open_over_7_days, ids);
}

RiskFinding ComplaintResolvedUnsatisfiedFactor(const AccountState& state, absl::Time as_of,
                                               const Rules& rules) {
  std::vector<std::pair<absl::Time, std::string>> resolved;
  for (const auto& [id, complaint] : state.complaints) {
    if (!complaint.resolved || complaint.satisfied) continue;
    if (InTrailingWindow(complaint.resolved_at, as_of, Days(rules.risk_window_days))) {
      resolved.emplace_back(complaint.resolved_at, complaint.resolved_event_id);
    }
  }
  if (resolved.empty()) return std::nullopt;
  std::stable_sort(resolved.begin(), resolved.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> ids;
  for (const auto& entry : resolved) ids.push_back(entry.second);
  return Finding(kam::v1::RISK_FACTOR_COMPLAINT_RESOLVED_UNSATISFIED,
                 rules.risk_points.complaint_resolved_unsatisfied, ids);
}

RiskFinding SingleThreadedFactor(const AccountState& state, const Rules& rules) {
  if (ActiveContacts(state).size() > rules.single_threaded_max_contacts) return std::nullopt;
  return Finding(kam::v1::RISK_FACTOR_SINGLE_THREADED, rules.risk_points.single_threaded, {});
}

RiskFinding NoDecisionMakerFactor(const AccountState& state, const Rules& rules) {
  if (AnyActive(state, &IsDecisionMaker)) return std::nullopt;
  return Finding(kam::v1::RISK_FACTOR_NO_DECISION_MAKER, rules.risk_points.no_decision_maker, {});
}

RiskFinding KeyContactLeftFactor(const AccountState& state, absl::Time as_of, const Rules& rules) {
  const bool decision_maker_seat_empty = !AnyActive(state, &IsDecisionMaker);
  const bool executive_seat_empty = !AnyActive(state, &IsExecutive);
  std::vector<std::string> ids =
      IdsInWindow(state.departures, &ContactDeparture::left_at, as_of, Days(rules.risk_window_days),
                  [&](const ContactDeparture& d) {
                    return (IsDecisionMaker(d.contact) && decision_maker_seat_empty) ||
                           (IsExecutive(d.contact) && executive_seat_empty);
                  });
  if (ids.empty()) return std::nullopt;
  return Finding(kam::v1::RISK_FACTOR_KEY_CONTACT_LEFT, rules.risk_points.key_contact_left, ids);
}

RiskFinding NoContactFactor(const AccountState& state, absl::Time as_of, const Rules& rules) {
  if (HasInteraction(state, as_of, Days(rules.no_contact_days), false)) return std::nullopt;
  return Finding(kam::v1::RISK_FACTOR_NO_CONTACT_60_DAYS, rules.risk_points.no_contact_60_days, {});
}

RiskFinding NoExecutiveContactFactor(const AccountState& state, absl::Time as_of,
                                     const Rules& rules) {
  if (HasInteraction(state, as_of, Days(rules.no_executive_contact_days), true)) {
    return std::nullopt;
  }
  return Finding(kam::v1::RISK_FACTOR_NO_EXECUTIVE_CONTACT_180_DAYS,
                 rules.risk_points.no_executive_contact_180_days, {});
}

RiskFinding RevenueDeclineFactor(const AccountState& state, absl::Time as_of, const Rules& rules) {
  const absl::Duration window = Days(rules.revenue_decline_window_days);
  const absl::Time year_earlier = as_of - Days(rules.revenue_decline_shift_days);
  const int64_t recent = TrailingNetRevenue(state, as_of, window);
  const int64_t earlier = TrailingNetRevenue(state, year_earlier, window);
  if (earlier <= 0) return std::nullopt;
  if (static_cast<__int128>(recent) * 100 >=
      static_cast<__int128>(earlier) * rules.revenue_decline_percent) {
    return std::nullopt;
  }
  std::vector<std::string> ids = TrailingOrderEventIds(state, year_earlier, window);
  for (std::string& id : TrailingOrderEventIds(state, as_of, window)) ids.push_back(id);
  return Finding(kam::v1::RISK_FACTOR_REVENUE_DECLINE, rules.risk_points.revenue_decline, ids);
}

RiskFinding ShareDropFactor(const AccountState& state, const Rules& rules) {
  if (state.shares.size() < 2) return std::nullopt;
  const ShareRecord& previous = state.shares[state.shares.size() - 2];
  const ShareRecord& last = state.shares.back();
  if (static_cast<int64_t>(previous.share_percent) - last.share_percent <
      static_cast<int64_t>(rules.share_drop_points)) {
    return std::nullopt;
  }
  return Finding(kam::v1::RISK_FACTOR_SHARE_DROP, rules.risk_points.share_drop,
                 {previous.event_id, last.event_id});
}

RiskFinding DeliveryProblemsFactor(const AccountState& state, absl::Time as_of,
                                   const Rules& rules) {
  const absl::Duration window = Days(rules.risk_window_days);
  std::vector<std::string> all = IdsInWindow(state.deliveries, &DeliveryRecord::delivered_at, as_of,
                                             window, [](const auto&) { return true; });
  std::vector<std::string> problems =
      IdsInWindow(state.deliveries, &DeliveryRecord::delivered_at, as_of, window,
                  [](const DeliveryRecord& d) { return !d.on_time || !d.complete; });
  // More than p % of the deliveries: problems * 100 > p * deliveries.
  if (problems.empty() || static_cast<uint64_t>(problems.size()) * 100 <=
                              static_cast<uint64_t>(all.size()) * rules.delivery_problem_percent) {
    return std::nullopt;
  }
  return Finding(kam::v1::RISK_FACTOR_DELIVERY_PROBLEMS, rules.risk_points.delivery_problems,
                 problems);
}

RiskFinding CompetitorPriceCutFactor(const AccountState& state, absl::Time as_of,
                                     const Rules& rules) {
  return CompetitorFactor(state, as_of, rules, kam::v1::COMPETITOR_ACTIVITY_PRICE_CUT,
                          kam::v1::RISK_FACTOR_COMPETITOR_PRICE_CUT,
                          rules.risk_points.competitor_price_cut);
}

RiskFinding CompetitorNewProductFactor(const AccountState& state, absl::Time as_of,
                                       const Rules& rules) {
  return CompetitorFactor(state, as_of, rules, kam::v1::COMPETITOR_ACTIVITY_NEW_PRODUCT,
                          kam::v1::RISK_FACTOR_COMPETITOR_NEW_PRODUCT,
                          rules.risk_points.competitor_new_product);
}

RiskFinding AccountManagerChangedFactor(const AccountState& state, absl::Time as_of,
                                        const Rules& rules) {
  std::vector<std::string> ids =
      IdsInWindow(state.manager_changes, &ManagerChange::assigned_at, as_of,
                  Days(rules.risk_window_days), [](const ManagerChange& c) { return c.different; });
  if (ids.empty()) return std::nullopt;
  return Finding(kam::v1::RISK_FACTOR_ACCOUNT_MANAGER_CHANGED,
                 rules.risk_points.account_manager_changed, ids);
}

kam::v1::RiskLevel RiskLevelOf(uint32_t score, const Rules& rules) {
  if (score >= rules.risk_high_from) return kam::v1::RISK_LEVEL_HIGH;
  if (score >= rules.risk_medium_from) return kam::v1::RISK_LEVEL_MEDIUM;
  return kam::v1::RISK_LEVEL_LOW;
}

kam::v1::DefectionRisk DefectionRiskOf(const AccountState& state, kam::v1::RelationshipStage stage,
                                       absl::Time as_of, const Rules& rules) {
  kam::v1::DefectionRisk risk;
  if (!IsCustomerStage(stage)) {
    risk.set_level(kam::v1::RISK_LEVEL_NOT_APPLICABLE);
    return risk;
  }
  const RiskFinding findings[] = {
      PurchasingStandardFactor(state, rules),
      ComplaintOpenFactor(state, as_of, rules),
      ComplaintResolvedUnsatisfiedFactor(state, as_of, rules),
      SingleThreadedFactor(state, rules),
      NoDecisionMakerFactor(state, rules),
      KeyContactLeftFactor(state, as_of, rules),
      NoContactFactor(state, as_of, rules),
      NoExecutiveContactFactor(state, as_of, rules),
      RevenueDeclineFactor(state, as_of, rules),
      ShareDropFactor(state, rules),
      DeliveryProblemsFactor(state, as_of, rules),
      CompetitorPriceCutFactor(state, as_of, rules),
      CompetitorNewProductFactor(state, as_of, rules),
      AccountManagerChangedFactor(state, as_of, rules),
  };
  uint64_t sum = 0;
  for (const RiskFinding& finding : findings) {
    if (!finding.has_value()) continue;
    sum += finding->points();
    *risk.add_factors() = *finding;
  }
  uint32_t score = static_cast<uint32_t>(std::min<uint64_t>(sum, rules.risk_score_cap));
  risk.set_score(score);
  risk.set_level(RiskLevelOf(score, rules));
  return risk;
}

// ---------------------------------------------------------------------------
// Opportunities and network

namespace {

using OpportunityEvents =
    std::map<kam::v1::OpportunityKind, std::vector<std::pair<absl::Time, std::string>>>;

kam::v1::OpportunityKind OpportunityOfCompetitor(kam::v1::CompetitorActivity kind) {
  switch (kind) {
    case kam::v1::COMPETITOR_ACTIVITY_PERSONNEL_CHANGE:
      return kam::v1::OPPORTUNITY_KIND_PERSONNEL_CHANGE;
    case kam::v1::COMPETITOR_ACTIVITY_QUALITY_PROBLEM:
      return kam::v1::OPPORTUNITY_KIND_QUALITY_PROBLEM;
    case kam::v1::COMPETITOR_ACTIVITY_SERVICE_COMPLAINT:
      return kam::v1::OPPORTUNITY_KIND_SERVICE_COMPLAINT;
    case kam::v1::COMPETITOR_ACTIVITY_WEAK_RELATIONSHIP:
      return kam::v1::OPPORTUNITY_KIND_WEAK_RELATIONSHIP;
    case kam::v1::COMPETITOR_ACTIVITY_RELATIONSHIP_DETERIORATED:
      return kam::v1::OPPORTUNITY_KIND_RELATIONSHIP_DETERIORATED;
    default:
      return kam::v1::OPPORTUNITY_KIND_UNSPECIFIED;  // A threat, not an opening.
  }
}

kam::v1::OpportunityKind OpportunityOfSignal(kam::v1::CustomerSignal kind) {
  switch (kind) {
    case kam::v1::CUSTOMER_SIGNAL_COST_REDUCTION_PRESSURE:
      return kam::v1::OPPORTUNITY_KIND_COST_REDUCTION_PRESSURE;
    case kam::v1::CUSTOMER_SIGNAL_NEW_PROJECT:
      return kam::v1::OPPORTUNITY_KIND_NEW_PROJECT;
    case kam::v1::CUSTOMER_SIGNAL_SUPPLIER_EVALUATION_ANNOUNCED:
    case kam::v1::CUSTOMER_SIGNAL_TENDER_ANNOUNCED:
      return kam::v1::OPPORTUNITY_KIND_SUPPLIER_EVALUATION;
    default:
      return kam::v1::OPPORTUNITY_KIND_UNSPECIFIED;
  }
}

void AddIfInWindow(OpportunityEvents& events, kam::v1::OpportunityKind kind, absl::Time at,
                   const std::string& event_id, absl::Time as_of, absl::Duration window) {
  if (kind == kam::v1::OPPORTUNITY_KIND_UNSPECIFIED) return;
  if (InTrailingWindow(at, as_of, window)) events[kind].emplace_back(at, event_id);
}

void CollectWindowedOpportunities(const AccountState& state, const std::vector<Fact>& catalog,
                                  absl::Time as_of, absl::Duration window,
                                  OpportunityEvents& events) {
  std::vector<const Fact*> launches;
  for (const Fact& fact : catalog) {
    if (fact.event.has_product_launched()) launches.push_back(&fact);
  }
  std::stable_sort(launches.begin(), launches.end(),
                   [](const Fact* a, const Fact* b) { return BusinessOrder(*a, *b); });
  for (const Fact* launch : launches) {
    AddIfInWindow(events, kam::v1::OPPORTUNITY_KIND_NEW_PRODUCT, launch->occurred_at,
                  launch->event_id, as_of, window);
  }
  for (const PersonnelChange& change : state.personnel_changes) {
    AddIfInWindow(events, kam::v1::OPPORTUNITY_KIND_PERSONNEL_CHANGE, change.occurred_at,
                  change.event_id, as_of, window);
  }
  for (const CompetitorRecord& activity : state.competitor_activities) {
    AddIfInWindow(events, OpportunityOfCompetitor(activity.kind), activity.observed_at,
                  activity.event_id, as_of, window);
  }
  for (const SignalRecord& signal : state.customer_signals) {
    AddIfInWindow(events, OpportunityOfSignal(signal.kind), signal.observed_at, signal.event_id,
                  as_of, window);
  }
}

// The latest share assessment with source SUPPLIER_EVALUATION, if any.
const ShareRecord* LatestSupplierEvaluation(const AccountState& state) {
  for (auto it = state.shares.rbegin(); it != state.shares.rend(); ++it) {
    if (it->source == kam::v1::SHARE_SOURCE_SUPPLIER_EVALUATION) return &*it;
  }
  return nullptr;
}

}  // namespace

std::vector<kam::v1::Opportunity> OpportunitiesOf(const AccountState& state,
                                                  kam::v1::RelationshipStage stage,
                                                  const std::vector<Fact>& catalog,
                                                  absl::Time as_of, const Rules& rules) {
  if (stage != kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT &&
      stage != kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION) {
    return {};
  }
  OpportunityEvents events;
  CollectWindowedOpportunities(state, catalog, as_of, Days(rules.opportunity_window_days), events);
  const ShareRecord* evaluation = LatestSupplierEvaluation(state);
  if (stage == kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION && evaluation != nullptr &&
      as_of - evaluation->assessed_at >= Days(rules.supplier_evaluation_due_days)) {
    events[kam::v1::OPPORTUNITY_KIND_SUPPLIER_EVALUATION_DUE].emplace_back(evaluation->assessed_at,
                                                                           evaluation->event_id);
  }
  std::vector<kam::v1::Opportunity> opportunities;
  for (auto& [kind, entries] : events) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    kam::v1::Opportunity& opportunity = opportunities.emplace_back();
    opportunity.set_kind(kind);
    for (const auto& entry : entries) opportunity.add_event_ids(entry.second);
  }
  return opportunities;
}

kam::v1::RelationshipNetwork NetworkOf(const AccountState& state, const Rules& rules) {
  std::map<std::string, std::vector<std::string>> by_department;
  std::map<kam::v1::ContactRole, std::vector<std::string>> by_role;
  std::map<kam::v1::ContactLevel, std::vector<std::string>> by_level;
  std::vector<const ContactRecord*> active = ActiveContacts(state);  // By contact id.
  for (const ContactRecord* record : active) {
    const kam::v1::Contact& contact = record->contact;
    by_department[contact.department()].push_back(contact.contact_id());
    by_role[contact.role()].push_back(contact.contact_id());
    by_level[contact.level()].push_back(contact.contact_id());
  }
  kam::v1::RelationshipNetwork network;
  network.set_active_contacts(static_cast<uint32_t>(active.size()));
  for (const auto& [department, ids] : by_department) {
    kam::v1::DepartmentContacts* group = network.add_by_department();
    group->set_department(department);
    for (const std::string& id : ids) group->add_contact_ids(id);
  }
  for (const auto& [role, ids] : by_role) {
    kam::v1::RoleContacts* group = network.add_by_role();
    group->set_role(role);
    for (const std::string& id : ids) group->add_contact_ids(id);
  }
  for (const auto& [level, ids] : by_level) {
    kam::v1::LevelContacts* group = network.add_by_level();
    group->set_level(level);
    for (const std::string& id : ids) group->add_contact_ids(id);
  }
  network.set_decision_maker_covered(AnyActive(state, &IsDecisionMaker));
  network.set_executive_covered(AnyActive(state, &IsExecutive));
  network.set_single_threaded(active.size() <= rules.single_threaded_max_contacts);
  return network;
}

// ---------------------------------------------------------------------------
// Portfolio

namespace {

int64_t RevenueOf(const kam::v1::AccountView& view) {
  return view.revenue().trailing_365_days().minor_units();
}

kam::v1::Money MoneyOf(int64_t minor_units, const Rules& rules) {
  kam::v1::Money money;
  money.set_minor_units(minor_units);
  money.set_currency_code(rules.reporting_currency);
  return money;
}

// Adds one account to the group of `key` in a list made by InitGroups (one
// entry per enum value from 1, in enum order).
template <typename Group>
void AddToGroup(google::protobuf::RepeatedPtrField<Group>& groups, int key,
                const kam::v1::AccountView& view, const Rules& rules) {
  if (key < 1 || key > groups.size()) return;  // UNSPECIFIED: in no group.
  Group* group = groups.Mutable(key - 1);
  group->set_accounts(group->accounts() + 1);
  *group->mutable_trailing_365_day_revenue() = MoneyOf(
      SaturatingAdd(group->trailing_365_day_revenue().minor_units(), RevenueOf(view)), rules);
}

template <typename Group, typename Key>
void InitGroups(google::protobuf::RepeatedPtrField<Group>& groups, int count, const Rules& rules,
                void (Group::*set_key)(Key)) {
  for (int value = 1; value <= count; ++value) {
    Group* group = groups.Add();
    (group->*set_key)(static_cast<Key>(value));
    group->set_accounts(0);
    *group->mutable_trailing_365_day_revenue() = MoneyOf(0, rules);
  }
}

void FillGroups(const std::vector<kam::v1::AccountView>& views, const Rules& rules,
                kam::v1::Portfolio& portfolio) {
  InitGroups(*portfolio.mutable_by_stage(), kam::v1::RelationshipStage_MAX, rules,
             &kam::v1::StageGroup::set_stage);
  InitGroups(*portfolio.mutable_by_abc_class(), kam::v1::AbcClass_MAX, rules,
             &kam::v1::AbcClassGroup::set_abc_class);
  InitGroups(*portfolio.mutable_by_value_segment(), kam::v1::ValueSegment_MAX, rules,
             &kam::v1::ValueSegmentGroup::set_value_segment);
  InitGroups(*portfolio.mutable_by_risk_level(), kam::v1::RiskLevel_MAX, rules,
             &kam::v1::RiskLevelGroup::set_risk_level);
  for (const kam::v1::AccountView& view : views) {
    AddToGroup(*portfolio.mutable_by_stage(), view.stage(), view, rules);
    AddToGroup(*portfolio.mutable_by_abc_class(), view.abc_class(), view, rules);
    kam::v1::ValueSegment segment = view.value_segment() == kam::v1::VALUE_SEGMENT_UNSPECIFIED
                                        ? kam::v1::VALUE_SEGMENT_NONE
                                        : view.value_segment();
    AddToGroup(*portfolio.mutable_by_value_segment(), segment, view, rules);
    AddToGroup(*portfolio.mutable_by_risk_level(), view.risk().level(), view, rules);
  }
}

// The 1-based ranks on the curve: all, or about max_points evenly spaced
// ones, always with rank 1, the last rank, and the last A and last B.
std::vector<uint64_t> ParetoRanks(const std::vector<const kam::v1::AccountView*>& ranked,
                                  uint32_t max_points) {
  const uint64_t n = ranked.size();
  std::set<uint64_t> ranks;
  if (n == 0) return {};
  if (max_points == 0 || n <= max_points) {
    for (uint64_t r = 1; r <= n; ++r) ranks.insert(r);
  } else {
    for (uint64_t k = 1; k <= max_points; ++k) ranks.insert((k * n + max_points - 1) / max_points);
    ranks.insert(1);
    for (uint64_t r = 1; r <= n; ++r) {
      kam::v1::AbcClass abc = ranked[r - 1]->abc_class();
      bool last_of_class = r == n || ranked[r]->abc_class() != abc;
      if (last_of_class && (abc == kam::v1::ABC_CLASS_A || abc == kam::v1::ABC_CLASS_B)) {
        ranks.insert(r);
      }
    }
  }
  return std::vector<uint64_t>(ranks.begin(), ranks.end());
}

void FillParetoCurve(const std::vector<kam::v1::AccountView>& views, const Rules& rules,
                     uint32_t max_points, kam::v1::Portfolio& portfolio) {
  std::vector<const kam::v1::AccountView*> ranked;
  for (const kam::v1::AccountView& view : views) ranked.push_back(&view);
  std::sort(ranked.begin(), ranked.end(),
            [](const kam::v1::AccountView* a, const kam::v1::AccountView* b) {
              if (RevenueOf(*a) != RevenueOf(*b)) return RevenueOf(*a) > RevenueOf(*b);
              return a->account_id() < b->account_id();
            });
  const int64_t total = portfolio.trailing_365_day_revenue().minor_units();
  std::vector<uint64_t> ranks = ParetoRanks(ranked, max_points);
  int64_t cumulative = 0;
  uint64_t next = 0;  // Index into ranks.
  for (uint64_t r = 1; r <= ranked.size() && next < ranks.size(); ++r) {
    cumulative = SaturatingAdd(cumulative, RevenueOf(*ranked[r - 1]));
    if (ranks[next] != r) continue;
    ++next;
    kam::v1::ParetoPoint* point = portfolio.add_pareto_curve();
    point->set_rank(r);
    point->set_account_id(ranked[r - 1]->account_id());
    point->set_abc_class(ranked[r - 1]->abc_class());
    *point->mutable_cumulative_revenue() = MoneyOf(cumulative, rules);
    point->set_cumulative_share(total > 0 ? static_cast<double>(cumulative) / total : 0.0);
  }
}

kam::v1::AttentionItem AttentionItemOf(const kam::v1::AccountView& view,
                                       const std::vector<kam::v1::AttentionReason>& reasons) {
  kam::v1::AttentionItem item;
  item.set_account_id(view.account_id());
  item.set_name(view.profile().name());
  item.set_account_manager(view.account_manager());
  item.set_stage(view.stage());
  item.set_value_segment(view.value_segment());
  item.set_risk_score(view.risk().score());
  item.set_risk_level(view.risk().level());
  *item.mutable_trailing_365_day_revenue() = view.revenue().trailing_365_days();
  for (kam::v1::AttentionReason reason : reasons) item.add_reasons(reason);
  std::vector<kam::v1::RiskFactorFinding> factors(view.risk().factors().begin(),
                                                  view.risk().factors().end());
  std::stable_sort(factors.begin(), factors.end(), [](const auto& a, const auto& b) {
    if (a.points() != b.points()) return a.points() > b.points();
    return a.name() < b.name();
  });
  for (const auto& factor : factors) item.add_risk_factors(factor.name());
  for (const kam::v1::Opportunity& o : view.opportunities()) item.add_opportunities(o.kind());
  return item;
}

void FillAttention(const std::vector<kam::v1::AccountView>& views, uint32_t max_attention,
                   kam::v1::Portfolio& portfolio) {
  std::vector<std::pair<const kam::v1::AccountView*, std::vector<kam::v1::AttentionReason>>>
      needing;
  for (const kam::v1::AccountView& view : views) {
    std::vector<kam::v1::AttentionReason> reasons = AttentionReasonsOf(view);
    if (!reasons.empty()) needing.emplace_back(&view, std::move(reasons));
  }
  std::sort(needing.begin(), needing.end(), [](const auto& a, const auto& b) {
    const kam::v1::AccountView& x = *a.first;
    const kam::v1::AccountView& y = *b.first;
    // The first reason is the highest precedence that applies.
    if (a.second.front() != b.second.front()) return a.second.front() < b.second.front();
    if (x.risk().score() != y.risk().score()) return x.risk().score() > y.risk().score();
    if (RevenueOf(x) != RevenueOf(y)) return RevenueOf(x) > RevenueOf(y);
    return x.account_id() < y.account_id();
  });
  for (const auto& [view, reasons] : needing) {
    if (max_attention != 0 && portfolio.attention_size() >= static_cast<int>(max_attention)) break;
    *portfolio.add_attention() = AttentionItemOf(*view, reasons);
  }
}

}  // namespace

std::vector<kam::v1::AttentionReason> AttentionReasonsOf(const kam::v1::AccountView& view) {
  std::vector<kam::v1::AttentionReason> reasons;
  if (view.value_segment() == kam::v1::VALUE_SEGMENT_EII) {
    reasons.push_back(kam::v1::ATTENTION_REASON_VALUE_SEGMENT_EII);
  }
  if (view.risk().level() == kam::v1::RISK_LEVEL_HIGH) {
    reasons.push_back(kam::v1::ATTENTION_REASON_HIGH_RISK);
  }
  if (view.opportunities_size() > 0) {
    reasons.push_back(kam::v1::ATTENTION_REASON_OPEN_OPPORTUNITIES);
  }
  return reasons;
}

kam::v1::Portfolio BuildPortfolio(const std::vector<kam::v1::AccountView>& views,
                                  const Rules& rules, const PortfolioOptions& options) {
  kam::v1::Portfolio portfolio;
  portfolio.set_account_count(static_cast<uint32_t>(views.size()));
  int64_t total = 0;
  for (const kam::v1::AccountView& view : views) total = SaturatingAdd(total, RevenueOf(view));
  *portfolio.mutable_trailing_365_day_revenue() = MoneyOf(total, rules);
  FillGroups(views, rules, portfolio);
  FillParetoCurve(views, rules, options.max_pareto_points, portfolio);
  FillAttention(views, options.max_attention, portfolio);
  portfolio.set_rules_version(RulesVersion(rules));
  portfolio.set_position(options.position);
  *portfolio.mutable_as_of() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(options.as_of));
  portfolio.set_time_axis(options.time_axis);
  return portfolio;
}

}  // namespace kam::projections
