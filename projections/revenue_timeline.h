// One account's orders, kept compactly for the portfolio-wide figures: the
// trailing net revenue at any time T on either axis without decoding or
// copying events. It applies corrections and retractions exactly as
// SelectHistory does and counts orders as TrailingNetRevenue does (the
// equivalence is tested on a generated portfolio), so the ABC ranking of
// every account at an arbitrary as_of costs a pass over small structs.
//
//   RevenueTimeline timeline;
//   for (const StoredEvent& e : revenue_events) timeline.Add(e);  // Log order.
//   absl::Time edge;
//   int64_t revenue = timeline.RevenueAt(as_of, TimeAxis::kRecorded, Days(365), &edge);

#ifndef KAM_PROJECTIONS_REVENUE_TIMELINE_H_
#define KAM_PROJECTIONS_REVENUE_TIMELINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "projections/fact.h"
#include "projections/history.h"

namespace kam::projections {

class RevenueTimeline {
 public:
  // Takes one of the account's revenue events (see IsRevenueEvent), in log
  // order; other events are ignored.
  void Add(const StoredEvent& e);

  // "The amounts of orders placed in the window that are not cancelled as
  // known at T", for the trailing `window` ending at `as_of` on `axis`.
  // *next_edge (optional) becomes the first time after as_of at which an
  // order enters or leaves the window, were nothing else to happen.
  int64_t RevenueAt(absl::Time as_of, TimeAxis axis, absl::Duration window,
                    absl::Time* next_edge) const;

  // Order events held: a cheap measure of how busy the account is.
  size_t size() const { return originals_.size(); }

 private:
  // An order event's content as it reads after an amendment or as recorded.
  struct Content {
    bool is_order = true;  // False: corrected into another kind of event.
    bool cancel = false;   // OrderCancelled, else OrderPlaced.
    uint32_t order = 0;    // Index into order_ids_.
    int64_t amount = 0;
    absl::Time occurred_at;
  };
  struct Amendment {
    absl::Time recorded_at;
    Content content;
    std::vector<absl::Time> retracted_at;  // Recorded times of retractions naming it.
  };
  struct Original {
    uint64_t position = 0;
    absl::Time recorded_at;
    Content content;
    std::vector<Amendment> corrections;  // Log order.
    std::vector<absl::Time> retracted_at;
  };
  // Where an event id's retractions go: an original, or one of its corrections.
  struct Target {
    size_t original = 0;
    size_t correction = 0;  // 0: the original itself; else correction - 1.
  };

  bool Known(absl::Time recorded_at, absl::Time as_of, TimeAxis axis) const {
    return axis == TimeAxis::kOccurred || recorded_at <= as_of;
  }
  bool Retracted(const std::vector<absl::Time>& retracted_at, absl::Time as_of,
                 TimeAxis axis) const;
  const Content* Effective(const Original& original, absl::Time as_of, TimeAxis axis) const;
  // Sets content's order fields from `event`; false when it is no order event.
  bool OrderContent(const kam::v1::AccountEvent& event, Content* content);
  std::vector<absl::Time>& RetractionsOf(Target target);
  // Registers `event_id` as `target` and hands it the retractions that named it before.
  void Register(const std::string& event_id, Target target);

  std::vector<Original> originals_;
  // Order ids, numbered in order of first sight: RevenueAt groups by number
  // instead of hashing strings for every order at every call.
  std::vector<std::string> order_ids_;
  absl::flat_hash_map<std::string, uint32_t> order_by_id_;
  absl::flat_hash_map<std::string, Target> target_by_event_id_;
  // Retractions naming an event id not (yet) held: a non-order event, or one
  // recorded later (never by Accounts, possible through EventStore.Append).
  absl::flat_hash_map<std::string, std::vector<absl::Time>> pending_retractions_;
};

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_REVENUE_TIMELINE_H_
