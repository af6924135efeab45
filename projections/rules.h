// The rules of DOMAIN.md "Views", one named pure function per rule. Each
// takes an AccountState (account_state.h) folded from the facts visible at
// (as_of, axis), the evaluation time T and the configured Rules, and returns
// a classification; the same inputs always give the same answer.
//
//   AccountState state = FoldAccountState(history);
//   kam::v1::RelationshipStage stage = StageOf(state.stage_inputs, rules);
//   kam::v1::DefectionRisk risk = DefectionRiskOf(state, stage, history.as_of, rules);
//
// Windows: "trailing window W ending at T: T - W < occurred_at <= T". On the
// RECORDED axis a fact that occurred after T counts for state but falls in
// no window. Money sums are exact and saturate at the int64 range.

#ifndef KAM_PROJECTIONS_RULES_H_
#define KAM_PROJECTIONS_RULES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "kam/v1/views.pb.h"
#include "projections/account_state.h"
#include "projections/fact.h"
#include "projections/rules_config.h"

namespace kam::projections {

// ---------------------------------------------------------------------------
// Windows and revenue

// "Trailing window W ending at T: events with T - W < occurred_at <= T."
bool InTrailingWindow(absl::Time occurred_at, absl::Time end, absl::Duration window);

// a + b, clamped to the int64 range.
int64_t SaturatingAdd(int64_t a, int64_t b);

// "The amounts of orders placed in the window that are not cancelled as
// known at T": net revenue of the trailing window `window` ending at `end`.
int64_t TrailingNetRevenue(const AccountState& state, absl::Time end, absl::Duration window);

// The event ids of the orders counted by TrailingNetRevenue, business order.
std::vector<std::string> TrailingOrderEventIds(const AccountState& state, absl::Time end,
                                               absl::Duration window);

// "The quarters split the trailing 365 days into 4 windows of 91.25 days
// (91 days 6 hours) each", oldest first.
struct QuarterlyFigures {
  std::array<int64_t, 4> revenue{};
  uint32_t quarters_with_orders = 0;  // Quarters with an order not cancelled.
};
QuarterlyFigures QuarterlyRevenue(const AccountState& state, absl::Time as_of, const Rules& rules);

// ---------------------------------------------------------------------------
// Relationship stage and level

// "The first rule that holds, in this order, gives the stage: LOST: the
// latest of AccountLost / AccountReactivated is an AccountLost. DEVELOPMENT:
// no order ever that is not cancelled. STRATEGIC_COOPERATION: latest share
// >= 80 % and an active STRATEGIC_PARTNERSHIP or EQUITY_COOPERATION
// agreement. STABLE_COOPERATION: latest share >= 50 %. INITIAL_COOPERATION:
// otherwise (latest share < 50 % or none)."
kam::v1::RelationshipStage StageOf(const StageInputs& inputs, const Rules& rules);

// INITIAL, STABLE or STRATEGIC cooperation: the accounts that get a value
// segment and a defection risk.
bool IsCustomerStage(kam::v1::RelationshipStage stage);

// "dormant: has orders that are not cancelled, but none placed in the
// trailing 365 days."
bool IsDormant(const AccountState& state, absl::Time as_of, const Rules& rules);

// An active STRATEGIC_PARTNERSHIP or EQUITY_COOPERATION agreement.
bool HasStructuralAgreement(const StageInputs& inputs);

// "The highest level whose condition holds: LEVEL_1_FINANCIAL: the default.
// LEVEL_2_SOCIAL: >= 3 active contacts in >= 2 departments, at least one of
// level MANAGEMENT or EXECUTIVE, and a visit or communication in the
// trailing 90 days. LEVEL_3_STRUCTURAL: an active STRATEGIC_PARTNERSHIP or
// EQUITY_COOPERATION agreement." Contacts without a department count in no
// department.
kam::v1::RelationshipLevel RelationshipLevelOf(const AccountState& state, absl::Time as_of,
                                               const Rules& rules);

// ---------------------------------------------------------------------------
// ABC class and value segment

struct AccountRevenue {
  std::string account_id;
  int64_t revenue = 0;  // Trailing-365-day net revenue, minor units.
};

struct AccountAbc {
  std::string account_id;
  int64_t revenue = 0;
  kam::v1::AbcClass abc_class = kam::v1::ABC_CLASS_UNSPECIFIED;
};

// "Sort accounts by revenue, descending, ties by account id. Walking down
// the list, an account is A while the cumulative share *before* it is
// < 80 %, B while it is < 95 %, else C. Zero revenue is C." Returns the
// accounts in that (Pareto) order.
std::vector<AccountAbc> AbcClasses(std::vector<AccountRevenue> accounts, const Rules& rules);

enum class Contribution { kLow, kHigh };
enum class Stability { kLow, kHigh };

// "Contribution is HIGH when the account is class A (configurable: or >= a
// revenue floor)."
Contribution ContributionOf(kam::v1::AbcClass abc_class, int64_t revenue, const Rules& rules);

// "The coefficient of variation (population stddev / mean) of the 4
// quarterly sums is <= 0.6 (compare exactly: 100 * sum(q^2) <= 34 *
// (sum q)^2)", generalised to the configured limit c = h/100:
// 4 * 10^4 * sum(q^2) <= (10^4 + h^2) * (sum q)^2, exact in 256 bits.
// False when the sum is 0.
bool CoefficientOfVariationWithinLimit(const std::array<int64_t, 4>& quarters, const Rules& rules);

// "Stability is HIGH when the account ordered in >= 3 of the 4 trailing
// quarters and the coefficient of variation of the 4 quarterly sums is
// <= 0.6. No revenue in the year: LOW."
Stability StabilityOf(const QuarterlyFigures& quarters, const Rules& rules);

// "Value segments are given to customers (INITIAL, STABLE and STRATEGIC)":
// EI high/high, EII high/low, EIII low/high, EIV low/low; NONE otherwise.
kam::v1::ValueSegment ValueSegmentOf(kam::v1::RelationshipStage stage, Contribution contribution,
                                     Stability stability);

// EI CONSOLIDATE, EII TURN_AROUND, EIII UPGRADE, EIV LIQUIDATE, else NONE.
kam::v1::ValueStrategy StrategyOf(kam::v1::ValueSegment segment);

// "Accounts in DEVELOPMENT with a ProspectAssessed. The latest
// ProspectAssessed counts. Expected contribution HIGH when expected annual
// revenue >= a configured floor (default 10,000,000 minor units); intent
// HIGH when >= 0.5. PI high/high, PII high/low, PIII low/high, PIV low/low."
// NONE otherwise.
kam::v1::ProspectSegment ProspectSegmentOf(kam::v1::RelationshipStage stage,
                                           const std::optional<ProspectRecord>& prospect,
                                           const Rules& rules);

// ---------------------------------------------------------------------------
// Defection risk: one function per factor of the table; each returns the
// finding when the factor holds at `as_of`, with its points and events.

using RiskFinding = std::optional<kam::v1::RiskFactorFinding>;

// "Latest assessment: only the main competitor meets the account's
// purchasing standard (an alarm) / both meet it (price decides)": 60 / 30.
RiskFinding PurchasingStandardFactor(const AccountState& state, const Rules& rules);
// "Per complaint open > 7 days at T (max 2), one factor listing them": 15 each.
RiskFinding ComplaintOpenFactor(const AccountState& state, absl::Time as_of, const Rules& rules);
// "A complaint resolved with the customer unsatisfied in 90 days": 10.
RiskFinding ComplaintResolvedUnsatisfiedFactor(const AccountState& state, absl::Time as_of,
                                               const Rules& rules);
// "<= 1 active contact": 15.
RiskFinding SingleThreadedFactor(const AccountState& state, const Rules& rules);
// "No active DECISION_MAKER contact": 10.
RiskFinding NoDecisionMakerFactor(const AccountState& state, const Rules& rules);
// "A contact who left in 90 days was a DECISION_MAKER and at T no active
// contact is one, or was of level EXECUTIVE and at T no active contact is of
// that level (one seat left empty is enough)": 15.
RiskFinding KeyContactLeftFactor(const AccountState& state, absl::Time as_of, const Rules& rules);
// "No visit or communication in 60 days": 10.
RiskFinding NoContactFactor(const AccountState& state, absl::Time as_of, const Rules& rules);
// "No communication flagged executive-level and no visit by an EXECUTIVE of
// ours in 180 days": 5.
RiskFinding NoExecutiveContactFactor(const AccountState& state, absl::Time as_of,
                                     const Rules& rules);
// "Trailing-91-day revenue < 80 % of the same window one year earlier (which
// was > 0)": 15. Lists the orders of both windows.
RiskFinding RevenueDeclineFactor(const AccountState& state, absl::Time as_of, const Rules& rules);
// "Share fell >= 10 points between the last two assessments": 15.
RiskFinding ShareDropFactor(const AccountState& state, const Rules& rules);
// "> 10 % of deliveries in 90 days late or incomplete": 10.
RiskFinding DeliveryProblemsFactor(const AccountState& state, absl::Time as_of, const Rules& rules);
// "Competitor PRICE_CUT observed in 90 days": 10.
RiskFinding CompetitorPriceCutFactor(const AccountState& state, absl::Time as_of,
                                     const Rules& rules);
// "Competitor NEW_PRODUCT observed in 90 days": 5.
RiskFinding CompetitorNewProductFactor(const AccountState& state, absl::Time as_of,
                                       const Rules& rules);
// "An AccountManagerAssigned naming a different manager in 90 days": 5.
RiskFinding AccountManagerChangedFactor(const AccountState& state, absl::Time as_of,
                                        const Rules& rules);

// LOW < 30 <= MEDIUM < 60 <= HIGH.
kam::v1::RiskLevel RiskLevelOf(uint32_t score, const Rules& rules);

// "Computed for customers (INITIAL, STABLE, STRATEGIC); DEVELOPMENT and LOST
// accounts have level NOT_APPLICABLE, score 0 and no factors. Sum of the
// points of the factors that hold at as_of, capped at 100." Factors in the
// table's (enum) order.
kam::v1::DefectionRisk DefectionRiskOf(const AccountState& state, kam::v1::RelationshipStage stage,
                                       absl::Time as_of, const Rules& rules);

// ---------------------------------------------------------------------------
// Opportunities and network

// "Open when the account is in DEVELOPMENT or INITIAL_COOPERATION, one entry
// per kind listing its events, from what happened in the trailing 90 days"
// (NEW_PRODUCT from the catalog's ProductLaunched; SUPPLIER_EVALUATION_DUE:
// INITIAL only, no window, >= 330 days since the latest share assessment
// with source SUPPLIER_EVALUATION, never evaluated: not due). Kinds in enum
// order, events in business order.
std::vector<kam::v1::Opportunity> OpportunitiesOf(const AccountState& state,
                                                  kam::v1::RelationshipStage stage,
                                                  const std::vector<Fact>& catalog,
                                                  absl::Time as_of, const Rules& rules);

// "Active contacts by department, role and level; decision-maker coverage;
// whether the relation is single-threaded" (<= 1 active contact).
kam::v1::RelationshipNetwork NetworkOf(const AccountState& state, const Rules& rules);

// ---------------------------------------------------------------------------
// Portfolio

struct PortfolioOptions {
  absl::Time as_of;
  kam::v1::TimeAxis time_axis = kam::v1::TIME_AXIS_OCCURRED;
  uint64_t position = 0;
  uint32_t max_pareto_points = 0;  // 0: one point per account.
  uint32_t max_attention = 0;      // 0: all.
};

// "Counts and trailing-365-day revenue by stage, ABC class, value segment
// (accounts without one under NONE) and risk level (NOT_APPLICABLE is its
// own group); the Pareto curve; the accounts that need attention first:
// EII, then HIGH risk, then open opportunities, ties by risk score
// descending, revenue descending, account id; each with its reasons."
// `views` are every account that exists at as_of, built with the same rules
// (their abc_class already set).
// "The accounts that need attention first: EII, then HIGH risk, then open
// opportunities": the reasons that hold for one account, highest precedence
// first; empty when it needs none.
std::vector<kam::v1::AttentionReason> AttentionReasonsOf(const kam::v1::AccountView& view);

kam::v1::Portfolio BuildPortfolio(const std::vector<kam::v1::AccountView>& views,
                                  const Rules& rules, const PortfolioOptions& options);

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_RULES_H_
