// Builders of kam.v1 events and requests for every test binary. Each takes
// what tests vary; the rest is fixed, so that a test names only what it is
// about. Events have no occurred_at unless stamped with At(), because most
// harnesses give the time separately.
//
//   HistoryBuilder h("acme", Day(400));
//   h.Add(Order("o1", 1000), Day(10));
//   stream.Check(At(Day(10), Visit("intro")));
//   log.Append(stream, ExpectedVersion::Any(), {DataOf(Share(60), Day(3))});

#ifndef KAM_TESTS_SUPPORT_ACCOUNT_EVENTS_H_
#define KAM_TESTS_SUPPORT_ACCOUNT_EVENTS_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "eventstore/event_log.h"
#include "kam/v1/accounts.pb.h"
#include "kam/v1/events.pb.h"
#include "projections/time_proto.h"

namespace kam::test_support {

// `event` as a client records it: with its occurred_at and an actor.
inline kam::v1::AccountEvent At(absl::Time occurred_at, kam::v1::AccountEvent event = {}) {
  *event.mutable_occurred_at() = projections::TimeToProto(occurred_at);
  event.set_actor("tester");
  return event;
}

inline kam::v1::RecordRequest Request(const std::string& account_id, const std::string& request_id,
                                      const kam::v1::AccountEvent& event) {
  kam::v1::RecordRequest request;
  request.set_account_id(account_id);
  request.set_request_id(request_id);
  *request.mutable_event() = event;
  return request;
}

// `event` as the log takes it, typed by its kind the way the Accounts service
// types what it records.
inline eventstore::EventData DataOf(kam::v1::AccountEvent event, absl::Time occurred_at) {
  *event.mutable_occurred_at() = projections::TimeToProto(occurred_at);
  eventstore::EventData data;
  data.type = "kam.v1." +
              event.GetDescriptor()->FindFieldByNumber(event.kind_case())->message_type()->name();
  data.data = event.SerializeAsString();
  data.occurred_at = occurred_at;
  return data;
}

// ---------------------------------------------------------------------------
// Account lifecycle

// An empty `manager` leaves the account without one.
inline kam::v1::AccountEvent Opened(const std::string& name = "Acme Steel",
                                    const std::string& manager = "wang",
                                    kam::v1::AccountKind kind = kam::v1::ACCOUNT_KIND_CUSTOMER) {
  kam::v1::AccountEvent e;
  e.mutable_account_opened()->set_name(name);
  e.mutable_account_opened()->set_kind(kind);
  e.mutable_account_opened()->set_account_manager(manager);
  return e;
}

inline kam::v1::AccountEvent ManagerAssigned(const std::string& manager) {
  kam::v1::AccountEvent e;
  e.mutable_account_manager_assigned()->set_account_manager(manager);
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

// ---------------------------------------------------------------------------
// Contacts and interactions

// Named "Name of <id>" unless `name` is given.
inline kam::v1::AccountEvent Contact(
    const std::string& id, const std::string& department, kam::v1::ContactRole role,
    kam::v1::ContactLevel level = kam::v1::CONTACT_LEVEL_UNSPECIFIED,
    const std::string& name = "") {
  kam::v1::AccountEvent e;
  kam::v1::ContactAdded* added = e.mutable_contact_added();
  added->set_contact_id(id);
  added->set_name(name.empty() ? absl::StrCat("Name of ", id) : name);
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

// A visit by one of our people.
inline kam::v1::AccountEvent Visit(kam::v1::VisitorSeniority seniority,
                                   const std::string& visitor = "li",
                                   const std::string& purpose = "") {
  kam::v1::AccountEvent e;
  kam::v1::Visitor* v = e.mutable_visit_recorded()->add_visitors();
  v->set_name(visitor);
  v->set_seniority(seniority);
  e.mutable_visit_recorded()->set_purpose(purpose);
  return e;
}

// A visit that names no visitor.
inline kam::v1::AccountEvent Visit(const std::string& purpose) {
  kam::v1::AccountEvent e;
  e.mutable_visit_recorded()->set_purpose(purpose);
  return e;
}

inline kam::v1::AccountEvent Call(bool executive_level) {
  kam::v1::AccountEvent e;
  e.mutable_communication_logged()->set_channel(kam::v1::COMMUNICATION_CHANNEL_PHONE);
  e.mutable_communication_logged()->set_executive_level(executive_level);
  return e;
}

inline kam::v1::AccountEvent Complaint(
    const std::string& id, uint32_t severity = 2,
    kam::v1::ComplaintCategory category = kam::v1::COMPLAINT_CATEGORY_DELIVERY) {
  kam::v1::AccountEvent e;
  e.mutable_complaint_filed()->set_complaint_id(id);
  e.mutable_complaint_filed()->set_category(category);
  e.mutable_complaint_filed()->set_severity(severity);
  return e;
}

inline kam::v1::AccountEvent Resolved(const std::string& id, bool satisfied = true) {
  kam::v1::AccountEvent e;
  e.mutable_complaint_resolved()->set_complaint_id(id);
  e.mutable_complaint_resolved()->set_customer_satisfied(satisfied);
  return e;
}

// ---------------------------------------------------------------------------
// Business

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

inline kam::v1::AccountEvent Delivered(const std::string& id, bool on_time = true,
                                       bool complete = true) {
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

inline kam::v1::AccountEvent Standard(bool we_meet, bool competitor_meets) {
  kam::v1::AccountEvent e;
  e.mutable_purchasing_standard_assessed()->set_we_meet_standard(we_meet);
  e.mutable_purchasing_standard_assessed()->set_main_competitor_meets_standard(competitor_meets);
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

// A ProspectAssessed with no expected revenue.
inline kam::v1::AccountEvent Intent(double intent) {
  kam::v1::AccountEvent e;
  e.mutable_prospect_assessed()->set_intent(intent);
  return e;
}

inline kam::v1::AccountEvent Prospect(int64_t expected, double intent) {
  kam::v1::AccountEvent e = Intent(intent);
  e.mutable_prospect_assessed()->mutable_expected_annual_revenue()->set_minor_units(expected);
  e.mutable_prospect_assessed()->mutable_expected_annual_revenue()->set_currency_code("CNY");
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

// ---------------------------------------------------------------------------
// Catalog and corrections

inline kam::v1::AccountEvent Launch(const std::string& product_id, const std::string& name,
                                    const std::string& category = "") {
  kam::v1::AccountEvent e;
  e.mutable_product_launched()->set_product_id(product_id);
  e.mutable_product_launched()->set_name(name);
  e.mutable_product_launched()->set_category(category);
  return e;
}

inline kam::v1::AccountEvent Correct(const std::string& event_id,
                                     const kam::v1::AccountEvent& replacement) {
  kam::v1::AccountEvent e;
  e.mutable_event_corrected()->set_corrected_event_id(event_id);
  *e.mutable_event_corrected()->mutable_replacement() = replacement;
  return e;
}

inline kam::v1::AccountEvent Retract(const std::string& event_id) {
  kam::v1::AccountEvent e;
  e.mutable_event_retracted()->set_retracted_event_id(event_id);
  return e;
}

}  // namespace kam::test_support

#endif  // KAM_TESTS_SUPPORT_ACCOUNT_EVENTS_H_
