// Which facts a view at (as_of, axis) sees, with corrections applied
// (DOMAIN.md "Corrections" and "Which events a view at time T sees").
//
//   std::vector<StoredEvent> events = ...;  // One account's stream.
//   absl::StatusOr<AccountHistory> history =
//       SelectHistory("acme", events, catalog, as_of, TimeAxis::kRecorded);

#ifndef KAM_PROJECTIONS_HISTORY_H_
#define KAM_PROJECTIONS_HISTORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "eventstore/event_log.h"
#include "kam/v1/events.pb.h"
#include "projections/fact.h"

namespace kam::projections {

// A recorded event with its data decoded.
struct StoredEvent {
  std::string event_id;
  uint64_t version = 0;
  uint64_t position = 0;
  absl::Time occurred_at;
  absl::Time recorded_at;
  kam::v1::AccountEvent event;
};

// True when `type` names the message of `event`'s oneof case, e.g.
// "kam.v1.OrderPlaced": events that fail this are not account events and
// every projection ignores them.
bool KindMatchesType(const kam::v1::AccountEvent& event, absl::string_view type);

// Decodes a log event's data as an AccountEvent. DataLoss when it does not
// parse or its kind does not match its type (the Accounts service never
// records such data).
absl::StatusOr<StoredEvent> DecodeStoredEvent(const eventstore::RecordedEvent& recorded);

// The facts of one stream visible at (as_of, axis), corrections applied, in
// axis order. `events` are the stream's events in version order; `catalog`
// the catalog stream's (may be empty). On the OCCURRED axis every correction
// recorded so far applies, on the RECORDED axis only those recorded <= as_of.
// An event reads as its last applicable correction that is not retracted, or
// as first recorded; a retracted event is not seen at all.
AccountHistory SelectHistory(absl::string_view account_id, absl::Span<const StoredEvent> events,
                             absl::Span<const StoredEvent> catalog, absl::Time as_of,
                             TimeAxis axis);
// The same, moving the events' content into the facts instead of copying it.
AccountHistory SelectHistory(absl::string_view account_id, std::vector<StoredEvent>&& events,
                             absl::Span<const StoredEvent> catalog, absl::Time as_of,
                             TimeAxis axis);

// The catalog's facts at (as_of, axis), for SelectHistoryWithCatalog: select them
// once when many accounts are evaluated at the same time.
std::vector<Fact> SelectCatalog(absl::Span<const StoredEvent> catalog, absl::Time as_of,
                                TimeAxis axis);
AccountHistory SelectHistoryWithCatalog(absl::string_view account_id,
                                        std::vector<StoredEvent>&& events,
                                        std::vector<Fact> catalog_facts, absl::Time as_of,
                                        TimeAxis axis);

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_HISTORY_H_
