// Command validation (projections/command_validation.h): every rule of
// API.md "kam.v1.Accounts" and DOMAIN.md "Corrections", with the status code
// and a message naming the field.

#include "projections/command_validation.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kam/v1/events.pb.h"
#include "tests/support/account_events.h"
#include "tools/generator/portfolio_generator.h"

namespace kam::projections {
namespace {

using kam::v1::AccountEvent;

// Day 0 is 2024-01-01T00:00:00Z.
absl::Time Day(double days) { return absl::FromUnixSeconds(1704067200) + absl::Hours(24) * days; }

const absl::Time kNow = Day(200);

using test_support::At;
namespace ts = ::kam::test_support;

// Each kind's time unless a test says otherwise: after the opening, before kNow.
AccountEvent Opened(absl::Time t = Day(0)) { return At(t, ts::Opened("Acme Steel", "")); }
AccountEvent ContactAdded(const std::string& id) {
  return At(Day(5), ts::Contact(id, "", kam::v1::CONTACT_ROLE_DECISION_MAKER,
                                kam::v1::CONTACT_LEVEL_UNSPECIFIED, "Li Wei"));
}
AccountEvent Visit(absl::Time t = Day(10)) { return At(t, ts::Visit("intro")); }
AccountEvent Complaint(const std::string& id, uint32_t severity = 2, absl::Time t = Day(10)) {
  return At(t, ts::Complaint(id, severity, kam::v1::COMPLAINT_CATEGORY_UNSPECIFIED));
}
AccountEvent Order(const std::string& id, int64_t amount = 1000,
                   const std::string& currency = "CNY", absl::Time t = Day(10)) {
  return At(t, ts::Order(id, amount, currency));
}
AccountEvent Resolved(const std::string& id, absl::Time t = Day(20)) {
  return At(t, ts::Resolved(id));
}
AccountEvent Delivered(const std::string& id) { return At(Day(30), ts::Delivered(id)); }
AccountEvent Cancelled(const std::string& id) { return At(Day(30), ts::Cancel(id)); }
AccountEvent Share(uint32_t percent) { return At(Day(40), ts::Share(percent)); }
AccountEvent Prospect(double intent) { return At(Day(40), ts::Intent(intent)); }
AccountEvent ContactLeft(const std::string& id) { return At(Day(50), ts::ContactLeft(id)); }
AccountEvent Launch(const std::string& product_id) {
  return At(Day(3), ts::Launch(product_id, "Load cell X"));
}
AccountEvent Correct(const std::string& event_id, const AccountEvent& replacement) {
  return At(Day(60), ts::Correct(event_id, replacement));
}
AccountEvent Retract(const std::string& event_id) { return At(Day(60), ts::Retract(event_id)); }

// One stream's recorded state, built by recording events that must be valid.
class Stream {
 public:
  explicit Stream(std::string account_id = "acme") : account_id_(std::move(account_id)) {}

  // Validates and applies `event`; returns its event id "e<version>".
  std::string Record(const AccountEvent& event) {
    absl::Status status = Check(event);
    EXPECT_TRUE(status.ok()) << status;
    StoredEvent stored;
    stored.event_id = absl::StrCat("e", version_);
    stored.version = version_;
    stored.position = version_ + 1;
    stored.occurred_at = absl::FromUnixSeconds(event.occurred_at().seconds()) +
                         absl::Nanoseconds(event.occurred_at().nanos());
    stored.recorded_at = kNow;
    stored.event = event;
    state_.Apply(stored);
    ++version_;
    return stored.event_id;
  }

  absl::Status Check(const AccountEvent& event, const projections::Rules& rules = Rules()) const {
    return ValidateCommand(account_id_, state_, event, kNow, rules);
  }

  const RecordedState& state() const { return state_; }

 private:
  std::string account_id_;
  RecordedState state_;
  uint64_t version_ = 0;
};

// The status has `code` and a message starting with `field` and containing
// `text`.
void ExpectRefused(const absl::Status& status, absl::StatusCode code, const std::string& field,
                   const std::string& text = "") {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), field + ":")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), text)) << status << "\nwanted: " << text;
}

Stream OpenAccount() {
  Stream s;
  s.Record(Opened());
  return s;
}

TEST(CommandValidationTest, EventWithoutKindIsInvalidArgument) {
  Stream s = OpenAccount();
  ExpectRefused(s.Check(At(Day(10))), absl::StatusCode::kInvalidArgument, "event",
                "no event kind is set");
}

TEST(CommandValidationTest, UnknownAccountIsNotFound) {
  Stream s;
  ExpectRefused(s.Check(Visit()), absl::StatusCode::kNotFound, "account_id",
                "account 'acme' is not open; record its AccountOpened first");
  EXPECT_TRUE(s.Check(Opened()).ok());
}

TEST(CommandValidationTest, OpeningAnOpenAccountIsAlreadyExists) {
  Stream s = OpenAccount();
  ExpectRefused(s.Check(Opened(Day(1))), absl::StatusCode::kAlreadyExists, "event.account_opened",
                "already open");
}

TEST(CommandValidationTest, AccountOpenedNeedsAName) {
  Stream s;
  AccountEvent e = Opened();
  e.mutable_account_opened()->clear_name();
  ExpectRefused(s.Check(e), absl::StatusCode::kInvalidArgument, "event.account_opened.name");
}

TEST(CommandValidationTest, OccurredAtIsRequired) {
  Stream s = OpenAccount();
  AccountEvent e = Visit();
  e.clear_occurred_at();
  ExpectRefused(s.Check(e), absl::StatusCode::kInvalidArgument, "event.occurred_at", "required");
}

TEST(CommandValidationTest, OccurredAtInTheFutureBeyondClockSkewIsRefused) {
  Stream s = OpenAccount();
  EXPECT_TRUE(s.Check(Visit(kNow + absl::Minutes(5))).ok());
  ExpectRefused(s.Check(Visit(kNow + absl::Minutes(5) + absl::Seconds(1))),
                absl::StatusCode::kInvalidArgument, "event.occurred_at", "in the future");
}

TEST(CommandValidationTest, OccurredAtBefore2000IsRefused) {
  Stream s;
  EXPECT_TRUE(s.Check(Opened(absl::FromUnixSeconds(946684800))).ok());
  ExpectRefused(s.Check(Opened(absl::FromUnixSeconds(946684799))),
                absl::StatusCode::kInvalidArgument, "event.occurred_at", "before 2000-01-01");
}

TEST(CommandValidationTest, OccurredAtBeforeTheOpeningIsRefused) {
  Stream s;
  s.Record(Opened(Day(10)));
  EXPECT_TRUE(s.Check(Visit(Day(10))).ok());
  ExpectRefused(s.Check(Visit(Day(9))), absl::StatusCode::kFailedPrecondition, "event.occurred_at",
                "before account 'acme' was opened");
}

TEST(CommandValidationTest, ResolvingAnUnknownOrClosedComplaintIsRefused) {
  Stream s = OpenAccount();
  ExpectRefused(s.Check(Resolved("c-7")), absl::StatusCode::kFailedPrecondition,
                "event.complaint_resolved.complaint_id", "complaint 'c-7' is not open");
  s.Record(Complaint("c-7"));
  s.Record(Resolved("c-7"));
  ExpectRefused(s.Check(Resolved("c-7")), absl::StatusCode::kFailedPrecondition,
                "event.complaint_resolved.complaint_id", "complaint 'c-7' is not open (resolved");
  ExpectRefused(s.Check(Complaint("c-7")), absl::StatusCode::kFailedPrecondition,
                "event.complaint_filed.complaint_id", "already filed");
}

TEST(CommandValidationTest, SeverityOutside1To4IsRefused) {
  Stream s = OpenAccount();
  EXPECT_TRUE(s.Check(Complaint("c-1", 1)).ok());
  EXPECT_TRUE(s.Check(Complaint("c-1", 4)).ok());
  ExpectRefused(s.Check(Complaint("c-1", 0)), absl::StatusCode::kInvalidArgument,
                "event.complaint_filed.severity", "outside 1-4");
  ExpectRefused(s.Check(Complaint("c-1", 5)), absl::StatusCode::kInvalidArgument,
                "event.complaint_filed.severity", "outside 1-4");
}

TEST(CommandValidationTest, DeliveringOrCancellingAnUnknownOrderIsRefused) {
  Stream s = OpenAccount();
  ExpectRefused(s.Check(Delivered("o-1")), absl::StatusCode::kFailedPrecondition,
                "event.order_delivered.order_id", "no order 'o-1' was placed at account 'acme'");
  ExpectRefused(s.Check(Cancelled("o-1")), absl::StatusCode::kFailedPrecondition,
                "event.order_cancelled.order_id", "no order 'o-1'");
  s.Record(Order("o-1"));
  EXPECT_TRUE(s.Check(Delivered("o-1")).ok());
  EXPECT_TRUE(s.Check(Cancelled("o-1")).ok());
  ExpectRefused(s.Check(Order("o-1")), absl::StatusCode::kFailedPrecondition,
                "event.order_placed.order_id", "already placed");
}

TEST(CommandValidationTest, NegativeAmountIsRefused) {
  Stream s = OpenAccount();
  ExpectRefused(s.Check(Order("o-1", -5)), absl::StatusCode::kInvalidArgument,
                "event.order_placed.amount.minor_units", "-5 is negative");
  AccountEvent line = Order("o-1");
  line.mutable_order_placed()->add_lines()->mutable_amount()->set_minor_units(-1);
  line.mutable_order_placed()->mutable_lines(0)->mutable_amount()->set_currency_code("CNY");
  ExpectRefused(s.Check(line), absl::StatusCode::kInvalidArgument,
                "event.order_placed.lines[0].amount.minor_units");
}

TEST(CommandValidationTest, ForeignCurrencyIsRefused) {
  Stream s = OpenAccount();
  ExpectRefused(s.Check(Order("o-1", 100, "EUR")), absl::StatusCode::kInvalidArgument,
                "event.order_placed.amount.currency_code",
                "'EUR' is not the reporting currency 'CNY'");
  Rules euro;
  euro.reporting_currency = "EUR";
  EXPECT_TRUE(s.Check(Order("o-1", 100, "EUR"), euro).ok());
  AccountEvent profile = At(Day(3));
  profile.mutable_account_profile_updated()->mutable_dossier()->mutable_funds()->set_currency_code(
      "USD");
  ExpectRefused(s.Check(profile), absl::StatusCode::kInvalidArgument,
                "event.account_profile_updated.dossier.funds.currency_code");
}

TEST(CommandValidationTest, OrderNeedsAnAmount) {
  Stream s = OpenAccount();
  AccountEvent e = Order("o-1");
  e.mutable_order_placed()->clear_amount();
  ExpectRefused(s.Check(e), absl::StatusCode::kInvalidArgument, "event.order_placed.amount",
                "required");
}

TEST(CommandValidationTest, ContactLeavingWhoIsNotActiveIsRefused) {
  Stream s = OpenAccount();
  ExpectRefused(s.Check(ContactLeft("k-1")), absl::StatusCode::kFailedPrecondition,
                "event.contact_left.contact_id",
                "contact 'k-1' is not active at account 'acme' (never added)");
  s.Record(ContactAdded("k-1"));
  s.Record(ContactLeft("k-1"));
  ExpectRefused(s.Check(ContactLeft("k-1")), absl::StatusCode::kFailedPrecondition,
                "event.contact_left.contact_id", "is not active at account 'acme' (left in");
  AccountEvent changed = At(Day(60));
  changed.mutable_contact_changed()->set_contact_id("k-1");
  ExpectRefused(s.Check(changed), absl::StatusCode::kFailedPrecondition,
                "event.contact_changed.contact_id", "not active");
  // "Re-adding a contact id that left makes that contact active again."
  s.Record(ContactAdded("k-1"));
  EXPECT_TRUE(s.Check(ContactLeft("k-1")).ok());
  EXPECT_TRUE(s.Check(changed).ok());
  ExpectRefused(s.Check(ContactAdded("k-1")), absl::StatusCode::kFailedPrecondition,
                "event.contact_added.contact_id", "already active");
}

TEST(CommandValidationTest, ShareOutside0To100IsRefused) {
  Stream s = OpenAccount();
  EXPECT_TRUE(s.Check(Share(0)).ok());
  EXPECT_TRUE(s.Check(Share(100)).ok());
  ExpectRefused(s.Check(Share(101)), absl::StatusCode::kInvalidArgument,
                "event.purchase_share_assessed.share_percent", "outside 0-100");
}

TEST(CommandValidationTest, IntentOutside0To1IsRefused) {
  Stream s = OpenAccount();
  EXPECT_TRUE(s.Check(Prospect(0.0)).ok());
  EXPECT_TRUE(s.Check(Prospect(1.0)).ok());
  for (double intent : {-0.1, 1.1, std::numeric_limits<double>::quiet_NaN()}) {
    ExpectRefused(s.Check(Prospect(intent)), absl::StatusCode::kInvalidArgument,
                  "event.prospect_assessed.intent", "outside 0.0-1.0");
  }
  AccountEvent revenue = Prospect(0.5);
  revenue.mutable_prospect_assessed()->mutable_expected_annual_revenue()->set_minor_units(-1);
  ExpectRefused(s.Check(revenue), absl::StatusCode::kInvalidArgument,
                "event.prospect_assessed.expected_annual_revenue.minor_units");
}

TEST(CommandValidationTest, UnknownEnumValueIsRefused) {
  Stream s = OpenAccount();
  AccountEvent e = ContactAdded("k-1");
  e.mutable_contact_added()->set_role(static_cast<kam::v1::ContactRole>(99));
  ExpectRefused(s.Check(e), absl::StatusCode::kInvalidArgument, "event.contact_added.role",
                "99 is not a value of ContactRole");
  AccountEvent visit = Visit();
  visit.mutable_visit_recorded()->add_visitors()->set_seniority(
      static_cast<kam::v1::VisitorSeniority>(-3));
  ExpectRefused(s.Check(visit), absl::StatusCode::kInvalidArgument,
                "event.visit_recorded.visitors[0].seniority");
}

TEST(CommandValidationTest, IdentityFieldsAreRequired) {
  Stream s = OpenAccount();
  ExpectRefused(s.Check(Resolved("")), absl::StatusCode::kInvalidArgument,
                "event.complaint_resolved.complaint_id", "required");
  ExpectRefused(s.Check(Order("")), absl::StatusCode::kInvalidArgument,
                "event.order_placed.order_id", "required");
  ExpectRefused(s.Check(Retract("")), absl::StatusCode::kInvalidArgument,
                "event.event_retracted.retracted_event_id", "required");
}

TEST(CommandValidationTest, AgreementEndedMustNameAnActiveAgreement) {
  Stream s = OpenAccount();
  const AccountEvent ended = At(Day(90), ts::Ended("ag-1"));
  ExpectRefused(s.Check(ended), absl::StatusCode::kFailedPrecondition,
                "event.agreement_ended.agreement_id",
                "not active at account 'acme' (never signed)");
  s.Record(At(Day(80), ts::Signed("ag-1", kam::v1::AGREEMENT_KIND_FRAME_CONTRACT)));
  s.Record(ended);
  ExpectRefused(s.Check(ended), absl::StatusCode::kFailedPrecondition,
                "event.agreement_ended.agreement_id", "(ended in event");
}

TEST(CommandValidationTest, ProductLaunchedOnlyOnTheCatalog) {
  Stream account = OpenAccount();
  ExpectRefused(account.Check(Launch("p-1")), absl::StatusCode::kInvalidArgument, "account_id",
                "must be empty for a ProductLaunched");
  Stream catalog("");
  ExpectRefused(catalog.Check(Visit()), absl::StatusCode::kInvalidArgument, "account_id",
                "required for a VisitRecorded");
  const std::string launch = catalog.Record(Launch("p-1"));
  ExpectRefused(catalog.Check(Launch("p-1")), absl::StatusCode::kFailedPrecondition,
                "event.product_launched.product_id", "already launched");
  AccountEvent renamed = Launch("p-1");
  renamed.mutable_product_launched()->set_name("Load cell X (standard)");
  EXPECT_TRUE(catalog.Check(Correct(launch, renamed)).ok());
  ExpectRefused(account.Check(Correct(launch, renamed)), absl::StatusCode::kInvalidArgument,
                "account_id", "must be empty");
  EXPECT_TRUE(catalog.Check(Retract(launch)).ok());
}

TEST(CommandValidationTest, CorrectionMustNameAnEventOfTheStream) {
  Stream s = OpenAccount();
  ExpectRefused(s.Check(Correct("nope", Visit())), absl::StatusCode::kFailedPrecondition,
                "event.event_corrected.corrected_event_id",
                "no event 'nope' was recorded at account 'acme'");
  ExpectRefused(s.Check(Retract("nope")), absl::StatusCode::kFailedPrecondition,
                "event.event_retracted.retracted_event_id", "no event 'nope'");
}

TEST(CommandValidationTest, CorrectingACorrectionIsRefusedButRetractingOneIsNot) {
  Stream s = OpenAccount();
  const std::string order = s.Record(Order("o-1", 1000));
  const std::string correction = s.Record(Correct(order, Order("o-1", 1200)));
  ExpectRefused(s.Check(Correct(correction, Order("o-1", 1300))),
                absl::StatusCode::kFailedPrecondition, "event.event_corrected.corrected_event_id",
                "is an EventCorrected, which cannot be corrected");
  EXPECT_TRUE(s.Check(Correct(order, Order("o-1", 1300))).ok());
  s.Record(Retract(correction));
  ExpectRefused(s.Check(Retract(correction)), absl::StatusCode::kFailedPrecondition,
                "event.event_retracted.retracted_event_id", "is retracted");
}

TEST(CommandValidationTest, AmendingARetractionIsRefused) {
  Stream s = OpenAccount();
  const std::string visit = s.Record(Visit());
  const std::string retraction = s.Record(Retract(visit));
  ExpectRefused(s.Check(Retract(retraction)), absl::StatusCode::kFailedPrecondition,
                "event.event_retracted.retracted_event_id", "is an EventRetracted");
  ExpectRefused(s.Check(Correct(retraction, Visit())), absl::StatusCode::kFailedPrecondition,
                "event.event_corrected.corrected_event_id", "is an EventRetracted");
}

TEST(CommandValidationTest, AmendingARetractedEventIsRefused) {
  Stream s = OpenAccount();
  const std::string visit = s.Record(Visit());
  s.Record(Retract(visit));
  ExpectRefused(s.Check(Retract(visit)), absl::StatusCode::kFailedPrecondition,
                "event.event_retracted.retracted_event_id", "is retracted");
  ExpectRefused(s.Check(Correct(visit, Visit(Day(11)))), absl::StatusCode::kFailedPrecondition,
                "event.event_corrected.corrected_event_id", "is retracted");
}

TEST(CommandValidationTest, ReplacementOfAnotherKindIsRefused) {
  Stream s = OpenAccount();
  const std::string visit = s.Record(Visit());
  const AccountEvent call = At(Day(10), ts::Call(false));
  ExpectRefused(s.Check(Correct(visit, call)), absl::StatusCode::kFailedPrecondition,
                "event.event_corrected.replacement",
                "a CommunicationLogged cannot replace the VisitRecorded");
  AccountEvent empty = Correct(visit, Visit());
  empty.mutable_event_corrected()->clear_replacement();
  ExpectRefused(s.Check(empty), absl::StatusCode::kInvalidArgument,
                "event.event_corrected.replacement", "required");
}

TEST(CommandValidationTest, ReplacementWithOtherIdentityIsRefused) {
  Stream s = OpenAccount();
  const std::string order = s.Record(Order("o-1"));
  ExpectRefused(s.Check(Correct(order, Order("o-2"))), absl::StatusCode::kFailedPrecondition,
                "event.event_corrected.replacement.order_placed.order_id",
                "'o-2' differs from 'o-1'");
  const std::string complaint = s.Record(Complaint("c-1"));
  ExpectRefused(s.Check(Correct(complaint, Complaint("c-2"))),
                absl::StatusCode::kFailedPrecondition,
                "event.event_corrected.replacement.complaint_filed.complaint_id");
  EXPECT_TRUE(s.Check(Correct(complaint, Complaint("c-1", 4))).ok());
}

TEST(CommandValidationTest, ReplacementIsValidatedLikeAnEvent) {
  Stream s = OpenAccount();
  const std::string order = s.Record(Order("o-1"));
  ExpectRefused(s.Check(Correct(order, Order("o-1", -1))), absl::StatusCode::kInvalidArgument,
                "event.event_corrected.replacement.order_placed.amount.minor_units");
  ExpectRefused(s.Check(Correct(order, Order("o-1", 1, "CNY", Day(-1)))),
                absl::StatusCode::kFailedPrecondition,
                "event.event_corrected.replacement.occurred_at", "before account 'acme'");
  AccountEvent keep_time = Order("o-1", 900);
  keep_time.clear_occurred_at();
  EXPECT_TRUE(s.Check(Correct(order, keep_time)).ok());
}

TEST(CommandValidationTest, OpeningCannotBeMovedAfterAnotherEvent) {
  Stream s;
  const std::string opened = s.Record(Opened(Day(0)));
  s.Record(Visit(Day(10)));
  EXPECT_TRUE(s.Check(Correct(opened, Opened(Day(10)))).ok());
  ExpectRefused(s.Check(Correct(opened, Opened(Day(11)))), absl::StatusCode::kFailedPrecondition,
                "event.event_corrected.replacement.occurred_at", "no event of an account");
}

TEST(CommandValidationTest, CorrectionMovesTheOpening) {
  Stream s;
  const std::string opened = s.Record(Opened(Day(0)));
  s.Record(Correct(opened, Opened(Day(5))));
  EXPECT_EQ(s.state().opened_at(), Day(5));
  ExpectRefused(s.Check(Visit(Day(4))), absl::StatusCode::kFailedPrecondition, "event.occurred_at");
}

TEST(CommandValidationTest, RetractionsUndoTheirFacts) {
  Stream s = OpenAccount();
  s.Record(Complaint("c-1"));
  const std::string resolved = s.Record(Resolved("c-1"));
  const std::string order = s.Record(Order("o-1"));
  s.Record(ContactAdded("k-1"));
  const std::string left = s.Record(ContactLeft("k-1"));

  s.Record(Retract(resolved));
  EXPECT_TRUE(s.Check(Resolved("c-1")).ok()) << "the complaint is open again";
  s.Record(Retract(order));
  ExpectRefused(s.Check(Delivered("o-1")), absl::StatusCode::kFailedPrecondition,
                "event.order_delivered.order_id");
  s.Record(Retract(left));
  EXPECT_TRUE(s.Check(ContactLeft("k-1")).ok()) << "the contact never left";
}

TEST(CommandValidationTest, RetractedOpeningLeavesNoAccount) {
  Stream s;
  const std::string opened = s.Record(Opened());
  s.Record(Retract(opened));
  ExpectRefused(s.Check(Visit()), absl::StatusCode::kNotFound, "account_id");
  EXPECT_TRUE(s.Check(Opened()).ok());
}

// "Validated against the account's state as recorded so far, in log order":
// what was recorded before decides, not business time.
TEST(CommandValidationTest, StateIsInLogOrderNotBusinessOrder) {
  Stream s = OpenAccount();
  s.Record(Complaint("c-1", 2, Day(50)));
  // Resolved "before" it was filed in business time, but recorded after.
  EXPECT_TRUE(s.Check(Resolved("c-1", Day(40))).ok());
}

TEST(CommandValidationTest, EventTypeIsTheKindsMessageName) {
  EXPECT_EQ(EventTypeOf(Visit()), "kam.v1.VisitRecorded");
  EXPECT_EQ(EventTypeOf(Retract("x")), "kam.v1.EventRetracted");
  EXPECT_EQ(EventTypeOf(At(Day(1))), "");
}

// The generator's portfolio is valid when recorded in the order it is
// emitted: every one of its events passes validation.
TEST(CommandValidationTest, GeneratedPortfolioIsValid) {
  tools::GeneratorOptions options;
  options.seed = 11;
  options.accounts = 80;
  options.events = 12000;
  const absl::Time now = options.end + absl::Hours(24);
  std::map<std::string, RecordedState> streams;
  std::map<std::string, uint64_t> versions;
  int64_t checked = 0;
  const absl::Status status =
      tools::GeneratePortfolio(options, [&](const tools::GeneratedEvent& g) {
        StoredEvent e;
        if (!e.event.ParseFromString(g.data.data)) return absl::InternalError("bad data");
        const std::string account = g.stream == "catalog" ? "" : g.stream.substr(8);
        RecordedState& state = streams[g.stream];
        absl::Status valid = ValidateCommand(account, state, e.event, now, Rules());
        if (!valid.ok()) {
          return absl::Status(valid.code(), absl::StrCat(g.data.event_id, " in ", g.stream, " (",
                                                         g.data.type, "): ", valid.message()));
        }
        e.event_id = g.data.event_id;
        e.version = versions[g.stream]++;
        e.occurred_at = g.data.occurred_at;
        state.Apply(e);
        ++checked;
        return absl::OkStatus();
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(checked, options.events);
}

}  // namespace
}  // namespace kam::projections
