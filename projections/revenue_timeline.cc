#include "projections/revenue_timeline.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "projections/rules.h"
#include "projections/time_proto.h"

namespace kam::projections {

namespace {

// The order content of `event`, or false when it is no order event.
bool OrderContent(const kam::v1::AccountEvent& event, bool* cancel, std::string* order_id,
                  int64_t* amount) {
  if (event.has_order_placed()) {
    *cancel = false;
    *order_id = event.order_placed().order_id();
    *amount = event.order_placed().amount().minor_units();
  } else if (event.has_order_cancelled()) {
    *cancel = true;
    *order_id = event.order_cancelled().order_id();
    *amount = 0;
  } else {
    return false;
  }
  return true;
}

}  // namespace

void RevenueTimeline::Add(const StoredEvent& e) {
  if (e.event.has_event_retracted()) {
    retractions_[e.event.event_retracted().retracted_event_id()].push_back(e.recorded_at);
    return;
  }
  if (e.event.has_event_corrected()) {
    auto it = original_by_id_.find(e.event.event_corrected().corrected_event_id());
    if (it == original_by_id_.end()) return;  // Corrects no order event.
    Original& original = originals_[it->second];
    const kam::v1::AccountEvent& replacement = e.event.event_corrected().replacement();
    Amendment amendment;
    amendment.event_id = e.event_id;
    amendment.recorded_at = e.recorded_at;
    // A replacement without occurred_at keeps the original's time.
    amendment.content.occurred_at = replacement.has_occurred_at()
                                        ? TimeFromProto(replacement.occurred_at())
                                        : original.content.occurred_at;
    amendment.content.is_order =
        OrderContent(replacement, &amendment.content.cancel, &amendment.content.order_id,
                     &amendment.content.amount);
    original.corrections.push_back(std::move(amendment));
    return;
  }
  Original original;
  if (!OrderContent(e.event, &original.content.cancel, &original.content.order_id,
                    &original.content.amount)) {
    return;
  }
  original.event_id = e.event_id;
  original.position = e.position;
  original.recorded_at = e.recorded_at;
  original.content.occurred_at = e.occurred_at;
  original_by_id_[e.event_id] = originals_.size();
  originals_.push_back(std::move(original));
}

bool RevenueTimeline::Retracted(const std::string& event_id, absl::Time as_of,
                                TimeAxis axis) const {
  auto it = retractions_.find(event_id);
  if (it == retractions_.end()) return false;
  for (absl::Time recorded_at : it->second) {
    if (Known(recorded_at, as_of, axis)) return true;
  }
  return false;
}

// As SelectHistory: the last known correction that is not itself retracted,
// else the event as recorded.
const RevenueTimeline::Content* RevenueTimeline::Effective(const Original& original,
                                                           absl::Time as_of, TimeAxis axis) const {
  for (auto c = original.corrections.rbegin(); c != original.corrections.rend(); ++c) {
    if (Known(c->recorded_at, as_of, axis) && !Retracted(c->event_id, as_of, axis)) {
      return &c->content;
    }
  }
  return &original.content;
}

int64_t RevenueTimeline::RevenueAt(absl::Time as_of, TimeAxis axis, absl::Duration window,
                                   absl::Time* next_edge) const {
  struct Order {
    bool placed = false;
    bool cancelled = false;
    std::tuple<absl::Time, uint64_t> placed_key;  // Business order of the placing.
    int64_t amount = 0;
  };
  // By order id, as the fold keeps them; keys point into this timeline.
  absl::flat_hash_map<absl::string_view, Order> orders;
  orders.reserve(originals_.size());
  if (next_edge != nullptr) *next_edge = absl::InfiniteFuture();
  for (const Original& original : originals_) {
    if (axis == TimeAxis::kRecorded && original.recorded_at > as_of) continue;
    if (Retracted(original.event_id, as_of, axis)) continue;
    const Content& content = *Effective(original, as_of, axis);
    if (!content.is_order) continue;
    if (next_edge != nullptr && !content.cancel) {
      // When this placing enters the window (becomes visible) or leaves it.
      absl::Time edge =
          content.occurred_at > as_of ? content.occurred_at : content.occurred_at + window;
      if (edge > as_of) *next_edge = std::min(*next_edge, edge);
    }
    if (axis == TimeAxis::kOccurred && content.occurred_at > as_of) continue;
    Order& order = orders[content.order_id];
    if (content.cancel) {
      order.cancelled = true;
      continue;
    }
    const std::tuple<absl::Time, uint64_t> key{content.occurred_at, original.position};
    if (!order.placed || order.placed_key < key) {
      order.placed = true;
      order.placed_key = key;
      order.amount = content.amount;
    }
  }
  // Summed in the fold's order (placed_at, then order id) with saturation,
  // as TrailingNetRevenue does.
  std::vector<std::tuple<absl::Time, absl::string_view, int64_t>> counted;
  for (const auto& [id, order] : orders) {
    const absl::Time placed_at = std::get<0>(order.placed_key);
    if (order.placed && !order.cancelled && InTrailingWindow(placed_at, as_of, window)) {
      counted.emplace_back(placed_at, id, order.amount);
    }
  }
  std::sort(counted.begin(), counted.end());
  int64_t sum = 0;
  for (const auto& [at, id, amount] : counted) sum = SaturatingAdd(sum, amount);
  return sum;
}

}  // namespace kam::projections
