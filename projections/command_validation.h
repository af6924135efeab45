// Command validation: whether one AccountEvent may be recorded next in its
// stream (DOMAIN.md "Commands are validated against the account's state as
// recorded so far, in log order"; API.md "kam.v1.Accounts").
//
// The state is RecordedState, folded from the stream's events in log
// (version) order with corrections and retractions applied, never in
// business order: a command is checked against what was recorded before it,
// whatever the occurred_at of either. So a late-recorded ComplaintResolved
// back-dated before its ComplaintFiled is accepted once the filing is
// recorded, and a ComplaintResolved recorded before the filing is refused
// even if its occurred_at is later. The only business-time rule is that no
// event of an account may occur before the account's AccountOpened.
//
//   RecordedState state;
//   for (const StoredEvent& e : stream_events) state.Apply(e);
//   absl::Status valid = ValidateCommand("acme", state, event, clock.Now(), rules);
//   if (valid.ok()) { /* append, then */ state.Apply(recorded); }
//
// Codes: NOT_FOUND for an event of an account that is not open;
// ALREADY_EXISTS for an AccountOpened of an open account; INVALID_ARGUMENT for
// a command wrong on its own (no kind, a value out of range, a foreign
// currency, a bad occurred_at, the wrong stream); FAILED_PRECONDITION for a
// command that contradicts the recorded state (an unknown order, a complaint
// that is not open, a contact who is not active, a refused correction, an
// occurred_at before the opening). Every message starts with the request
// field it is about, e.g. "event.complaint_resolved.complaint_id: complaint
// 'c-7' is not open (never filed at account 'acme')".
//
// Pure functions and a value type: safe to use from any thread as long as
// one RecordedState is not changed while it is read.

#ifndef KAM_PROJECTIONS_COMMAND_VALIDATION_H_
#define KAM_PROJECTIONS_COMMAND_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kam/v1/events.pb.h"
#include "projections/history.h"
#include "projections/rules_config.h"

namespace kam::projections {

// How far in the future an occurred_at may lie: the clients' clock skew.
inline constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);
// No fact occurred before 2000-01-01T00:00:00Z.
inline absl::Time EarliestOccurredAt() { return absl::FromUnixSeconds(946684800); }

// One event of the stream as validation remembers it: kind, identity and
// business time, not its content.
struct RecordedEntry {
  std::string event_id;
  uint64_t version = 0;
  kam::v1::AccountEvent::KindCase kind = kam::v1::AccountEvent::KIND_NOT_SET;
  // The order, complaint, contact, agreement or product id of the event; for
  // an EventCorrected or EventRetracted the id of the event it names.
  std::string identity;
  absl::Time original_occurred_at;
  // With the last correction that is not retracted applied. For an
  // EventCorrected: its replacement's occurred_at, InfinitePast when the
  // replacement keeps the original's.
  absl::Time occurred_at;
  bool retracted = false;
};

// The state of one stream (an account's, or the catalog) as recorded so far,
// in log order, with corrections and retractions applied: an event reads as
// its last correction that is not retracted; a retracted event never
// happened.
class RecordedState {
 public:
  // Folds the next event of the stream; events must come in version order.
  // Events of other kinds of data (not AccountEvents) are simply not given.
  void Apply(const StoredEvent& e);

  // Number of events applied.
  size_t size() const { return entries_.size(); }

  // An AccountOpened is recorded and not retracted.
  bool opened() const { return !opened_event_id_.empty(); }
  const std::string& opened_event_id() const { return opened_event_id_; }
  // The (corrected) occurred_at of the AccountOpened.
  absl::Time opened_at() const { return opened_at_; }

  // The event recorded with `event_id` in this stream, or nullptr.
  const RecordedEntry* Find(absl::string_view event_id) const;
  const std::vector<RecordedEntry>& entries() const { return entries_; }

  // What is known of one complaint, contact, agreement, order or product:
  // whether it is active and the event that last changed that.
  struct Tracked {
    bool active = false;  // Complaint open, contact active, agreement active,
                          // order not cancelled, product launched.
    std::string event_id;
  };
  // nullptr when never recorded (or only by retracted events).
  const Tracked* Complaint(absl::string_view complaint_id) const;
  const Tracked* Contact(absl::string_view contact_id) const;
  const Tracked* Agreement(absl::string_view agreement_id) const;
  const Tracked* Order(absl::string_view order_id) const;
  const Tracked* Product(absl::string_view product_id) const;

 private:
  void FoldEntry(const RecordedEntry& entry);
  void Refold();

  std::vector<RecordedEntry> entries_;
  absl::flat_hash_map<std::string, size_t> by_event_id_;

  // Derived from the entries that are not retracted, in log order.
  std::string opened_event_id_;
  absl::Time opened_at_ = absl::InfinitePast();
  absl::flat_hash_map<std::string, Tracked> complaints_;
  absl::flat_hash_map<std::string, Tracked> contacts_;
  absl::flat_hash_map<std::string, Tracked> agreements_;
  absl::flat_hash_map<std::string, Tracked> orders_;
  absl::flat_hash_map<std::string, Tracked> products_;
};

// Whether `event` may be recorded next in the stream whose state is
// `recorded`: the account `account_id`'s, or the catalog's when account_id
// is empty. `now` is the server's time; amounts must be in
// rules.reporting_currency. OK or an error as described at the top.
absl::Status ValidateCommand(absl::string_view account_id, const RecordedState& recorded,
                             const kam::v1::AccountEvent& event, absl::Time now,
                             const Rules& rules);

// The same checks as ValidateCommand that need no state: a kind is set, the
// values are in range, the currency, occurred_at within [2000, now + skew].
// `path` prefixes the field names ("event").
absl::Status ValidateEventFields(const kam::v1::AccountEvent& event, absl::string_view path,
                                 absl::Time now, const Rules& rules);

// "kam.v1.VisitRecorded" for a visit_recorded event: the log type of the
// event's kind. Empty when no kind is set.
std::string EventTypeOf(const kam::v1::AccountEvent& event);

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_COMMAND_VALIDATION_H_
