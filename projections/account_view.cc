#include "projections/account_view.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "projections/rules.h"
#include "projections/time_proto.h"

namespace kam::projections {

namespace {

kam::v1::Money MoneyOf(int64_t minor_units, const Rules& rules) {
  kam::v1::Money money;
  money.set_minor_units(minor_units);
  money.set_currency_code(rules.reporting_currency);
  return money;
}

// An empty code reads as the reporting currency.
absl::Status CheckCurrency(const std::string& code, const std::string& event_id,
                           const Rules& rules) {
  if (code.empty() || code == rules.reporting_currency) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("event ", event_id, ": amount in ", code, ", reporting currency is ",
                   rules.reporting_currency, " (amounts are never converted)"));
}

// Whether `state` is an existing account's with every amount in the
// reporting currency.
absl::Status CheckState(const AccountHistory& history, const AccountState& state,
                        const Rules& rules) {
  if (!state.opened) {
    return absl::NotFoundError(
        absl::StrCat("account ", history.account_id, " does not exist at as_of"));
  }
  for (const auto& [id, order] : state.stage_inputs.orders) {
    if (!order.placed) continue;
    absl::Status status = CheckCurrency(order.currency_code, order.placed_event_id, rules);
    if (!status.ok()) return status;
  }
  if (state.latest_prospect.has_value()) {
    return CheckCurrency(state.latest_prospect->currency_code, state.latest_prospect->event_id,
                         rules);
  }
  return absl::OkStatus();
}

void FillProfile(const AccountState& state, kam::v1::AccountView& view) {
  kam::v1::AccountProfile* profile = view.mutable_profile();
  profile->set_name(state.opening.name());
  profile->set_industry(state.opening.industry());
  *profile->mutable_region() = state.opening.region();
  profile->set_kind(state.opening.kind());
  *profile->mutable_dossier() = state.dossier;
  *profile->mutable_opened_at() = TimeToProto(state.opened_at);
  view.set_account_manager(state.account_manager);
  for (const ContactRecord* record : ActiveContacts(state)) {
    *view.add_contacts() = record->contact;
  }
}

void FillStage(const AccountHistory& history, const AccountState& state,
               const std::vector<StageChange>& stages, const Rules& rules,
               kam::v1::AccountView& view) {
  view.set_stage(StageOf(state.stage_inputs, rules));
  for (const StageChange& change : stages) {
    kam::v1::StageChange* entry = view.add_stage_history();
    entry->set_stage(change.stage);
    *entry->mutable_changed_at() = TimeToProto(change.changed_at);
    entry->set_caused_by_event_id(change.caused_by_event_id);
    entry->set_position(change.position);
  }
  view.set_dormant(IsDormant(state, history.as_of, rules));
  view.set_relationship_level(RelationshipLevelOf(state, history.as_of, rules));
  if (view.stage() == kam::v1::RELATIONSHIP_STAGE_LOST) {
    view.set_loss_reason(state.stage_inputs.lifecycle->reason);
  }
}

void FillRevenue(const AccountState& state, absl::Time as_of, const Rules& rules,
                 kam::v1::TrailingRevenue& revenue) {
  const absl::Duration decline_window = Days(rules.revenue_decline_window_days);
  *revenue.mutable_trailing_365_days() =
      MoneyOf(TrailingNetRevenue(state, as_of, Days(rules.revenue_window_days)), rules);
  *revenue.mutable_trailing_91_days() =
      MoneyOf(TrailingNetRevenue(state, as_of, decline_window), rules);
  *revenue.mutable_trailing_91_days_year_earlier() = MoneyOf(
      TrailingNetRevenue(state, as_of - Days(rules.revenue_decline_shift_days), decline_window),
      rules);
  QuarterlyFigures quarters = QuarterlyRevenue(state, as_of, rules);
  for (int64_t q : quarters.revenue) *revenue.add_quarters() = MoneyOf(q, rules);
  revenue.set_quarters_with_orders(quarters.quarters_with_orders);
}

void FillSegments(const AccountState& state, absl::Time as_of, const Rules& rules,
                  kam::v1::AccountView& view) {
  const int64_t year_revenue = view.revenue().trailing_365_days().minor_units();
  Contribution contribution = ContributionOf(view.abc_class(), year_revenue, rules);
  Stability stability = StabilityOf(QuarterlyRevenue(state, as_of, rules), rules);
  view.set_value_segment(ValueSegmentOf(view.stage(), contribution, stability));
  view.set_strategy(StrategyOf(view.value_segment()));
  view.set_prospect_segment(ProspectSegmentOf(view.stage(), state.latest_prospect, rules));
}

void FillComplaintsAndAgreements(const AccountState& state, kam::v1::AccountView& view) {
  std::vector<const ComplaintRecord*> open;
  for (const auto& [id, complaint] : state.complaints) {
    if (complaint.filed && !complaint.resolved) open.push_back(&complaint);
  }
  std::stable_sort(
      open.begin(), open.end(),
      [](const ComplaintRecord* a, const ComplaintRecord* b) { return a->filed_at < b->filed_at; });
  for (const ComplaintRecord* complaint : open) {
    kam::v1::OpenComplaint* entry = view.add_open_complaints();
    entry->set_complaint_id(complaint->complaint_id);
    entry->set_category(complaint->category);
    entry->set_severity(complaint->severity);
    *entry->mutable_filed_at() = TimeToProto(complaint->filed_at);
    entry->set_filed_event_id(complaint->filed_event_id);
  }
  for (const auto& [id, agreement] : state.stage_inputs.agreements) {
    if (!IsActive(agreement)) continue;
    kam::v1::ActiveAgreement* entry = view.add_active_agreements();
    entry->set_agreement_id(agreement.agreement_id);
    entry->set_kind(agreement.kind);
    *entry->mutable_signed_at() = TimeToProto(agreement.signed_at);
    entry->set_signed_event_id(agreement.signed_event_id);
  }
}

void FillAssessments(const AccountState& state, const Rules& rules, kam::v1::AccountView& view) {
  if (state.stage_inputs.latest_share.has_value()) {
    const ShareRecord& share = *state.stage_inputs.latest_share;
    kam::v1::ShareAssessment* latest = view.mutable_latest_share();
    latest->set_share_percent(share.share_percent);
    latest->set_source(share.source);
    *latest->mutable_assessed_at() = TimeToProto(share.assessed_at);
    latest->set_event_id(share.event_id);
  }
  if (state.latest_prospect.has_value()) {
    const ProspectRecord& prospect = *state.latest_prospect;
    kam::v1::ProspectAssessment* latest = view.mutable_latest_prospect_assessment();
    *latest->mutable_expected_annual_revenue() = MoneyOf(prospect.expected_annual_revenue, rules);
    latest->set_intent(prospect.intent);
    *latest->mutable_assessed_at() = TimeToProto(prospect.assessed_at);
    latest->set_event_id(prospect.event_id);
  }
}

}  // namespace

absl::StatusOr<kam::v1::AccountView> BuildAccountView(const AccountHistory& history,
                                                      kam::v1::AbcClass abc_class,
                                                      const Rules& rules) {
  return BuildAccountView(history, FoldAccountState(history), StageHistoryOf(history, rules),
                          abc_class, rules);
}

absl::StatusOr<kam::v1::AccountView> BuildAccountView(const AccountHistory& history,
                                                      const AccountState& state,
                                                      const std::vector<StageChange>& stages,
                                                      kam::v1::AbcClass abc_class,
                                                      const Rules& rules) {
  if (absl::Status checked = CheckState(history, state, rules); !checked.ok()) return checked;
  const absl::Time as_of = history.as_of;

  kam::v1::AccountView view;
  view.set_account_id(history.account_id);
  FillProfile(state, view);
  FillStage(history, state, stages, rules, view);
  view.set_abc_class(abc_class);
  FillRevenue(state, as_of, rules, *view.mutable_revenue());
  FillSegments(state, as_of, rules, view);
  *view.mutable_risk() = DefectionRiskOf(state, view.stage(), as_of, rules);
  for (kam::v1::Opportunity& opportunity :
       OpportunitiesOf(state, view.stage(), history.catalog, as_of, rules)) {
    *view.add_opportunities() = std::move(opportunity);
  }
  *view.mutable_network() = NetworkOf(state, rules);
  FillComplaintsAndAgreements(state, view);
  FillAssessments(state, rules, view);

  view.set_rules_version(RulesVersion(rules));
  view.set_version(history.version);
  view.set_position(history.position);
  *view.mutable_as_of() = TimeToProto(as_of);
  view.set_time_axis(history.axis == TimeAxis::kOccurred ? kam::v1::TIME_AXIS_OCCURRED
                                                         : kam::v1::TIME_AXIS_RECORDED);
  return view;
}

absl::StatusOr<int64_t> TrailingYearRevenue(const AccountHistory& history, const Rules& rules) {
  return TrailingYearRevenue(history, FoldAccountState(history), rules);
}

absl::StatusOr<int64_t> TrailingYearRevenue(const AccountHistory& history,
                                            const AccountState& state, const Rules& rules) {
  if (absl::Status checked = CheckState(history, state, rules); !checked.ok()) return checked;
  return TrailingNetRevenue(state, history.as_of, Days(rules.revenue_window_days));
}

}  // namespace kam::projections
