#include "projections/history.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "projections/time_proto.h"

namespace kam::projections {

namespace {

bool Known(const StoredEvent& e, absl::Time as_of, TimeAxis axis) {
  // On the OCCURRED axis every correction recorded so far applies: a
  // mistaken fact was never true.
  return axis == TimeAxis::kOccurred || e.recorded_at <= as_of;
}

// Corrections and retractions known at (as_of, axis), by the id they name.
struct Amendments {
  absl::flat_hash_set<std::string> retracted;
  // Corrections in log order, per corrected event id.
  absl::flat_hash_map<std::string, std::vector<const StoredEvent*>> corrections;
};

Amendments CollectAmendments(absl::Span<const StoredEvent> events, absl::Time as_of,
                             TimeAxis axis) {
  Amendments amendments;
  for (const StoredEvent& e : events) {
    if (!Known(e, as_of, axis)) continue;
    if (e.event.has_event_retracted()) {
      amendments.retracted.insert(e.event.event_retracted().retracted_event_id());
    } else if (e.event.has_event_corrected()) {
      amendments.corrections[e.event.event_corrected().corrected_event_id()].push_back(&e);
    }
  }
  return amendments;
}

// The effective fact of an original event, or false when it is retracted.
// With `consume`, the original's content is moved out instead of copied.
bool EffectiveFact(StoredEvent& original, bool consume, const Amendments& amendments, Fact* fact) {
  if (amendments.retracted.contains(original.event_id)) return false;
  fact->event_id = original.event_id;
  fact->position = original.position;
  fact->version = original.version;
  fact->recorded_at = original.recorded_at;
  fact->occurred_at = original.occurred_at;
  auto it = amendments.corrections.find(original.event_id);
  if (it == amendments.corrections.end() && consume) {
    fact->event = std::move(original.event);
    return true;
  }
  fact->event = original.event;
  if (it == amendments.corrections.end()) return true;
  // The last correction that is not itself retracted wins.
  for (auto c = it->second.rbegin(); c != it->second.rend(); ++c) {
    if (amendments.retracted.contains((*c)->event_id)) continue;
    const kam::v1::AccountEvent& replacement = (*c)->event.event_corrected().replacement();
    fact->event = replacement;
    if (replacement.has_occurred_at()) {
      fact->occurred_at = TimeFromProto(replacement.occurred_at());
    }
    break;
  }
  for (const StoredEvent* c : it->second) {
    if (!amendments.retracted.contains(c->event_id)) fact->corrected_by.push_back(c->event_id);
  }
  return true;
}

std::vector<Fact> VisibleFacts(absl::Span<StoredEvent> events, bool consume, absl::Time as_of,
                               TimeAxis axis) {
  const Amendments amendments = CollectAmendments(events, as_of, axis);
  std::vector<Fact> facts;
  facts.reserve(events.size());
  for (StoredEvent& e : events) {
    if (e.event.has_event_corrected() || e.event.has_event_retracted()) continue;
    if (axis == TimeAxis::kRecorded && e.recorded_at > as_of) continue;
    Fact fact;
    if (!EffectiveFact(e, consume, amendments, &fact)) continue;
    if (axis == TimeAxis::kOccurred && fact.occurred_at > as_of) continue;
    facts.push_back(std::move(fact));
  }
  // Streams are mostly recorded in business order already; sorting moves
  // whole events, so only sort when needed.
  if (axis == TimeAxis::kOccurred && !std::is_sorted(facts.begin(), facts.end(), BusinessOrder)) {
    std::stable_sort(facts.begin(), facts.end(), BusinessOrder);
  }
  return facts;
}

}  // namespace

bool KindMatchesType(const kam::v1::AccountEvent& event, absl::string_view type) {
  const google::protobuf::FieldDescriptor* field =
      kam::v1::AccountEvent::descriptor()->FindFieldByNumber(event.kind_case());
  return field != nullptr && field->message_type() != nullptr &&
         field->message_type()->full_name() == type;
}

absl::StatusOr<StoredEvent> DecodeStoredEvent(const eventstore::RecordedEvent& recorded) {
  StoredEvent e;
  if (!e.event.ParseFromString(recorded.data) || !KindMatchesType(e.event, recorded.type)) {
    return absl::DataLossError(absl::StrCat("event at position ", recorded.position, " (",
                                            recorded.type,
                                            ") does not parse as kam.v1.AccountEvent"));
  }
  e.event_id = recorded.event_id;
  e.version = recorded.version;
  e.position = recorded.position;
  e.occurred_at = recorded.occurred_at;
  e.recorded_at = recorded.recorded_at;
  return e;
}

namespace {

AccountHistory SelectHistoryImpl(absl::string_view account_id, absl::Span<StoredEvent> events,
                                 bool consume, absl::Span<const StoredEvent> catalog,
                                 absl::Time as_of, TimeAxis axis) {
  AccountHistory history;
  history.account_id = std::string(account_id);
  history.as_of = as_of;
  history.axis = axis;
  // Coordinates first: consuming the events below empties their content only.
  for (const StoredEvent& e : events) {
    if (axis == TimeAxis::kRecorded && e.recorded_at > as_of) break;
    history.version = e.version;
    history.position = e.position;
  }
  history.facts = VisibleFacts(events, consume, as_of, axis);
  // The catalog is shared: read, never consumed (the const_cast only lets
  // both paths share one loop).
  history.catalog = VisibleFacts(
      absl::Span<StoredEvent>(const_cast<StoredEvent*>(catalog.data()), catalog.size()), false,
      as_of, axis);
  return history;
}

}  // namespace

AccountHistory SelectHistory(absl::string_view account_id, absl::Span<const StoredEvent> events,
                             absl::Span<const StoredEvent> catalog, absl::Time as_of,
                             TimeAxis axis) {
  // Never consumed: the const_cast only lets both paths share one loop.
  absl::Span<StoredEvent> mutable_events(const_cast<StoredEvent*>(events.data()), events.size());
  return SelectHistoryImpl(account_id, mutable_events, false, catalog, as_of, axis);
}

AccountHistory SelectHistory(absl::string_view account_id, std::vector<StoredEvent>&& events,
                             absl::Span<const StoredEvent> catalog, absl::Time as_of,
                             TimeAxis axis) {
  return SelectHistoryImpl(account_id, absl::MakeSpan(events), true, catalog, as_of, axis);
}

std::vector<Fact> SelectCatalog(absl::Span<const StoredEvent> catalog, absl::Time as_of,
                                TimeAxis axis) {
  return VisibleFacts(
      absl::Span<StoredEvent>(const_cast<StoredEvent*>(catalog.data()), catalog.size()), false,
      as_of, axis);
}

AccountHistory SelectHistoryWithCatalog(absl::string_view account_id,
                                        std::vector<StoredEvent>&& events,
                                        std::vector<Fact> catalog_facts, absl::Time as_of,
                                        TimeAxis axis) {
  AccountHistory history =
      SelectHistoryImpl(account_id, absl::MakeSpan(events), true, {}, as_of, axis);
  history.catalog = std::move(catalog_facts);
  return history;
}

}  // namespace kam::projections
