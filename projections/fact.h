// A Fact is one account event as the rules see it: decoded, with its log
// coordinates, and with any correction already applied. The history layer
// (history.h) decides which facts a view at (as_of, axis) sees; the rules
// (rules.h) only fold and evaluate what they are given.

#ifndef KAM_PROJECTIONS_FACT_H_
#define KAM_PROJECTIONS_FACT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "kam/v1/events.pb.h"

namespace kam::projections {

enum class TimeAxis { kOccurred, kRecorded };

struct Fact {
  std::string event_id;   // The original event's id, also when corrected.
  uint64_t position = 0;  // The original event's global position.
  uint64_t version = 0;   // The original event's stream version.
  // Effective business time: the latest correction's occurred_at if any.
  absl::Time occurred_at;
  // When the original event was recorded (a correction does not move it).
  absl::Time recorded_at;
  // The effective content: the original, or its latest correction's
  // replacement. Never an EventCorrected or EventRetracted.
  kam::v1::AccountEvent event;
  // Ids of the corrections applied, in log order (for explanations).
  std::vector<std::string> corrected_by;
};

// Business order: by occurred_at, ties by log position (DOMAIN.md "Order of
// facts"; both axes).
inline bool BusinessOrder(const Fact& a, const Fact& b) {
  if (a.occurred_at != b.occurred_at) return a.occurred_at < b.occurred_at;
  return a.position < b.position;
}

// What one view evaluation is given.
struct AccountHistory {
  std::string account_id;
  absl::Time as_of;  // Evaluation time T.
  TimeAxis axis = TimeAxis::kOccurred;
  // Facts visible at (as_of, axis), in axis order: business order on the
  // OCCURRED axis, log (position) order on the RECORDED axis. On the
  // RECORDED axis a fact may have occurred_at > as_of (clock skew): it counts
  // for state but not for windows.
  std::vector<Fact> facts;
  // Our catalog's ProductLaunched facts visible at (as_of, axis), for the
  // NEW_PRODUCT opportunity.
  std::vector<Fact> catalog;
  // The last stream version and global position the facts reflect.
  uint64_t version = 0;
  uint64_t position = 0;
};

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_FACT_H_
