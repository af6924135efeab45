// Builders for the rules tests: facts from AccountEvents with chosen
// occurred_at, position and recorded_at; the events themselves come from
// tests/support/account_events.h.
//
//   HistoryBuilder h("acme", Day(400));
//   h.Add(Opened(), Day(0));
//   h.Add(Order("o1", 1000), Day(10));
//   AccountState state = FoldAccountState(h.history());

#ifndef KAM_TESTS_PROJECTIONS_RULES_TEST_SUPPORT_H_
#define KAM_TESTS_PROJECTIONS_RULES_TEST_SUPPORT_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "kam/v1/events.pb.h"
#include "projections/fact.h"
#include "projections/rules_config.h"
#include "tests/support/account_events.h"

namespace kam::projections::testing {

// Day 0 is 2024-01-01T00:00:00Z; every test time is an offset from it.
inline absl::Time Day(double days) {
  return absl::FromUnixSeconds(1704067200) + absl::Hours(24) * days;
}

// Makes facts with positions 1, 2, 3... in the order they are added (log
// order), each with an event id "e<position>".
class HistoryBuilder {
 public:
  explicit HistoryBuilder(std::string account_id, absl::Time as_of,
                          TimeAxis axis = TimeAxis::kOccurred) {
    history_.account_id = std::move(account_id);
    history_.as_of = as_of;
    history_.axis = axis;
  }

  // Adds an event that occurred at `occurred_at`, recorded at the same time
  // unless `recorded_at` is given. Returns its event id.
  std::string Add(kam::v1::AccountEvent event, absl::Time occurred_at,
                  absl::Time recorded_at = absl::InfinitePast()) {
    Fact fact;
    fact.position = ++position_;
    fact.version = fact.position;
    fact.event_id = absl::StrCat("e", fact.position);
    fact.occurred_at = occurred_at;
    fact.recorded_at = recorded_at == absl::InfinitePast() ? occurred_at : recorded_at;
    fact.event = std::move(event);
    history_.facts.push_back(fact);
    history_.version = fact.version;
    history_.position = fact.position;
    return fact.event_id;
  }

  // Adds a catalog ProductLaunched; returns its event id.
  std::string Launch(const std::string& product_id, absl::Time occurred_at) {
    Fact fact;
    fact.position = ++position_;
    fact.event_id = absl::StrCat("c", fact.position);
    fact.occurred_at = occurred_at;
    fact.recorded_at = occurred_at;
    fact.event.mutable_product_launched()->set_product_id(product_id);
    history_.catalog.push_back(fact);
    return fact.event_id;
  }

  void set_as_of(absl::Time as_of) { history_.as_of = as_of; }
  AccountHistory& history() { return history_; }

  // The history as a view at as_of on the OCCURRED axis would see it: facts
  // that occurred <= as_of, in business order.
  AccountHistory OccurredView() const {
    AccountHistory view = history_;
    view.facts.clear();
    for (const Fact& f : history_.facts) {
      if (f.occurred_at <= history_.as_of) view.facts.push_back(f);
    }
    std::stable_sort(view.facts.begin(), view.facts.end(), BusinessOrder);
    return view;
  }

 private:
  AccountHistory history_;
  uint64_t position_ = 0;
};

// The event builders, as t::Order(...) etc. in the rules tests.
using ::kam::test_support::Call;
using ::kam::test_support::Cancel;
using ::kam::test_support::Competitor;
using ::kam::test_support::Complaint;
using ::kam::test_support::Contact;
using ::kam::test_support::ContactLeft;
using ::kam::test_support::ContactRoleChanged;
using ::kam::test_support::Delivered;
using ::kam::test_support::Ended;
using ::kam::test_support::Lost;
using ::kam::test_support::ManagerAssigned;
using ::kam::test_support::Opened;
using ::kam::test_support::Order;
using ::kam::test_support::Prospect;
using ::kam::test_support::Reactivated;
using ::kam::test_support::Resolved;
using ::kam::test_support::Share;
using ::kam::test_support::Signal;
using ::kam::test_support::Signed;
using ::kam::test_support::Standard;
using ::kam::test_support::Visit;

// The two contacts of a well-covered customer: c1, an executive decision
// maker on the board, and c2, a purchaser at management level.
inline kam::v1::AccountEvent BoardDecisionMaker() {
  return Contact("c1", "board", kam::v1::CONTACT_ROLE_DECISION_MAKER,
                 kam::v1::CONTACT_LEVEL_EXECUTIVE);
}
inline kam::v1::AccountEvent PurchasingManager() {
  return Contact("c2", "purchasing", kam::v1::CONTACT_ROLE_PURCHASER,
                 kam::v1::CONTACT_LEVEL_MANAGEMENT);
}

}  // namespace kam::projections::testing

#endif  // KAM_TESTS_PROJECTIONS_RULES_TEST_SUPPORT_H_
