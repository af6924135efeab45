// kam.v1.Accounts end to end over loopback: Record for several kinds, every
// validation rule of API.md with its status code and field, durable
// request_id idempotency across a restart, expected_version, concurrent
// recording, RecordBatch for bulk import, and the views seeing what was
// recorded.

#include "services/accounts_service.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kam/v1/accounts.grpc.pb.h"
#include "projections/projection_store.h"
#include "services/auth.h"
#include "tests/services/test_server.h"
#include "tests/support/account_events.h"

namespace kam::services {
namespace {

using kam::v1::AccountEvent;
using kam::v1::RecordRequest;
using kam::v1::RecordResponse;
using testing::Context;
using testing::TestServer;

// Business times are days before now: the server validates against its clock.
const absl::Time kStart = absl::Now() - absl::Hours(24 * 100);
absl::Time Day(int n) { return kStart + absl::Hours(24 * n); }

using test_support::At;
using test_support::Request;
namespace ts = ::kam::test_support;

// Each kind's time unless a test says otherwise: after the opening, before now.
AccountEvent Opened(const std::string& name, absl::Time t = Day(0)) {
  return At(t, ts::Opened(name, "Wang Fang"));
}
AccountEvent ContactAdded(const std::string& id, absl::Time t = Day(1)) {
  return At(t, ts::Contact(id, "Purchasing", kam::v1::CONTACT_ROLE_DECISION_MAKER,
                           kam::v1::CONTACT_LEVEL_UNSPECIFIED, "Li Wei"));
}
AccountEvent Launch(const std::string& product_id) {
  return At(Day(2), ts::Launch(product_id, "Crane scale OCS-30", "crane scales"));
}
AccountEvent Order(const std::string& id, int64_t amount = 10000,
                   const std::string& currency = "CNY", absl::Time t = Day(5)) {
  return At(t, ts::Order(id, amount, currency));
}
AccountEvent Complaint(const std::string& id, uint32_t severity = 2) {
  return At(Day(10), ts::Complaint(id, severity));
}
AccountEvent Resolved(const std::string& id) { return At(Day(12), ts::Resolved(id)); }
AccountEvent Visit(absl::Time t = Day(15)) {
  return At(t, ts::Visit(kam::v1::VISITOR_SENIORITY_SALES, "Wang Fang", "quarterly review"));
}
AccountEvent Delivered(const std::string& id) { return At(Day(20), ts::Delivered(id)); }
AccountEvent Share(uint32_t percent) { return At(Day(25), ts::Share(percent)); }
AccountEvent Intent(double intent) { return At(Day(25), ts::Intent(intent)); }
AccountEvent ContactLeft(const std::string& id) { return At(Day(30), ts::ContactLeft(id)); }
AccountEvent Correct(const std::string& event_id, const AccountEvent& replacement) {
  return At(Day(40), ts::Correct(event_id, replacement));
}
AccountEvent Retract(const std::string& event_id) { return At(Day(40), ts::Retract(event_id)); }

class AccountsServiceTest : public ::testing::Test {
 protected:
  grpc::Status Record(const RecordRequest& request, RecordResponse* response = nullptr) {
    RecordResponse ignored;
    auto stub = server_.Accounts();
    return stub->Record(Context().get(), request, response != nullptr ? response : &ignored);
  }

  // Records an event that must be accepted; returns the response.
  RecordResponse MustRecord(const std::string& account_id, const AccountEvent& event) {
    RecordResponse response;
    grpc::Status status =
        Record(Request(account_id, absl::StrCat("req-", ++request_count_), event), &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    return response;
  }

  // Recording `event` in `account_id` is refused with `code` and a message
  // starting with `field`.
  void ExpectRefused(const std::string& account_id, const AccountEvent& event,
                     grpc::StatusCode code, const std::string& field,
                     const std::string& text = "") {
    grpc::Status status =
        Record(Request(account_id, absl::StrCat("bad-", ++request_count_), event));
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_TRUE(absl::StartsWith(status.error_message(), field + ":")) << status.error_message();
    EXPECT_TRUE(absl::StrContains(status.error_message(), text)) << status.error_message();
  }

  kam::v1::AccountView View(const std::string& account_id, uint64_t position) {
    EXPECT_GE(server_.engine().projector().WaitFor(position, absl::Now() + absl::Seconds(10)),
              position);
    absl::StatusOr<kam::v1::AccountView> view =
        server_.engine().views().GetAccount(account_id, projections::ViewTime{});
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? *view : kam::v1::AccountView();
  }

  TestServer server_;
  int request_count_ = 0;
};

TEST_F(AccountsServiceTest, RecordsEventsOfSeveralKinds) {
  const RecordResponse opened = MustRecord("acme", Opened("Acme Steel"));
  EXPECT_EQ(opened.version(), 0u);
  EXPECT_TRUE(absl::StartsWith(opened.event_id(), "rq-")) << opened.event_id();
  MustRecord("acme", ContactAdded("k-1"));
  const RecordResponse order = MustRecord("acme", Order("o-1", 250000));
  MustRecord("acme", Delivered("o-1"));
  MustRecord("acme", Complaint("c-1"));
  MustRecord("acme", Visit());
  const RecordResponse share = MustRecord("acme", Share(60));
  EXPECT_EQ(share.version(), 6u);
  EXPECT_GT(share.position(), order.position());

  // The stored event: type of the kind, data the AccountEvent as sent.
  auto stored = server_.engine().log().FindEvent(order.event_id());
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->stream, "account-acme");
  EXPECT_EQ((*stored)->type, "kam.v1.OrderPlaced");
  AccountEvent data;
  ASSERT_TRUE(data.ParseFromString((*stored)->data));
  EXPECT_EQ(data.order_placed().amount().minor_units(), 250000);
  EXPECT_EQ((*stored)->occurred_at, Day(5));

  const kam::v1::AccountView view = View("acme", share.position());
  EXPECT_EQ(view.version(), share.version());
  EXPECT_EQ(view.contacts_size(), 1);
  EXPECT_EQ(view.open_complaints_size(), 1);
  EXPECT_EQ(view.stage(), kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
  EXPECT_EQ(view.latest_share().share_percent(), 60u);
}

TEST_F(AccountsServiceTest, ProductLaunchedGoesToTheCatalog) {
  const RecordResponse launch = MustRecord("", Launch("p-1"));
  auto stored = server_.engine().log().FindEvent(launch.event_id());
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->stream, "catalog");
  AccountEvent renamed = Launch("p-1");
  renamed.mutable_product_launched()->set_name("Crane scale OCS-30 (standard)");
  MustRecord("", Correct(launch.event_id(), renamed));
  MustRecord("acme", Opened("Acme"));
  ExpectRefused("acme", Launch("p-2"), grpc::StatusCode::INVALID_ARGUMENT, "account_id",
                "must be empty");
  ExpectRefused("", Visit(), grpc::StatusCode::INVALID_ARGUMENT, "account_id", "required");
}

TEST_F(AccountsServiceTest, UnknownAccountIsNotFound) {
  ExpectRefused("nobody", Visit(), grpc::StatusCode::NOT_FOUND, "account_id",
                "account 'nobody' is not open");
}

TEST_F(AccountsServiceTest, EveryValidationRuleAnswersWithItsCodeAndField) {
  MustRecord("acme", Opened("Acme Steel", Day(3)));
  MustRecord("acme", ContactAdded("k-1", Day(3)));
  MustRecord("acme", Complaint("c-1"));
  MustRecord("acme", Resolved("c-1"));
  const std::string order = MustRecord("acme", Order("o-1")).event_id();

  using Code = grpc::StatusCode;
  ExpectRefused("acme", Opened("Acme again", Day(4)), Code::ALREADY_EXISTS, "event.account_opened",
                "already open");
  ExpectRefused("acme", Resolved("c-7"), Code::FAILED_PRECONDITION,
                "event.complaint_resolved.complaint_id", "complaint 'c-7' is not open");
  ExpectRefused("acme", Resolved("c-1"), Code::FAILED_PRECONDITION,
                "event.complaint_resolved.complaint_id", "complaint 'c-1' is not open");
  ExpectRefused("acme", Delivered("o-9"), Code::FAILED_PRECONDITION,
                "event.order_delivered.order_id", "no order 'o-9'");
  ExpectRefused("acme", ContactLeft("k-2"), Code::FAILED_PRECONDITION,
                "event.contact_left.contact_id", "contact 'k-2' is not active");
  ExpectRefused("acme", Share(101), Code::INVALID_ARGUMENT,
                "event.purchase_share_assessed.share_percent", "outside 0-100");
  ExpectRefused("acme", Order("o-2", -1), Code::INVALID_ARGUMENT,
                "event.order_placed.amount.minor_units", "negative");
  ExpectRefused("acme", Order("o-2", 100, "USD"), Code::INVALID_ARGUMENT,
                "event.order_placed.amount.currency_code", "'USD' is not the reporting currency");
  ExpectRefused("acme", Visit(absl::Now() + absl::Minutes(10)), Code::INVALID_ARGUMENT,
                "event.occurred_at", "in the future");
  ExpectRefused("acme", Visit(absl::FromUnixSeconds(900000000)), Code::INVALID_ARGUMENT,
                "event.occurred_at", "before 2000-01-01");
  ExpectRefused("acme", Visit(Day(2)), Code::FAILED_PRECONDITION, "event.occurred_at",
                "before account 'acme' was opened");
  ExpectRefused("acme", Intent(1.5), Code::INVALID_ARGUMENT, "event.prospect_assessed.intent",
                "outside 0.0-1.0");
  ExpectRefused("acme", Complaint("c-2", 5), Code::INVALID_ARGUMENT,
                "event.complaint_filed.severity", "outside 1-4");
  ExpectRefused("acme", At(Day(5)), Code::INVALID_ARGUMENT, "event", "no event kind is set");

  // Corrections.
  ExpectRefused("acme", Correct("rq-unknown", Visit()), Code::FAILED_PRECONDITION,
                "event.event_corrected.corrected_event_id", "no event 'rq-unknown'");
  ExpectRefused("acme", Correct(order, Order("o-3")), Code::FAILED_PRECONDITION,
                "event.event_corrected.replacement.order_placed.order_id", "differs");
  ExpectRefused("acme", Correct(order, Visit()), Code::FAILED_PRECONDITION,
                "event.event_corrected.replacement", "cannot replace the OrderPlaced");
  const std::string correction = MustRecord("acme", Correct(order, Order("o-1", 12000))).event_id();
  ExpectRefused("acme", Correct(correction, Order("o-1", 13000)), Code::FAILED_PRECONDITION,
                "event.event_corrected.corrected_event_id", "is an EventCorrected");
  const std::string retraction = MustRecord("acme", Retract(order)).event_id();
  ExpectRefused("acme", Retract(order), Code::FAILED_PRECONDITION,
                "event.event_retracted.retracted_event_id", "is retracted");
  ExpectRefused("acme", Correct(order, Order("o-1", 1)), Code::FAILED_PRECONDITION,
                "event.event_corrected.corrected_event_id", "is retracted");
  ExpectRefused("acme", Retract(retraction), Code::FAILED_PRECONDITION,
                "event.event_retracted.retracted_event_id", "is an EventRetracted");
}

TEST_F(AccountsServiceTest, MalformedRequestsAreInvalidArgument) {
  MustRecord("acme", Opened("Acme"));
  grpc::Status status = Record(Request("acme", "", Visit()));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "request_id: required"))
      << status.error_message();
  status = Record(Request(std::string("bad\nid"), "r-1", Visit()));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "account_id:")) << status.error_message();
  status = Record(Request("acme", std::string(300, 'x'), Visit()));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "request_id:")) << status.error_message();
}

TEST_F(AccountsServiceTest, RetriedRequestIdReturnsTheFirstResultAlsoAfterARestart) {
  MustRecord("acme", Opened("Acme"));
  MustRecord("acme", Complaint("c-1"));
  const RecordRequest resolve = Request("acme", "resolve-c-1", Resolved("c-1"));
  RecordResponse first;
  ASSERT_TRUE(Record(resolve, &first).ok());
  // Validated again it would be refused (the complaint is closed): a retry
  // is answered from the log instead.
  RecordResponse again;
  grpc::Status status = Record(resolve, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());

  server_.Stop();
  server_.Start();
  RecordResponse after_restart;
  status = Record(resolve, &after_restart);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(after_restart.event_id(), first.event_id());
  EXPECT_EQ(after_restart.version(), first.version());
  EXPECT_EQ(after_restart.position(), first.position());
  auto info = server_.engine().log().GetStreamInfo("account-acme");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->event_count, 3u) << "nothing recorded twice";
}

TEST_F(AccountsServiceTest, SameRequestIdWithOtherContentIsAlreadyExists) {
  MustRecord("acme", Opened("Acme"));
  ASSERT_TRUE(Record(Request("acme", "visit-1", Visit(Day(15)))).ok());
  grpc::Status status = Record(Request("acme", "visit-1", Visit(Day(16))));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "request_id: 'visit-1'"))
      << status.error_message();
  // The same request_id on another account is another fact.
  MustRecord("other", Opened("Other"));
  EXPECT_TRUE(Record(Request("other", "visit-1", Visit(Day(16)))).ok());
}

TEST_F(AccountsServiceTest, ExpectedVersionMismatchIsAborted) {
  MustRecord("acme", Opened("Acme"));
  MustRecord("acme", Visit());
  RecordRequest request = Request("acme", "v-3", Visit(Day(20)));
  request.set_expected_version(0);
  grpc::Status status = Record(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "expected_version:"))
      << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "is at version 1"))
      << status.error_message();
  request.set_expected_version(1);
  RecordResponse response;
  status = Record(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.version(), 2u);
}

// Many clients at once: every record lands, each account's versions are
// dense, and validation sees every earlier record of its account.
TEST_F(AccountsServiceTest, ConcurrentRecordsOnFewAccounts) {
  constexpr int kAccounts = 4;
  constexpr int kClients = 32;
  constexpr int kPerClient = 10;
  for (int a = 0; a < kAccounts; ++a) MustRecord(absl::StrCat("acct-", a), Opened("A"));
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  std::vector<std::vector<RecordResponse>> responses(kClients);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = server_.Accounts();
      for (int i = 0; i < kPerClient; ++i) {
        RecordResponse response;
        const std::string order = absl::StrCat("o-", c, "-", i);
        grpc::Status s = stub->Record(Context().get(),
                                      Request(absl::StrCat("acct-", c % kAccounts),
                                              absl::StrCat("r-", c, "-", i), Order(order)),
                                      &response);
        if (!s.ok()) ++failures;
        responses[c].push_back(response);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::map<std::string, std::set<uint64_t>> versions;
  for (int c = 0; c < kClients; ++c) {
    for (const RecordResponse& r : responses[c]) {
      versions[absl::StrCat("acct-", c % kAccounts)].insert(r.version());
    }
  }
  for (const auto& [account, set] : versions) {
    EXPECT_EQ(set.size(), static_cast<size_t>(kClients / kAccounts * kPerClient)) << account;
    EXPECT_EQ(*set.begin(), 1u);
    EXPECT_EQ(*set.rbegin(), set.size());
  }
}

grpc::Status SendBatch(TestServer& server, const std::vector<RecordRequest>& requests,
                       kam::v1::RecordBatchResponse* response) {
  auto stub = server.Accounts();
  auto context = Context("", absl::Seconds(60));
  std::unique_ptr<grpc::ClientWriter<RecordRequest>> writer =
      stub->RecordBatch(context.get(), response);
  for (const RecordRequest& r : requests) {
    if (!writer->Write(r)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

TEST_F(AccountsServiceTest, RecordBatchImportsManyAccountsAndReportsEachRequest) {
  constexpr int kAccounts = 20;
  constexpr int kRequests = 2000;
  std::vector<RecordRequest> requests;
  for (int a = 0; a < kAccounts; ++a) {
    requests.push_back(Request(absl::StrCat("b-", a), absl::StrCat("open-", a), Opened("B")));
  }
  std::map<int, grpc::StatusCode> refused;
  for (int i = kAccounts; i < kRequests; ++i) {
    const std::string account = absl::StrCat("b-", i % kAccounts);
    const std::string id = absl::StrCat("line-", i);
    if (i == 100) {
      requests.push_back(Request(account, id, Delivered("never-placed")));
      refused[i] = grpc::StatusCode::FAILED_PRECONDITION;
    } else if (i == 500) {
      requests.push_back(Request(account, id, Order("o-eur", 5, "EUR")));
      refused[i] = grpc::StatusCode::INVALID_ARGUMENT;
    } else if (i == 900) {
      requests.push_back(Request(account, "", Visit()));
      refused[i] = grpc::StatusCode::INVALID_ARGUMENT;
    } else if (i == 1300) {
      requests.push_back(Request("no-such-account", id, Visit()));
      refused[i] = grpc::StatusCode::NOT_FOUND;
    } else if (i % 3 == 0) {
      // Delivers the order of request i - 20, of the same account.
      requests.push_back(Request(account, id, Delivered(absl::StrCat("o-", i - kAccounts))));
    } else {
      requests.push_back(Request(account, id, Order(absl::StrCat("o-", i), 100 + i)));
    }
  }
  // Some deliveries name orders that were not placed (their index was a
  // delivery itself): those are refused too.
  for (int i = kAccounts; i < kRequests; ++i) {
    if (refused.count(i) != 0 || requests[i].event().kind_case() != AccountEvent::kOrderDelivered) {
      continue;
    }
    const int placed = i - kAccounts;
    if (placed < kAccounts || placed % 3 == 0 || refused.count(placed) != 0) {
      refused[i] = grpc::StatusCode::FAILED_PRECONDITION;
    }
  }

  kam::v1::RecordBatchResponse response;
  grpc::Status status = SendBatch(server_, requests, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), kRequests);
  EXPECT_EQ(response.accepted(), kRequests - refused.size());
  std::map<std::string, uint64_t> next_version;
  uint64_t last_position = 0;
  for (int i = 0; i < kRequests; ++i) {
    const kam::v1::RecordResult& result = response.results(i);
    EXPECT_EQ(result.index(), static_cast<uint64_t>(i));
    EXPECT_EQ(result.request_id(), requests[i].request_id());
    if (auto it = refused.find(i); it != refused.end()) {
      ASSERT_TRUE(result.has_error()) << i;
      EXPECT_EQ(result.error().code(), static_cast<int>(it->second))
          << i << " " << result.error().message();
      continue;
    }
    ASSERT_TRUE(result.has_recorded()) << i << " " << result.error().message();
    // Each account's events in the order sent.
    EXPECT_EQ(result.recorded().version(), next_version[requests[i].account_id()]++) << i;
    last_position = std::max(last_position, result.recorded().position());
  }

  // The views see every recorded event.
  const kam::v1::AccountView view = View("b-7", last_position);
  EXPECT_EQ(view.version() + 1, next_version["b-7"]);

  // Sent again, the batch records nothing new and gives the same results.
  kam::v1::RecordBatchResponse again;
  status = SendBatch(server_, requests, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.accepted(), response.accepted());
  for (int i = 0; i < kRequests; ++i) {
    if (refused.count(i) != 0) continue;
    EXPECT_EQ(again.results(i).recorded().position(), response.results(i).recorded().position());
  }
  EXPECT_EQ(server_.engine().log().Head().position, last_position);
}

// Bulk imports, single records and raw appends on the same accounts at once:
// every command is recorded exactly once with the version and position its
// result names, and each import's deliveries find the orders it placed
// before (in the same chunk or an earlier one) whatever was recorded in
// between. The raw appends move the streams' versions under the imports, so
// some of their appends meet a conflict and are validated and appended again.
TEST_F(AccountsServiceTest, ConcurrentBatchesRecordsAndAppendsOnSharedAccounts) {
  constexpr int kAccounts = 8;
  constexpr int kImporters = 4;
  constexpr int kPerImport = 2500;  // Three of RecordBatch's chunks.
  constexpr int kRecorders = 2;
  constexpr int kPerRecorder = 100;
  constexpr int kRawAppends = 200;
  const auto account_of = [](int i) { return absl::StrCat("shared-", (i / 2) % kAccounts); };
  for (int a = 0; a < kAccounts; ++a) MustRecord(absl::StrCat("shared-", a), Opened("Shared"));

  std::vector<std::vector<RecordRequest>> imports(kImporters);
  for (int t = 0; t < kImporters; ++t) {
    for (int i = 0; i < kPerImport; ++i) {
      const std::string id = absl::StrCat("imp-", t, "-", i);
      // Odd lines deliver the order placed 17 lines before, of the same
      // account; the lines before that have no order to deliver yet.
      const AccountEvent event = i % 2 == 0 ? Order(absl::StrCat("o-", t, "-", i), 100 + i)
                                 : i >= 17  ? Delivered(absl::StrCat("o-", t, "-", i - 17))
                                            : Visit();
      imports[t].push_back(Request(account_of(i), id, event));
    }
  }
  std::vector<kam::v1::RecordBatchResponse> results(kImporters);
  std::vector<grpc::Status> statuses(kImporters);
  std::vector<std::vector<RecordResponse>> recorded(kRecorders);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kImporters; ++t) {
    threads.emplace_back([&, t] { statuses[t] = SendBatch(server_, imports[t], &results[t]); });
  }
  for (int r = 0; r < kRecorders; ++r) {
    threads.emplace_back([&, r] {
      auto stub = server_.Accounts();
      for (int i = 0; i < kPerRecorder; ++i) {
        RecordResponse response;
        const grpc::Status s = stub->Record(
            Context().get(),
            Request(account_of(i * 2), absl::StrCat("single-", r, "-", i), Visit()), &response);
        if (!s.ok()) ++failures;
        recorded[r].push_back(response);
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < kRawAppends; ++i) {
      eventstore::EventData note;
      note.event_id = absl::StrCat("raw-", i);
      note.type = "test.Note";  // No AccountEvent: the projections skip it.
      note.data = "note";
      note.occurred_at = Day(3);
      auto r = server_.engine().log().Append(projections::AccountStream(account_of(i * 2)),
                                             eventstore::ExpectedVersion::Any(), {note});
      if (!r.ok()) ++failures;
    }
  });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);

  std::map<std::string, uint64_t> events_of;  // Per account, the opening included.
  for (int a = 0; a < kAccounts; ++a) events_of[absl::StrCat("shared-", a)] = 1;
  const auto expect_stored = [&](const std::string& account, const kam::v1::RecordResponse& r,
                                 const std::string& what) {
    auto stored = server_.engine().log().FindEvent(r.event_id());
    ASSERT_TRUE(stored.ok() && stored->has_value()) << what;
    EXPECT_EQ((*stored)->stream, projections::AccountStream(account)) << what;
    EXPECT_EQ((*stored)->version, r.version()) << what;
    EXPECT_EQ((*stored)->position, r.position()) << what;
    ++events_of[account];
  };
  for (int t = 0; t < kImporters; ++t) {
    ASSERT_TRUE(statuses[t].ok()) << statuses[t].error_message();
    ASSERT_EQ(results[t].results_size(), kPerImport);
    EXPECT_EQ(results[t].accepted(), static_cast<uint64_t>(kPerImport));
    for (int i = 0; i < kPerImport; ++i) {
      const kam::v1::RecordResult& result = results[t].results(i);
      ASSERT_TRUE(result.has_recorded())
          << "import " << t << " line " << i << ": " << result.error().message();
      expect_stored(account_of(i), result.recorded(), absl::StrCat("import ", t, " line ", i));
    }
  }
  for (int r = 0; r < kRecorders; ++r) {
    for (int i = 0; i < kPerRecorder; ++i) {
      expect_stored(account_of(i * 2), recorded[r][i], absl::StrCat("record ", r, "-", i));
    }
  }
  for (int i = 0; i < kRawAppends; ++i) ++events_of[account_of(i * 2)];
  // Nothing else reached the streams: each command once, versions dense.
  for (const auto& [account, count] : events_of) {
    absl::StatusOr<eventstore::StreamInfo> info =
        server_.engine().log().GetStreamInfo(projections::AccountStream(account));
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->event_count, count) << account;
    EXPECT_EQ(info->last_version + 1, count) << account;
  }
}

TEST_F(AccountsServiceTest, RecordBatchRepeatedRequestIdInOneBatch) {
  std::vector<RecordRequest> requests = {
      Request("dup", "open", Opened("Dup")), Request("dup", "v", Visit(Day(15))),
      Request("dup", "v", Visit(Day(15))),  // A retry within the batch.
      Request("dup", "v", Visit(Day(16))),  // Another fact under the same id.
  };
  kam::v1::RecordBatchResponse response;
  ASSERT_TRUE(SendBatch(server_, requests, &response).ok());
  ASSERT_EQ(response.results_size(), 4);
  EXPECT_EQ(response.accepted(), 3u);
  EXPECT_EQ(response.results(2).recorded().event_id(), response.results(1).recorded().event_id());
  EXPECT_EQ(response.results(3).error().code(), static_cast<int>(grpc::StatusCode::ALREADY_EXISTS));
}

TEST_F(AccountsServiceTest, RecordBatchOverTheCapIsResourceExhausted) {
  // Refused requests are cheap to send in bulk: no request_id.
  std::vector<RecordRequest> requests(AccountsService::kMaxBatchRequests + 1,
                                      Request("acme", "", Visit()));
  kam::v1::RecordBatchResponse response;
  grpc::Status status = SendBatch(server_, requests, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
}

TEST(AccountsServiceAuthTest, RecordNeedsTheRecorderRole) {
  char path[] = "/tmp/kam_accounts_tokens_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << TokenHash("rec-token") << " recorder\n" << TokenHash("read-token") << " reader\n";
  }
  ServerOptions options;
  options.tokens_file = path;
  TestServer server(options);
  auto stub = server.Accounts();
  RecordResponse response;
  const RecordRequest request = Request("acme", "r-1", Opened("Acme"));
  EXPECT_EQ(stub->Record(Context().get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub->Record(Context("read-token").get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(stub->Record(Context("rec-token").get(), request, &response).ok());
  kam::v1::RecordBatchResponse batch;
  auto context = Context("read-token");
  auto writer = stub->RecordBatch(context.get(), &batch);
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(batch.results_size(), 0);
  std::remove(path);
}

}  // namespace
}  // namespace kam::services
