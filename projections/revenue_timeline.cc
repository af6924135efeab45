#include "projections/revenue_timeline.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "projections/rules.h"
#include "projections/time_proto.h"

namespace kam::projections {

bool RevenueTimeline::OrderContent(const kam::v1::AccountEvent& event, Content* content) {
  const std::string* order_id = nullptr;
  if (event.has_order_placed()) {
    content->cancel = false;
    order_id = &event.order_placed().order_id();
    content->amount = event.order_placed().amount().minor_units();
  } else if (event.has_order_cancelled()) {
    content->cancel = true;
    order_id = &event.order_cancelled().order_id();
    content->amount = 0;
  } else {
    return false;
  }
  auto [it, added] = order_by_id_.try_emplace(*order_id, order_ids_.size());
  if (added) order_ids_.push_back(*order_id);
  content->order = it->second;
  return true;
}

std::vector<absl::Time>& RevenueTimeline::RetractionsOf(Target target) {
  Original& original = originals_[target.original];
  return target.correction == 0 ? original.retracted_at
                                : original.corrections[target.correction - 1].retracted_at;
}

void RevenueTimeline::Register(const std::string& event_id, Target target) {
  target_by_event_id_[event_id] = target;
  if (auto it = pending_retractions_.find(event_id); it != pending_retractions_.end()) {
    RetractionsOf(target) = std::move(it->second);
    pending_retractions_.erase(it);
  }
}

void RevenueTimeline::Add(const StoredEvent& e) {
  if (e.event.has_event_retracted()) {
    const std::string& named = e.event.event_retracted().retracted_event_id();
    auto it = target_by_event_id_.find(named);
    if (it == target_by_event_id_.end()) {
      pending_retractions_[named].push_back(e.recorded_at);
      return;
    }
    RetractionsOf(it->second).push_back(e.recorded_at);
    return;
  }
  if (e.event.has_event_corrected()) {
    auto it = target_by_event_id_.find(e.event.event_corrected().corrected_event_id());
    // Corrects no order event (corrections name originals, never corrections).
    if (it == target_by_event_id_.end() || it->second.correction != 0) return;
    const size_t index = it->second.original;
    const kam::v1::AccountEvent& replacement = e.event.event_corrected().replacement();
    Amendment amendment;
    amendment.recorded_at = e.recorded_at;
    // A replacement without occurred_at keeps the original's time.
    amendment.content.occurred_at = replacement.has_occurred_at()
                                        ? TimeFromProto(replacement.occurred_at())
                                        : originals_[index].content.occurred_at;
    amendment.content.is_order = OrderContent(replacement, &amendment.content);
    originals_[index].corrections.push_back(std::move(amendment));
    Register(e.event_id, Target{index, originals_[index].corrections.size()});
    return;
  }
  Original original;
  if (!OrderContent(e.event, &original.content)) return;
  original.position = e.position;
  original.recorded_at = e.recorded_at;
  original.content.occurred_at = e.occurred_at;
  originals_.push_back(std::move(original));
  Register(e.event_id, Target{originals_.size() - 1, 0});
}

bool RevenueTimeline::Retracted(const std::vector<absl::Time>& retracted_at, absl::Time as_of,
                                TimeAxis axis) const {
  for (absl::Time recorded_at : retracted_at) {
    if (Known(recorded_at, as_of, axis)) return true;
  }
  return false;
}

// As SelectHistory: the last known correction that is not itself retracted,
// else the event as recorded.
const RevenueTimeline::Content* RevenueTimeline::Effective(const Original& original,
                                                           absl::Time as_of, TimeAxis axis) const {
  for (auto c = original.corrections.rbegin(); c != original.corrections.rend(); ++c) {
    if (Known(c->recorded_at, as_of, axis) && !Retracted(c->retracted_at, as_of, axis)) {
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
  // By order number, as the fold keeps them by order id.
  std::vector<Order> orders(order_ids_.size());
  if (next_edge != nullptr) *next_edge = absl::InfiniteFuture();
  for (const Original& original : originals_) {
    if (axis == TimeAxis::kRecorded && original.recorded_at > as_of) continue;
    if (Retracted(original.retracted_at, as_of, axis)) continue;
    const Content& content = *Effective(original, as_of, axis);
    if (!content.is_order) continue;
    if (next_edge != nullptr && !content.cancel) {
      // When this placing enters the window (becomes visible) or leaves it.
      absl::Time edge =
          content.occurred_at > as_of ? content.occurred_at : content.occurred_at + window;
      if (edge > as_of) *next_edge = std::min(*next_edge, edge);
    }
    if (axis == TimeAxis::kOccurred && content.occurred_at > as_of) continue;
    Order& order = orders[content.order];
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
  const auto counts = [&](const Order& order) {
    return order.placed && !order.cancelled &&
           InTrailingWindow(std::get<0>(order.placed_key), as_of, window);
  };
  int64_t sum = 0;
  uint64_t magnitude = 0;  // The sum of |amount|.
  bool fits = true;
  for (const Order& order : orders) {
    if (!counts(order)) continue;
    const uint64_t size = order.amount < 0 ? 0 - static_cast<uint64_t>(order.amount)
                                           : static_cast<uint64_t>(order.amount);
    fits = fits && !__builtin_add_overflow(magnitude, size, &magnitude) &&
           magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (fits) sum += order.amount;
  }
  // No partial sum can overflow in any order, so the plain sum is the fold's.
  if (fits) return sum;
  // Else summed in the fold's order (placed_at, then order id) with
  // saturation, as TrailingNetRevenue does.
  std::vector<std::tuple<absl::Time, absl::string_view, int64_t>> counted;
  for (size_t i = 0; i < orders.size(); ++i) {
    if (counts(orders[i])) {
      counted.emplace_back(std::get<0>(orders[i].placed_key), order_ids_[i], orders[i].amount);
    }
  }
  std::sort(counted.begin(), counted.end());
  sum = 0;
  for (const auto& [at, id, amount] : counted) sum = SaturatingAdd(sum, amount);
  return sum;
}

}  // namespace kam::projections
