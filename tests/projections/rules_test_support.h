// Builders for the rules tests: facts from AccountEvents with chosen
// occurred_at, position and recorded_at, and the common events in one line.
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

inline kam::v1::AccountEvent Opened(kam::v1::AccountKind kind = kam::v1::ACCOUNT_KIND_CUSTOMER,
                                    const std::string& manager = "wang") {
  kam::v1::AccountEvent e;
  e.mutable_account_opened()->set_name("Acme Steel");
  e.mutable_account_opened()->set_kind(kind);
  e.mutable_account_opened()->set_account_manager(manager);
  return e;
}

inline kam::v1::AccountEvent Order(const std::string& id, int64_t amount,
                                   const std::string& currency = "CNY") {
  kam::v1::AccountEvent e;
  e.mutable_order_placed()->set_order_id(id);
  e.mutable_order_placed()->mutable_amount()->set_minor_units(amount);
  e.mutable_order_placed()->mutable_amount()->set_currency_code(currency);
  return e;
}

inline kam::v1::AccountEvent Cancel(const std::string& id) {
  kam::v1::AccountEvent e;
  e.mutable_order_cancelled()->set_order_id(id);
  return e;
}

inline kam::v1::AccountEvent Delivered(const std::string& id, bool on_time, bool complete) {
  kam::v1::AccountEvent e;
  e.mutable_order_delivered()->set_order_id(id);
  e.mutable_order_delivered()->set_on_time(on_time);
  e.mutable_order_delivered()->set_complete(complete);
  return e;
}

inline kam::v1::AccountEvent Share(uint32_t percent,
                                   kam::v1::ShareSource source = kam::v1::SHARE_SOURCE_ESTIMATE) {
  kam::v1::AccountEvent e;
  e.mutable_purchase_share_assessed()->set_share_percent(percent);
  e.mutable_purchase_share_assessed()->set_source(source);
  return e;
}

inline kam::v1::AccountEvent Signed(const std::string& id, kam::v1::AgreementKind kind) {
  kam::v1::AccountEvent e;
  e.mutable_agreement_signed()->set_agreement_id(id);
  e.mutable_agreement_signed()->set_kind(kind);
  return e;
}

inline kam::v1::AccountEvent Ended(const std::string& id) {
  kam::v1::AccountEvent e;
  e.mutable_agreement_ended()->set_agreement_id(id);
  return e;
}

inline kam::v1::AccountEvent Lost(
    kam::v1::LossReason reason = kam::v1::LOSS_REASON_COMPETITOR_PRICE) {
  kam::v1::AccountEvent e;
  e.mutable_account_lost()->set_reason(reason);
  return e;
}

inline kam::v1::AccountEvent Reactivated() {
  kam::v1::AccountEvent e;
  e.mutable_account_reactivated()->set_notes("won back");
  return e;
}

inline kam::v1::AccountEvent Contact(const std::string& id, const std::string& department,
                                     kam::v1::ContactRole role, kam::v1::ContactLevel level) {
  kam::v1::AccountEvent e;
  kam::v1::ContactAdded* added = e.mutable_contact_added();
  added->set_contact_id(id);
  added->set_name(absl::StrCat("Name of ", id));
  added->set_department(department);
  added->set_role(role);
  added->set_level(level);
  return e;
}

inline kam::v1::AccountEvent ContactLeft(const std::string& id) {
  kam::v1::AccountEvent e;
  e.mutable_contact_left()->set_contact_id(id);
  return e;
}

inline kam::v1::AccountEvent ContactRoleChanged(const std::string& id, kam::v1::ContactRole role) {
  kam::v1::AccountEvent e;
  e.mutable_contact_changed()->set_contact_id(id);
  e.mutable_contact_changed()->set_role(role);
  return e;
}

inline kam::v1::AccountEvent Visit(kam::v1::VisitorSeniority seniority) {
  kam::v1::AccountEvent e;
  kam::v1::Visitor* visitor = e.mutable_visit_recorded()->add_visitors();
  visitor->set_name("li");
  visitor->set_seniority(seniority);
  return e;
}

inline kam::v1::AccountEvent Call(bool executive_level) {
  kam::v1::AccountEvent e;
  e.mutable_communication_logged()->set_channel(kam::v1::COMMUNICATION_CHANNEL_PHONE);
  e.mutable_communication_logged()->set_executive_level(executive_level);
  return e;
}

inline kam::v1::AccountEvent Complaint(const std::string& id) {
  kam::v1::AccountEvent e;
  e.mutable_complaint_filed()->set_complaint_id(id);
  e.mutable_complaint_filed()->set_category(kam::v1::COMPLAINT_CATEGORY_DELIVERY);
  e.mutable_complaint_filed()->set_severity(2);
  return e;
}

inline kam::v1::AccountEvent Resolved(const std::string& id, bool satisfied) {
  kam::v1::AccountEvent e;
  e.mutable_complaint_resolved()->set_complaint_id(id);
  e.mutable_complaint_resolved()->set_customer_satisfied(satisfied);
  return e;
}

inline kam::v1::AccountEvent Standard(bool we_meet, bool competitor_meets) {
  kam::v1::AccountEvent e;
  e.mutable_purchasing_standard_assessed()->set_we_meet_standard(we_meet);
  e.mutable_purchasing_standard_assessed()->set_main_competitor_meets_standard(competitor_meets);
  return e;
}

inline kam::v1::AccountEvent Prospect(int64_t expected, double intent) {
  kam::v1::AccountEvent e;
  e.mutable_prospect_assessed()->mutable_expected_annual_revenue()->set_minor_units(expected);
  e.mutable_prospect_assessed()->mutable_expected_annual_revenue()->set_currency_code("CNY");
  e.mutable_prospect_assessed()->set_intent(intent);
  return e;
}

inline kam::v1::AccountEvent Competitor(kam::v1::CompetitorActivity kind) {
  kam::v1::AccountEvent e;
  e.mutable_competitor_activity_observed()->set_competitor("RivalCo");
  e.mutable_competitor_activity_observed()->set_kind(kind);
  return e;
}

inline kam::v1::AccountEvent Signal(kam::v1::CustomerSignal kind) {
  kam::v1::AccountEvent e;
  e.mutable_customer_signal_observed()->set_kind(kind);
  return e;
}

inline kam::v1::AccountEvent ManagerAssigned(const std::string& manager) {
  kam::v1::AccountEvent e;
  e.mutable_account_manager_assigned()->set_account_manager(manager);
  return e;
}

}  // namespace kam::projections::testing

#endif  // KAM_TESTS_PROJECTIONS_RULES_TEST_SUPPORT_H_
