#include "projections/account_state.h"

#include <algorithm>
#include <tuple>

#include "projections/rules.h"
#include "projections/time_proto.h"

namespace kam::projections {

namespace {

// Keeps `current` the latest in business order: replaces it when `key` is
// later (or when there is none yet).
template <typename Record>
void KeepLatest(std::optional<Record>& current, const FactKey& key, Record candidate) {
  if (current.has_value() && key < current->key) return;
  current = std::move(candidate);
}

void ApplyAgreementSigned(const Fact& fact, StageInputs& inputs) {
  const kam::v1::AgreementSigned& signed_event = fact.event.agreement_signed();
  AgreementRecord& agreement = inputs.agreements[signed_event.agreement_id()];
  agreement.agreement_id = signed_event.agreement_id();
  agreement.kind = signed_event.kind();
  agreement.signed_key = KeyOf(fact);
  agreement.signed_at = fact.occurred_at;
  agreement.signed_event_id = fact.event_id;
}

void ApplyAgreementEnded(const Fact& fact, StageInputs& inputs) {
  AgreementRecord& agreement = inputs.agreements[fact.event.agreement_ended().agreement_id()];
  agreement.agreement_id = fact.event.agreement_ended().agreement_id();
  agreement.ended_key = KeyOf(fact);
  agreement.ended_event_id = fact.event_id;
}

void ApplyOrderPlaced(const Fact& fact, StageInputs& inputs) {
  const kam::v1::OrderPlaced& placed = fact.event.order_placed();
  OrderRecord& order = inputs.orders[placed.order_id()];
  order.order_id = placed.order_id();
  order.placed = true;
  order.placed_at = fact.occurred_at;
  order.amount = placed.amount().minor_units();
  order.currency_code = placed.amount().currency_code();
  order.placed_event_id = fact.event_id;
}

void ApplyOrderCancelled(const Fact& fact, StageInputs& inputs) {
  OrderRecord& order = inputs.orders[fact.event.order_cancelled().order_id()];
  order.order_id = fact.event.order_cancelled().order_id();
  order.cancelled = true;
  order.cancelled_event_ids.push_back(fact.event_id);
}

ShareRecord ShareOf(const Fact& fact) {
  ShareRecord share;
  share.share_percent = fact.event.purchase_share_assessed().share_percent();
  share.source = fact.event.purchase_share_assessed().source();
  share.assessed_at = fact.occurred_at;
  share.key = KeyOf(fact);
  share.event_id = fact.event_id;
  return share;
}

LifecycleMark LifecycleOf(const Fact& fact) {
  LifecycleMark mark;
  mark.lost = fact.event.has_account_lost();
  if (mark.lost) mark.reason = fact.event.account_lost().reason();
  mark.key = KeyOf(fact);
  mark.event_id = fact.event_id;
  return mark;
}

// --- The business-order fold of everything else. ---

void ApplyOpened(const Fact& fact, AccountState& state) {
  if (state.opened) return;  // Only one AccountOpened per stream.
  state.opened = true;
  state.opening = fact.event.account_opened();
  state.opened_at = fact.occurred_at;
  state.opened_event_id = fact.event_id;
  state.opened_position = fact.position;
  state.account_manager = state.opening.account_manager();
}

void ApplyManagerAssigned(const Fact& fact, AccountState& state) {
  ManagerChange change;
  change.account_manager = fact.event.account_manager_assigned().account_manager();
  change.different = change.account_manager != state.account_manager;
  change.assigned_at = fact.occurred_at;
  change.event_id = fact.event_id;
  state.account_manager = change.account_manager;
  state.manager_changes.push_back(std::move(change));
}

void ApplyContactAdded(const Fact& fact, AccountState& state) {
  const kam::v1::ContactAdded& added = fact.event.contact_added();
  ContactRecord& record = state.contacts[added.contact_id()];
  kam::v1::Contact& contact = record.contact;
  contact.set_contact_id(added.contact_id());
  contact.set_name(added.name());
  contact.set_title(added.title());
  contact.set_department(added.department());
  contact.set_role(added.role());
  contact.set_level(added.level());
  *contact.mutable_personal() = added.personal();
  if (!added.has_personal()) contact.clear_personal();
  *contact.mutable_added_at() = TimeToProto(fact.occurred_at);
  record.active = true;
  record.added_event_id = fact.event_id;
}

void ApplyContactChanged(const Fact& fact, AccountState& state) {
  const kam::v1::ContactChanged& changed = fact.event.contact_changed();
  state.personnel_changes.push_back({fact.occurred_at, fact.event_id});
  auto it = state.contacts.find(changed.contact_id());
  if (it == state.contacts.end()) return;
  kam::v1::Contact& contact = it->second.contact;
  if (changed.has_title()) contact.set_title(changed.title());
  if (changed.has_department()) contact.set_department(changed.department());
  if (changed.role() != kam::v1::CONTACT_ROLE_UNSPECIFIED) contact.set_role(changed.role());
  if (changed.level() != kam::v1::CONTACT_LEVEL_UNSPECIFIED) contact.set_level(changed.level());
  if (changed.has_personal()) *contact.mutable_personal() = changed.personal();
}

void ApplyContactLeft(const Fact& fact, AccountState& state) {
  state.personnel_changes.push_back({fact.occurred_at, fact.event_id});
  auto it = state.contacts.find(fact.event.contact_left().contact_id());
  if (it == state.contacts.end() || !it->second.active) return;
  it->second.active = false;
  state.departures.push_back({it->second.contact, fact.occurred_at, fact.event_id});
}

void ApplyVisit(const Fact& fact, AccountState& state) {
  bool executive = false;
  for (const kam::v1::Visitor& visitor : fact.event.visit_recorded().visitors()) {
    if (visitor.seniority() == kam::v1::VISITOR_SENIORITY_EXECUTIVE) executive = true;
  }
  state.interactions.push_back({fact.occurred_at, executive, fact.event_id});
}

void ApplyCommunication(const Fact& fact, AccountState& state) {
  state.interactions.push_back(
      {fact.occurred_at, fact.event.communication_logged().executive_level(), fact.event_id});
}

void ApplyComplaintFiled(const Fact& fact, AccountState& state) {
  const kam::v1::ComplaintFiled& filed = fact.event.complaint_filed();
  ComplaintRecord& complaint = state.complaints[filed.complaint_id()];
  complaint.complaint_id = filed.complaint_id();
  complaint.category = filed.category();
  complaint.severity = filed.severity();
  complaint.filed = true;
  complaint.filed_at = fact.occurred_at;
  complaint.filed_event_id = fact.event_id;
}

void ApplyComplaintResolved(const Fact& fact, AccountState& state) {
  const kam::v1::ComplaintResolved& resolved = fact.event.complaint_resolved();
  ComplaintRecord& complaint = state.complaints[resolved.complaint_id()];
  complaint.complaint_id = resolved.complaint_id();
  complaint.resolved = true;
  complaint.resolved_at = fact.occurred_at;
  complaint.satisfied = resolved.customer_satisfied();
  complaint.resolved_event_id = fact.event_id;
}

void ApplyDelivery(const Fact& fact, AccountState& state) {
  const kam::v1::OrderDelivered& delivered = fact.event.order_delivered();
  state.deliveries.push_back({delivered.order_id(), fact.occurred_at, delivered.on_time(),
                              delivered.complete(), fact.event_id});
}

void ApplyStandard(const Fact& fact, AccountState& state) {
  const kam::v1::PurchasingStandardAssessed& assessed = fact.event.purchasing_standard_assessed();
  state.latest_standard =
      StandardAssessment{assessed.we_meet_standard(), assessed.main_competitor_meets_standard(),
                         fact.occurred_at, fact.event_id};
}

void ApplyProspect(const Fact& fact, AccountState& state) {
  const kam::v1::ProspectAssessed& assessed = fact.event.prospect_assessed();
  state.latest_prospect = ProspectRecord{assessed.expected_annual_revenue().minor_units(),
                                         assessed.expected_annual_revenue().currency_code(),
                                         assessed.intent(), fact.occurred_at, fact.event_id};
}

// Applies the parts of a fact that the stage does not depend on.
void ApplyToState(const Fact& fact, AccountState& state) {
  const kam::v1::AccountEvent& e = fact.event;
  switch (e.kind_case()) {
    case kam::v1::AccountEvent::kAccountOpened:
      return ApplyOpened(fact, state);
    case kam::v1::AccountEvent::kAccountProfileUpdated:
      state.dossier = e.account_profile_updated().dossier();
      return;
    case kam::v1::AccountEvent::kAccountManagerAssigned:
      return ApplyManagerAssigned(fact, state);
    case kam::v1::AccountEvent::kContactAdded:
      return ApplyContactAdded(fact, state);
    case kam::v1::AccountEvent::kContactChanged:
      return ApplyContactChanged(fact, state);
    case kam::v1::AccountEvent::kContactLeft:
      return ApplyContactLeft(fact, state);
    case kam::v1::AccountEvent::kVisitRecorded:
      return ApplyVisit(fact, state);
    case kam::v1::AccountEvent::kCommunicationLogged:
      return ApplyCommunication(fact, state);
    case kam::v1::AccountEvent::kComplaintFiled:
      return ApplyComplaintFiled(fact, state);
    case kam::v1::AccountEvent::kComplaintResolved:
      return ApplyComplaintResolved(fact, state);
    case kam::v1::AccountEvent::kOrderDelivered:
      return ApplyDelivery(fact, state);
    case kam::v1::AccountEvent::kPurchaseShareAssessed:
      state.shares.push_back(ShareOf(fact));
      return;
    case kam::v1::AccountEvent::kPurchasingStandardAssessed:
      return ApplyStandard(fact, state);
    case kam::v1::AccountEvent::kProspectAssessed:
      return ApplyProspect(fact, state);
    case kam::v1::AccountEvent::kCompetitorActivityObserved:
      state.competitor_activities.push_back(
          {e.competitor_activity_observed().kind(), fact.occurred_at, fact.event_id});
      return;
    case kam::v1::AccountEvent::kCustomerSignalObserved:
      state.customer_signals.push_back(
          {e.customer_signal_observed().kind(), fact.occurred_at, fact.event_id});
      return;
    default:
      return;  // Stage-only facts, the catalog, corrections (already applied).
  }
}

}  // namespace

bool operator<(const FactKey& a, const FactKey& b) {
  return std::tie(a.occurred_at, a.position) < std::tie(b.occurred_at, b.position);
}

FactKey KeyOf(const Fact& fact) { return FactKey{fact.occurred_at, fact.position}; }

bool IsActive(const AgreementRecord& agreement) {
  if (!agreement.signed_key.has_value()) return false;
  // An ending counts only when it follows the signing in business order.
  return !agreement.ended_key.has_value() || *agreement.ended_key < *agreement.signed_key;
}

void StageInputs::Apply(const Fact& fact) {
  switch (fact.event.kind_case()) {
    case kam::v1::AccountEvent::kAccountOpened:
      opened = true;
      return;
    case kam::v1::AccountEvent::kAccountLost:
    case kam::v1::AccountEvent::kAccountReactivated:
      KeepLatest(lifecycle, KeyOf(fact), LifecycleOf(fact));
      return;
    case kam::v1::AccountEvent::kOrderPlaced:
      return ApplyOrderPlaced(fact, *this);
    case kam::v1::AccountEvent::kOrderCancelled:
      return ApplyOrderCancelled(fact, *this);
    case kam::v1::AccountEvent::kPurchaseShareAssessed:
      KeepLatest(latest_share, KeyOf(fact), ShareOf(fact));
      return;
    case kam::v1::AccountEvent::kAgreementSigned:
      return ApplyAgreementSigned(fact, *this);
    case kam::v1::AccountEvent::kAgreementEnded:
      return ApplyAgreementEnded(fact, *this);
    default:
      return;
  }
}

namespace {

// BusinessOrder's key.
std::pair<absl::Time, uint64_t> BusinessKey(const Fact& fact) {
  return {fact.occurred_at, fact.position};
}

void FoldFact(const Fact& fact, AccountState& state) {
  state.stage_inputs.Apply(fact);
  ApplyToState(fact, state);
}

void AddStageChange(const Fact& fact, TimeAxis axis, const Rules& rules, StageInputs& inputs,
                    std::vector<StageChange>& changes) {
  inputs.Apply(fact);
  if (!inputs.opened) return;
  absl::Time at = axis == TimeAxis::kOccurred ? fact.occurred_at : fact.recorded_at;
  if (changes.empty()) {
    // The first entry is DEVELOPMENT at the AccountOpened.
    changes.push_back({kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT, at, fact.event_id, fact.position});
  }
  kam::v1::RelationshipStage stage = StageOf(inputs, rules);
  if (stage != changes.back().stage) changes.push_back({stage, at, fact.event_id, fact.position});
}

}  // namespace

AccountState FoldAccountState(const AccountHistory& history) {
  AccountState state;
  // On the OCCURRED axis, and mostly on the RECORDED one, the facts already
  // are in business order.
  if (std::is_sorted(history.facts.begin(), history.facts.end(), BusinessOrder)) {
    for (const Fact& fact : history.facts) FoldFact(fact, state);
    return state;
  }
  std::vector<const Fact*> ordered;
  ordered.reserve(history.facts.size());
  for (const Fact& fact : history.facts) ordered.push_back(&fact);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Fact* a, const Fact* b) { return BusinessOrder(*a, *b); });
  for (const Fact* fact : ordered) FoldFact(*fact, state);
  return state;
}

void AccountFold::Reset(const AccountHistory& history) {
  state_ = FoldAccountState(history);
  last_.reset();
  for (const Fact& fact : history.facts) {
    last_ = std::max(last_.value_or(BusinessKey(fact)), BusinessKey(fact));
  }
  stage_inputs_ = StageInputs();
  stage_history_.clear();
  for (const Fact& fact : history.facts) {
    AddStageChange(fact, history.axis, *rules_, stage_inputs_, stage_history_);
  }
}

void AccountFold::Extend(const AccountHistory& history) {
  const Fact& fact = history.facts.back();
  AddStageChange(fact, history.axis, *rules_, stage_inputs_, stage_history_);
  if (last_.has_value() && BusinessKey(fact) <= *last_) {
    state_ = FoldAccountState(history);
    return;
  }
  FoldFact(fact, state_);
  last_ = BusinessKey(fact);
}

std::vector<const ContactRecord*> ActiveContacts(const AccountState& state) {
  std::vector<const ContactRecord*> active;
  for (const auto& [id, record] : state.contacts) {
    if (record.active) active.push_back(&record);
  }
  return active;
}

std::vector<StageChange> StageHistoryOf(const AccountHistory& history, const Rules& rules) {
  std::vector<StageChange> changes;
  StageInputs inputs;
  for (const Fact& fact : history.facts) AddStageChange(fact, history.axis, rules, inputs, changes);
  return changes;
}

}  // namespace kam::projections
