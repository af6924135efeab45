// The portfolio generator (tools/generator): deterministic, exact in size,
// complete in event kinds, and valid by DOMAIN.md when recorded in order.

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kam/v1/events.pb.h"
#include "tools/generator/portfolio_generator.h"

namespace kam::tools {
namespace {

using kam::v1::AccountEvent;

struct Collected {
  std::string stream;
  std::string event_id;
  std::string type;
  std::string data;
  absl::Time occurred_at;

  bool operator==(const Collected& o) const {
    return stream == o.stream && event_id == o.event_id && type == o.type && data == o.data &&
           occurred_at == o.occurred_at;
  }
};

std::vector<Collected> Generate(const GeneratorOptions& options) {
  std::vector<Collected> out;
  const absl::Status status = GeneratePortfolio(options, [&](const GeneratedEvent& e) {
    out.push_back({e.stream, e.data.event_id, e.data.type, e.data.data, e.data.occurred_at});
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

GeneratorOptions Small() {
  GeneratorOptions options;
  options.seed = 7;
  options.accounts = 60;
  options.events = 6000;
  return options;
}

// The identity fields a correction must keep (DOMAIN.md "Corrections").
std::string IdentityOf(const AccountEvent& e) {
  switch (e.kind_case()) {
    case AccountEvent::kOrderPlaced:
      return e.order_placed().order_id();
    case AccountEvent::kComplaintFiled:
      return e.complaint_filed().complaint_id();
    case AccountEvent::kContactAdded:
      return e.contact_added().contact_id();
    case AccountEvent::kAgreementSigned:
      return e.agreement_signed().agreement_id();
    case AccountEvent::kProductLaunched:
      return e.product_launched().product_id();
    default:
      return "";
  }
}

struct KnownEvent {
  int kind = 0;
  std::string identity;
  bool retracted = false;
};

// What an account's stream has recorded so far, as the Accounts service
// validates a command against it.
struct StreamState {
  bool opened = false;
  absl::Time opened_at;
  absl::Time latest;  // Latest occurred_at of an original event so far.
  bool lost = false;
  std::set<std::string> active_contacts;
  std::set<std::string> complaints_filed, open_complaints;
  std::set<std::string> orders_placed, open_orders;
  std::set<std::string> agreements_signed, active_agreements;
  std::map<std::string, KnownEvent> events;
};

// Replays the generated events and fails the test at the first one the
// Accounts service would refuse. Returns the number of late-recorded events.
class Validator {
 public:
  explicit Validator(const GeneratorOptions& options) : options_(options) {}

  void Check(const Collected& c) {
    SCOPED_TRACE(absl::StrCat(c.stream, " ", c.event_id, " ", c.type));
    AccountEvent e;
    ASSERT_TRUE(e.ParseFromString(c.data));
    ASSERT_NE(e.kind_case(), AccountEvent::KIND_NOT_SET);
    const std::string name =
        AccountEvent::descriptor()->FindFieldByNumber(e.kind_case())->message_type()->full_name();
    EXPECT_EQ(c.type, name);
    EXPECT_EQ(c.occurred_at, absl::FromUnixSeconds(e.occurred_at().seconds()));
    EXPECT_TRUE(ids_.insert(c.event_id).second) << "duplicate event id";
    EXPECT_GE(c.occurred_at, absl::FromUnixSeconds(946684800));
    EXPECT_LE(c.occurred_at, options_.end);
    ++kinds_[e.kind_case()];
    StreamState& s = streams_[c.stream];
    if (c.stream == "catalog") {
      CheckCatalog(c, e, &s);
      return;
    }
    ASSERT_TRUE(absl::StartsWith(c.stream, "account-"));
    if (!s.opened) {
      ASSERT_EQ(e.kind_case(), AccountEvent::kAccountOpened) << "first event of the stream";
      s.opened = true;
      s.opened_at = c.occurred_at;
      s.latest = c.occurred_at;
    }
    EXPECT_GE(c.occurred_at, s.opened_at) << "before the AccountOpened";
    if (e.kind_case() != AccountEvent::kEventCorrected &&
        e.kind_case() != AccountEvent::kEventRetracted) {
      if (c.occurred_at < s.latest) ++late_;
      s.latest = std::max(s.latest, c.occurred_at);
    }
    CheckCommand(e, &s);
    s.events[c.event_id] = {e.kind_case(), IdentityOf(e), false};
  }

  int64_t late() const { return late_; }
  const std::map<int, int64_t>& kinds() const { return kinds_; }
  const std::map<std::string, StreamState>& streams() const { return streams_; }

 private:
  void CheckCatalog(const Collected& c, const AccountEvent& e, StreamState* s) {
    if (e.kind_case() == AccountEvent::kEventCorrected) {
      CheckCorrection(e, s);
    } else {
      EXPECT_EQ(e.kind_case(), AccountEvent::kProductLaunched);
    }
    s->events[c.event_id] = {e.kind_case(), IdentityOf(e), false};
  }

  void CheckMoney(const kam::v1::Money& money) {
    EXPECT_GE(money.minor_units(), 0);
    EXPECT_EQ(money.currency_code(), options_.currency);
  }

  void CheckCommand(const AccountEvent& e, StreamState* s) {
    switch (e.kind_case()) {
      case AccountEvent::kAccountOpened:
        EXPECT_FALSE(e.account_opened().name().empty());
        break;
      case AccountEvent::kAccountProfileUpdated:
        CheckMoney(e.account_profile_updated().dossier().market_size());
        CheckMoney(e.account_profile_updated().dossier().funds());
        break;
      case AccountEvent::kAccountLost:
        EXPECT_FALSE(s->lost);
        s->lost = true;
        break;
      case AccountEvent::kAccountReactivated:
        EXPECT_TRUE(s->lost);
        s->lost = false;
        break;
      case AccountEvent::kContactAdded:
        s->active_contacts.insert(e.contact_added().contact_id());
        EXPECT_NE(e.contact_added().role(), kam::v1::CONTACT_ROLE_UNSPECIFIED);
        EXPECT_NE(e.contact_added().level(), kam::v1::CONTACT_LEVEL_UNSPECIFIED);
        break;
      case AccountEvent::kContactChanged:
        EXPECT_EQ(s->active_contacts.count(e.contact_changed().contact_id()), 1u);
        break;
      case AccountEvent::kContactLeft:
        EXPECT_EQ(s->active_contacts.erase(e.contact_left().contact_id()), 1u)
            << "only an active contact leaves";
        break;
      case AccountEvent::kVisitRecorded:
        for (const std::string& id : e.visit_recorded().contact_ids()) {
          EXPECT_EQ(s->active_contacts.count(id), 1u);
        }
        break;
      case AccountEvent::kComplaintFiled:
        EXPECT_TRUE(s->complaints_filed.insert(e.complaint_filed().complaint_id()).second);
        s->open_complaints.insert(e.complaint_filed().complaint_id());
        EXPECT_GE(e.complaint_filed().severity(), 1u);
        EXPECT_LE(e.complaint_filed().severity(), 4u);
        break;
      case AccountEvent::kComplaintResolved:
        EXPECT_EQ(s->open_complaints.erase(e.complaint_resolved().complaint_id()), 1u)
            << "resolving a complaint that is not open";
        break;
      case AccountEvent::kOrderPlaced:
        CheckOrder(e.order_placed());
        EXPECT_TRUE(s->orders_placed.insert(e.order_placed().order_id()).second);
        s->open_orders.insert(e.order_placed().order_id());
        break;
      case AccountEvent::kOrderDelivered:
        EXPECT_EQ(s->open_orders.erase(e.order_delivered().order_id()), 1u)
            << "delivering an unknown or finished order";
        break;
      case AccountEvent::kOrderCancelled:
        EXPECT_EQ(s->open_orders.erase(e.order_cancelled().order_id()), 1u)
            << "cancelling an unknown or finished order";
        break;
      case AccountEvent::kPurchaseShareAssessed:
        EXPECT_LE(e.purchase_share_assessed().share_percent(), 100u);
        break;
      case AccountEvent::kAgreementSigned:
        EXPECT_TRUE(s->agreements_signed.insert(e.agreement_signed().agreement_id()).second);
        s->active_agreements.insert(e.agreement_signed().agreement_id());
        break;
      case AccountEvent::kAgreementEnded:
        EXPECT_EQ(s->active_agreements.erase(e.agreement_ended().agreement_id()), 1u);
        break;
      case AccountEvent::kProspectAssessed:
        CheckMoney(e.prospect_assessed().expected_annual_revenue());
        EXPECT_GE(e.prospect_assessed().intent(), 0.0);
        EXPECT_LE(e.prospect_assessed().intent(), 1.0);
        break;
      case AccountEvent::kProductLaunched:
        ADD_FAILURE() << "ProductLaunched outside the catalog stream";
        break;
      case AccountEvent::kEventCorrected:
        CheckCorrection(e, s);
        break;
      case AccountEvent::kEventRetracted:
        CheckRetraction(e, s);
        break;
      default:
        break;
    }
  }

  void CheckOrder(const kam::v1::OrderPlaced& order) {
    CheckMoney(order.amount());
    int64_t sum = 0;
    for (const kam::v1::ProductLine& line : order.lines()) {
      CheckMoney(line.amount());
      sum += line.amount().minor_units();
    }
    EXPECT_EQ(sum, order.amount().minor_units());
  }

  // A correction names an earlier, not retracted, non-correction event of its
  // stream and replaces it whole with one of the same kind and identity.
  void CheckCorrection(const AccountEvent& e, StreamState* s) {
    const kam::v1::EventCorrected& c = e.event_corrected();
    auto it = s->events.find(c.corrected_event_id());
    ASSERT_NE(it, s->events.end()) << "correcting an unknown event";
    const KnownEvent& target = it->second;
    EXPECT_NE(target.kind, AccountEvent::kEventCorrected);
    EXPECT_NE(target.kind, AccountEvent::kEventRetracted);
    EXPECT_FALSE(target.retracted);
    EXPECT_EQ(c.replacement().kind_case(), target.kind);
    EXPECT_EQ(IdentityOf(c.replacement()), target.identity);
    const absl::Time at = absl::FromUnixSeconds(c.replacement().occurred_at().seconds());
    if (s->opened) {
      EXPECT_GE(at, s->opened_at);
    }
    EXPECT_LE(at, options_.end);
    if (c.replacement().has_order_placed()) CheckOrder(c.replacement().order_placed());
    if (c.replacement().has_purchase_share_assessed()) {
      EXPECT_LE(c.replacement().purchase_share_assessed().share_percent(), 100u);
    }
    ++corrected_kinds_[target.kind];
  }

  void CheckRetraction(const AccountEvent& e, StreamState* s) {
    auto it = s->events.find(e.event_retracted().retracted_event_id());
    ASSERT_NE(it, s->events.end()) << "retracting an unknown event";
    KnownEvent& target = it->second;
    EXPECT_NE(target.kind, AccountEvent::kEventCorrected);
    EXPECT_NE(target.kind, AccountEvent::kEventRetracted);
    EXPECT_FALSE(target.retracted);
    target.retracted = true;
    // A retracted order never happened: nothing may deliver or cancel it.
    if (target.kind == AccountEvent::kOrderPlaced) s->open_orders.erase(target.identity);
  }

  const GeneratorOptions options_;
  std::set<std::string> ids_;
  std::map<std::string, StreamState> streams_;
  std::map<int, int64_t> kinds_;
  std::map<int, int64_t> corrected_kinds_;
  int64_t late_ = 0;
};

TEST(PortfolioGeneratorTest, SameOptionsGiveByteIdenticalEvents) {
  const GeneratorOptions options = Small();
  const std::vector<Collected> first = Generate(options);
  const std::vector<Collected> second = Generate(options);
  ASSERT_EQ(first.size(), second.size());
  EXPECT_TRUE(first == second);

  GeneratorOptions other = options;
  other.seed = 8;
  EXPECT_FALSE(Generate(other) == first);
}

TEST(PortfolioGeneratorTest, EmitsExactlyTheRequestedNumberOfEvents) {
  const std::pair<int, int64_t> sizes[] = {{1, 1},  {3, 3},     {5, 6},
                                           {7, 50}, {40, 4001}, {1000, 100000}};
  for (const auto& [accounts, events] : sizes) {
    GeneratorOptions options;
    options.accounts = accounts;
    options.events = events;
    std::set<std::string> streams;
    int64_t count = 0;
    ASSERT_TRUE(GeneratePortfolio(options, [&](const GeneratedEvent& e) {
                  ++count;
                  if (absl::StartsWith(e.stream, "account-")) streams.insert(e.stream);
                  return absl::OkStatus();
                }).ok());
    EXPECT_EQ(count, events) << accounts << " accounts";
    EXPECT_EQ(streams.size(), static_cast<size_t>(accounts));
  }
}

TEST(PortfolioGeneratorTest, EveryEventKindOccursAndEveryEventIsValid) {
  const GeneratorOptions options;  // 1,000 accounts, 100,000 events.
  Validator validator(options);
  for (const Collected& c : Generate(options)) {
    validator.Check(c);
    if (testing::Test::HasFatalFailure()) return;
  }
  const google::protobuf::OneofDescriptor* kind =
      AccountEvent::descriptor()->FindOneofByName("kind");
  for (int i = 0; i < kind->field_count(); ++i) {
    EXPECT_GT(validator.kinds().count(kind->field(i)->number()), 0u)
        << kind->field(i)->name() << " never generated";
  }
  EXPECT_GT(validator.late(), 100) << "late-recorded events";
}

TEST(PortfolioGeneratorTest, SmallPortfoliosAreValidToo) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    GeneratorOptions options = Small();
    options.seed = seed;
    options.start = absl::FromUnixSeconds(1704067200);  // 2024-01-01.
    options.end = absl::FromUnixSeconds(1706745600);    // 2024-02-01: crowded.
    options.currency = "EUR";
    Validator validator(options);
    for (const Collected& c : Generate(options)) {
      validator.Check(c);
      if (testing::Test::HasFatalFailure()) return;
    }
  }
}

// The shapes DOMAIN.md's views need: prospects that never order, lost and
// reactivated accounts, strategic partnerships at >= 80 %, rich and
// single-threaded relationship networks, and all three ABC classes.
TEST(PortfolioGeneratorTest, PortfolioHasEveryShapeTheViewsNeed) {
  const GeneratorOptions options;
  struct Shape {
    bool ordered = false, lost = false, reactivated = false, structural = false;
    int last_share = -1;
    size_t max_active = 0;
    int64_t events = 0;
    std::set<std::string> active, departments;
    std::map<std::string, std::pair<int64_t, absl::Time>> orders;  // id -> amount, occurred.
    std::map<std::string, std::string> order_event;                // event id -> order id.
  };
  std::map<std::string, Shape> shapes;
  bool decision_maker = false, executive = false;
  for (const Collected& c : Generate(options)) {
    if (c.stream == "catalog") continue;
    AccountEvent e;
    ASSERT_TRUE(e.ParseFromString(c.data));
    Shape& s = shapes[c.stream];
    ++s.events;
    switch (e.kind_case()) {
      case AccountEvent::kOrderPlaced:
        s.ordered = true;
        s.orders[e.order_placed().order_id()] = {e.order_placed().amount().minor_units(),
                                                 c.occurred_at};
        s.order_event[c.event_id] = e.order_placed().order_id();
        break;
      case AccountEvent::kOrderCancelled:
        s.orders.erase(e.order_cancelled().order_id());
        break;
      case AccountEvent::kEventRetracted: {
        auto it = s.order_event.find(e.event_retracted().retracted_event_id());
        if (it != s.order_event.end()) s.orders.erase(it->second);
        break;
      }
      case AccountEvent::kEventCorrected: {
        auto it = s.order_event.find(e.event_corrected().corrected_event_id());
        const AccountEvent& r = e.event_corrected().replacement();
        if (it != s.order_event.end() && s.orders.count(it->second) != 0) {
          s.orders[it->second] = {r.order_placed().amount().minor_units(),
                                  absl::FromUnixSeconds(r.occurred_at().seconds())};
        }
        break;
      }
      case AccountEvent::kAccountLost:
        s.lost = true;
        break;
      case AccountEvent::kAccountReactivated:
        s.lost = false;
        s.reactivated = true;
        break;
      case AccountEvent::kAgreementSigned:
        s.structural |=
            e.agreement_signed().kind() == kam::v1::AGREEMENT_KIND_STRATEGIC_PARTNERSHIP ||
            e.agreement_signed().kind() == kam::v1::AGREEMENT_KIND_EQUITY_COOPERATION;
        break;
      case AccountEvent::kPurchaseShareAssessed:
        s.last_share = static_cast<int>(e.purchase_share_assessed().share_percent());
        break;
      case AccountEvent::kContactAdded:
        s.active.insert(e.contact_added().contact_id());
        s.departments.insert(e.contact_added().department());
        decision_maker |= e.contact_added().role() == kam::v1::CONTACT_ROLE_DECISION_MAKER;
        executive |= e.contact_added().level() == kam::v1::CONTACT_LEVEL_EXECUTIVE;
        break;
      case AccountEvent::kContactLeft:
        s.active.erase(e.contact_left().contact_id());
        break;
      default:
        break;
    }
    s.max_active = std::max(s.max_active, s.active.size());
  }
  int never_ordered = 0, lost = 0, reactivated = 0, strategic = 0, single = 0, networked = 0;
  std::vector<std::pair<int64_t, std::string>> revenue;  // Trailing 365 days at `end`.
  for (const auto& [stream, s] : shapes) {
    never_ordered += !s.ordered && s.events >= 5;
    lost += s.lost;
    reactivated += s.reactivated;
    strategic += s.structural && s.last_share >= 80;
    single += s.max_active == 1 && s.events >= 30;
    networked += s.departments.size() >= 3;
    int64_t sum = 0;
    for (const auto& [id, order] : s.orders) {
      if (order.second > options.end - absl::Hours(24 * 365)) sum += order.first;
    }
    revenue.emplace_back(-sum, stream);
  }
  EXPECT_GT(never_ordered, 10);
  EXPECT_GT(lost, 10);
  EXPECT_GT(reactivated, 5);
  EXPECT_GT(strategic, 5);
  EXPECT_GT(single, 10);
  EXPECT_GT(networked, 100);
  EXPECT_TRUE(decision_maker && executive);

  // ABC (DOMAIN.md): A while the cumulative share before it is < 80 %, B < 95 %.
  std::sort(revenue.begin(), revenue.end());
  double total = 0;
  for (const auto& r : revenue) total += static_cast<double>(-r.first);
  std::map<char, int> classes;
  double before = 0;
  for (const auto& r : revenue) {
    const char c = r.first == 0            ? 'C'
                   : before < 0.8 * total  ? 'A'
                   : before < 0.95 * total ? 'B'
                                           : 'C';
    ++classes[c];
    before += static_cast<double>(-r.first);
  }
  EXPECT_GT(classes['A'], 10);
  EXPECT_GT(classes['B'], 10);
  EXPECT_GT(classes['C'], 100);
  EXPECT_LT(classes['A'], 400) << "revenue should be Pareto-skewed";
}

// Records appends; nothing else is needed by GenerateIntoLog.
class RecordingLog : public eventstore::EventLog {
 public:
  absl::StatusOr<eventstore::AppendResult> Append(
      absl::string_view stream, eventstore::ExpectedVersion expected,
      absl::Span<const eventstore::EventData> events) override {
    EXPECT_EQ(expected.kind(), eventstore::ExpectedVersion::Kind::kAny);
    batches.push_back(events.size());
    for (const eventstore::EventData& e : events) {
      by_stream[std::string(stream)].push_back(e.event_id);
    }
    return eventstore::AppendResult{};
  }
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ReadStream(absl::string_view, uint64_t,
                                                                    eventstore::Direction,
                                                                    size_t) const override {
    return absl::UnimplementedError("ReadStream");
  }
  absl::StatusOr<eventstore::ReadAllResult> ReadAll(uint64_t, eventstore::Direction, size_t,
                                                    const eventstore::LogFilter&) const override {
    return absl::UnimplementedError("ReadAll");
  }
  void AppendAsync(std::string, eventstore::ExpectedVersion, std::vector<eventstore::EventData>,
                   std::function<void(absl::StatusOr<eventstore::AppendResult>)> done) override {
    done(absl::UnimplementedError("not used by GenerateIntoLog"));
  }
  absl::StatusOr<std::optional<eventstore::RecordedEvent>> FindEvent(
      absl::string_view) const override {
    return absl::UnimplementedError("not used by GenerateIntoLog");
  }
  absl::StatusOr<eventstore::StreamInfo> GetStreamInfo(absl::string_view) const override {
    return absl::UnimplementedError("GetStreamInfo");
  }
  eventstore::LogHead Head() const override { return {}; }
  uint64_t WaitForPositionAfter(uint64_t, absl::Time) const override { return 0; }
  uint64_t AddHeadListener(std::function<void(uint64_t)>) override { return 0; }
  void RemoveHeadListener(uint64_t) override {}
  absl::StatusOr<eventstore::VerifyResult> Verify(uint64_t, uint64_t) const override {
    return absl::UnimplementedError("Verify");
  }

  std::vector<size_t> batches;
  std::map<std::string, std::vector<std::string>> by_stream;
};

TEST(PortfolioGeneratorTest, GenerateIntoLogBatchesPerStreamInEmissionOrder) {
  const GeneratorOptions options = Small();
  RecordingLog log;
  const absl::StatusOr<int64_t> count = GenerateIntoLog(options, &log, 50);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, options.events);
  for (size_t batch : log.batches) EXPECT_LE(batch, 50u);
  EXPECT_LT(log.batches.size(), static_cast<size_t>(options.events) / 10);
  std::map<std::string, std::vector<std::string>> expected;
  for (const Collected& c : Generate(options)) expected[c.stream].push_back(c.event_id);
  EXPECT_TRUE(log.by_stream == expected);
}

TEST(PortfolioGeneratorTest, RefusesBadOptionsNamingTheField) {
  GeneratorOptions options;
  options.accounts = 10;
  options.events = 9;
  absl::Status status =
      GeneratePortfolio(options, [](const GeneratedEvent&) { return absl::OkStatus(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "events")) << status;

  options = GeneratorOptions();
  options.currency = "yuan";
  status = GeneratePortfolio(options, [](const GeneratedEvent&) { return absl::OkStatus(); });
  EXPECT_TRUE(absl::StrContains(status.message(), "currency")) << status;

  options = GeneratorOptions();
  options.end = options.start;
  status = GeneratePortfolio(options, [](const GeneratedEvent&) { return absl::OkStatus(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);

  RecordingLog log;
  EXPECT_EQ(GenerateIntoLog(GeneratorOptions(), &log, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PortfolioGeneratorTest, StopsAtTheFirstSinkError) {
  int64_t calls = 0;
  const absl::Status status = GeneratePortfolio(Small(), [&](const GeneratedEvent&) {
    return ++calls == 10 ? absl::UnavailableError("disk full") : absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls, 10);
}

}  // namespace
}  // namespace kam::tools
