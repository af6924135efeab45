// AccountState: what the rules need to know about one account, folded from
// the facts an AccountHistory holds. Facts arrive in axis order (business
// order on the OCCURRED axis, log order on the RECORDED axis), but every
// "latest", "last" and "followed by" of DOMAIN.md is in business order
// (occurred_at, then log position): the fold sorts the facts into business
// order first, and the stage inputs keep their "latest" by comparing
// (occurred_at, position) keys so that they can be fed in any order.
//
//   AccountState state = FoldAccountState(history);
//   if (!state.opened) return absl::NotFoundError(...);
//   std::vector<StageChange> changes = StageHistoryOf(history, rules);
//
// Every item keeps the event id(s) that caused it, for explanations. Pure
// functions of their inputs; safe to call from any thread.

#ifndef KAM_PROJECTIONS_ACCOUNT_STATE_H_
#define KAM_PROJECTIONS_ACCOUNT_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "kam/v1/events.pb.h"
#include "kam/v1/views.pb.h"
#include "projections/fact.h"
#include "projections/rules_config.h"

namespace kam::projections {

// A fact's place in business order.
struct FactKey {
  absl::Time occurred_at = absl::InfinitePast();
  uint64_t position = 0;
};
bool operator<(const FactKey& a, const FactKey& b);
FactKey KeyOf(const Fact& fact);

// The latest AccountLost or AccountReactivated.
struct LifecycleMark {
  bool lost = false;
  kam::v1::LossReason reason = kam::v1::LOSS_REASON_UNSPECIFIED;
  FactKey key;
  std::string event_id;
};

struct ShareRecord {
  uint32_t share_percent = 0;
  kam::v1::ShareSource source = kam::v1::SHARE_SOURCE_UNSPECIFIED;
  absl::Time assessed_at;
  FactKey key;
  std::string event_id;
};

struct AgreementRecord {
  std::string agreement_id;
  kam::v1::AgreementKind kind = kam::v1::AGREEMENT_KIND_UNSPECIFIED;
  std::optional<FactKey> signed_key;
  absl::Time signed_at;
  std::string signed_event_id;
  std::optional<FactKey> ended_key;
  std::string ended_event_id;
};
// Active from AgreementSigned until the AgreementEnded with the same id.
bool IsActive(const AgreementRecord& agreement);

struct OrderRecord {
  std::string order_id;
  bool placed = false;
  absl::Time placed_at;
  int64_t amount = 0;  // Minor units.
  std::string currency_code;
  std::string placed_event_id;
  bool cancelled = false;
  std::vector<std::string> cancelled_event_ids;
};

// What the stage depends on (DOMAIN.md "Relationship stage"): lifecycle,
// orders, the latest share, the agreements. Apply() may be fed facts in any
// order; the result depends only on the set of facts applied.
struct StageInputs {
  bool opened = false;
  std::optional<LifecycleMark> lifecycle;
  std::optional<ShareRecord> latest_share;
  std::map<std::string, OrderRecord> orders;          // By order id.
  std::map<std::string, AgreementRecord> agreements;  // By agreement id.

  void Apply(const Fact& fact);
};

struct ContactRecord {
  kam::v1::Contact contact;  // Its added_at is when it was last (re-)added.
  bool active = false;
  std::string added_event_id;
};

// A contact who left, as the contact was when leaving.
struct ContactDeparture {
  kam::v1::Contact contact;
  absl::Time left_at;
  std::string event_id;
};

struct DeliveryRecord {
  std::string order_id;
  absl::Time delivered_at;
  bool on_time = false;
  bool complete = false;
  std::string event_id;
};

struct ComplaintRecord {
  std::string complaint_id;
  kam::v1::ComplaintCategory category = kam::v1::COMPLAINT_CATEGORY_UNSPECIFIED;
  uint32_t severity = 0;
  bool filed = false;
  absl::Time filed_at;
  std::string filed_event_id;
  bool resolved = false;
  absl::Time resolved_at;
  bool satisfied = false;
  std::string resolved_event_id;
};

// A visit or a communication.
struct Interaction {
  absl::Time occurred_at;
  // A communication flagged executive-level, or a visit with an EXECUTIVE
  // visitor of ours.
  bool executive = false;
  std::string event_id;
};

struct StandardAssessment {
  bool we_meet = false;
  bool competitor_meets = false;
  absl::Time assessed_at;
  std::string event_id;
};

struct ProspectRecord {
  int64_t expected_annual_revenue = 0;
  std::string currency_code;
  double intent = 0.0;
  absl::Time assessed_at;
  std::string event_id;
};

struct CompetitorRecord {
  kam::v1::CompetitorActivity kind = kam::v1::COMPETITOR_ACTIVITY_UNSPECIFIED;
  absl::Time observed_at;
  std::string event_id;
};

struct SignalRecord {
  kam::v1::CustomerSignal kind = kam::v1::CUSTOMER_SIGNAL_UNSPECIFIED;
  absl::Time observed_at;
  std::string event_id;
};

struct ManagerChange {
  std::string account_manager;
  bool different = false;  // Names a manager other than the one before.
  absl::Time assigned_at;
  std::string event_id;
};

// A ContactChanged or ContactLeft at the account.
struct PersonnelChange {
  absl::Time occurred_at;
  std::string event_id;
};

struct AccountState {
  StageInputs stage_inputs;

  // Lifecycle and profile.
  bool opened = false;
  kam::v1::AccountOpened opening;
  absl::Time opened_at;
  std::string opened_event_id;
  uint64_t opened_position = 0;
  kam::v1::AccountDossier dossier;
  std::string account_manager;

  // People.
  std::map<std::string, ContactRecord> contacts;  // By contact id, active or not.
  std::vector<ContactDeparture> departures;
  std::vector<PersonnelChange> personnel_changes;

  // Every list below is in business order.
  std::vector<Interaction> interactions;
  std::map<std::string, ComplaintRecord> complaints;  // By complaint id.
  std::vector<DeliveryRecord> deliveries;
  std::vector<ShareRecord> shares;
  std::optional<StandardAssessment> latest_standard;
  std::optional<ProspectRecord> latest_prospect;
  std::vector<CompetitorRecord> competitor_activities;
  std::vector<SignalRecord> customer_signals;
  std::vector<ManagerChange> manager_changes;
};

// Folds the facts of `history` in business order. `opened` is false when no
// AccountOpened is among them.
AccountState FoldAccountState(const AccountHistory& history);

// The active contacts, by contact id.
std::vector<const ContactRecord*> ActiveContacts(const AccountState& state);

// One entry of the stage history.
struct StageChange {
  kam::v1::RelationshipStage stage = kam::v1::RELATIONSHIP_STAGE_UNSPECIFIED;
  absl::Time changed_at;  // On the history's axis.
  std::string caused_by_event_id;
  uint64_t position = 0;
};

// "Every stage change is kept, in axis-time order, with the time and the
// event that caused it; the first entry is DEVELOPMENT at the
// AccountOpened." The stage is evaluated after each fact in axis order;
// times are occurred_at on the OCCURRED axis, recorded_at on the RECORDED
// axis. Empty when no AccountOpened is among the facts.
std::vector<StageChange> StageHistoryOf(const AccountHistory& history, const Rules& rules);

// FoldAccountState and StageHistoryOf of a history that grows by one fact
// at a time, as a replay's does after each event, without folding it whole
// each time: a fact that comes last in business order is folded onto the
// state so far; one that does not (a backdated event) folds the state again.
//
//   AccountFold fold(&rules);
//   fold.Reset(history);
//   history.facts.push_back(next);
//   fold.Extend(history);  // fold.state() == FoldAccountState(history)
class AccountFold {
 public:
  // `rules` is not owned and must outlive the fold.
  explicit AccountFold(const Rules* rules) : rules_(rules) {}

  // Folds `history` whole.
  void Reset(const AccountHistory& history);
  // `history` is the one folded last with one fact added at the end.
  void Extend(const AccountHistory& history);

  const AccountState& state() const { return state_; }
  const std::vector<StageChange>& stage_history() const { return stage_history_; }

 private:
  const Rules* rules_;
  AccountState state_;
  // Business order's key (occurred_at, position) of the last fact folded
  // into state_.
  std::optional<std::pair<absl::Time, uint64_t>> last_;
  // The stage history's own fold, in axis order.
  StageInputs stage_inputs_;
  std::vector<StageChange> stage_history_;
};

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_ACCOUNT_STATE_H_
