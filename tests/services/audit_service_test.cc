// kam.v1.Audit end to end over loopback: ReplayAccount streams every event
// with the view right after it (the same view GetAccount gives on the
// RECORDED axis at that time), bounded by version or time; VerifyLog checks
// the hash chain; GetLogHead is the log's head. Events are appended to the
// log directly, as the Accounts service would record them, under a settable
// clock so that recorded_at is known.

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "kam/v1/audit.grpc.pb.h"
#include "kam/v1/views.grpc.pb.h"
#include "projections/projection_store.h"
#include "services/conversions.h"
#include "tests/services/test_server.h"
#include "tests/support/account_events.h"

namespace kam::services {
namespace {

using test_support::DataOf;
using test_support::Order;
using test_support::Share;
namespace ts = ::kam::test_support;

kam::v1::AccountEvent Opened(const std::string& name) {
  return ts::Opened(name, "li", kam::v1::ACCOUNT_KIND_PROSPECT);
}

class AuditServiceTest : public testing::ClockedServerTest {
 protected:
  explicit AuditServiceTest(ServerOptions options = ServerOptions())
      : ClockedServerTest(std::move(options)), audit_(server_.Audit()), views_(server_.Views()) {}

  // Appends `events` to the account's stream in one commit at `recorded_at`
  // and waits until the views include them; returns the last position.
  uint64_t AppendAll(const std::string& account, const std::vector<eventstore::EventData>& events,
                     absl::Time recorded_at) {
    const uint64_t position = AppendAt(account, events, recorded_at);
    AwaitViews(position);
    return position;
  }
  uint64_t Record(const std::string& account, kam::v1::AccountEvent event, absl::Time at) {
    return AppendAll(account, {DataOf(std::move(event), at)}, at);
  }

  std::vector<kam::v1::ReplayAccountResponse> Replay(const kam::v1::ReplayAccountRequest& request,
                                                     grpc::Status* status,
                                                     const std::string& token = "") {
    auto context = testing::Context(token);
    auto reader = audit_->ReplayAccount(context.get(), request);
    std::vector<kam::v1::ReplayAccountResponse> responses;
    kam::v1::ReplayAccountResponse response;
    while (reader->Read(&response)) responses.push_back(response);
    *status = reader->Finish();
    return responses;
  }
  std::vector<kam::v1::ReplayAccountResponse> ReplayOk(
      const kam::v1::ReplayAccountRequest& request) {
    grpc::Status status;
    auto responses = Replay(request, &status);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return responses;
  }
  // Each replayed view is the account's view on the RECORDED axis as of its
  // event's recorded_at.
  void ExpectRecordedAxisViews(const std::string& account,
                               const std::vector<kam::v1::ReplayAccountResponse>& replay) {
    for (const auto& r : replay) {
      kam::v1::GetAccountRequest request;
      request.set_account_id(account);
      *request.mutable_as_of() = r.event().recorded_at();
      request.set_time_axis(kam::v1::TIME_AXIS_RECORDED);
      kam::v1::AccountView view;
      ASSERT_TRUE(views_->GetAccount(testing::Context().get(), request, &view).ok());
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(view, r.view_after()))
          << "at version " << r.event().version() << ":\n"
          << view.DebugString() << "\nreplayed:\n"
          << r.view_after().DebugString();
    }
  }

  static kam::v1::ReplayAccountRequest ReplayOf(const std::string& account) {
    kam::v1::ReplayAccountRequest request;
    request.set_account_id(account);
    return request;
  }

  // acme: opened day 0, a contact day 1, its first order day 2, a share of
  // 60 % day 3; each recorded when it occurred.
  void RecordAcme() {
    Record("acme", Opened("Acme"), Day(0));
    Record("acme",
           ts::Contact("c-1", "", kam::v1::CONTACT_ROLE_DECISION_MAKER,
                       kam::v1::CONTACT_LEVEL_UNSPECIFIED, "Zhang"),
           Day(1));
    Record("acme", Order("o-1", 5000), Day(2));
    Record("acme", Share(60), Day(3));
    clock_.Set(Day(10));
  }

  std::unique_ptr<kam::v1::Audit::Stub> audit_;
  std::unique_ptr<kam::v1::Views::Stub> views_;
};

// ---------------------------------------------------------------------------
// ReplayAccount

TEST_F(AuditServiceTest, ReplayYieldsEveryEventWithTheViewAfterIt) {
  RecordAcme();
  std::vector<kam::v1::ReplayAccountResponse> replay = ReplayOk(ReplayOf("acme"));
  ASSERT_EQ(replay.size(), 4u);
  const std::vector<kam::v1::RelationshipStage> stages = {
      kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT, kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT,
      kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION,
      kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION};
  for (size_t i = 0; i < replay.size(); ++i) {
    const auto& r = replay[i];
    EXPECT_EQ(r.event().version(), i);
    EXPECT_EQ(r.event().stream(), "account-acme");
    EXPECT_EQ(r.event().hash().size(), 32u);
    EXPECT_EQ(FromProto(r.event().recorded_at()), Day(static_cast<int>(i)));
    ASSERT_TRUE(r.has_view_after()) << i;
    EXPECT_EQ(r.view_after().version(), i);
    EXPECT_EQ(r.view_after().position(), r.event().position());
    EXPECT_EQ(r.view_after().time_axis(), kam::v1::TIME_AXIS_RECORDED);
    EXPECT_EQ(FromProto(r.view_after().as_of()), Day(static_cast<int>(i)));
    EXPECT_EQ(r.view_after().stage(), stages[i]) << i;
  }
  EXPECT_TRUE(replay[0].account_event().has_account_opened());
  EXPECT_TRUE(replay[1].account_event().has_contact_added());
  EXPECT_EQ(replay[0].view_after().contacts_size(), 0);
  EXPECT_EQ(replay[1].view_after().contacts_size(), 1);
  // The stage changed to INITIAL_COOPERATION right after the first order.
  EXPECT_TRUE(replay[2].account_event().has_order_placed());
  ASSERT_EQ(replay[2].view_after().stage_history_size(), 2);
  EXPECT_EQ(replay[2].view_after().stage_history(1).caused_by_event_id(),
            replay[2].event().event_id());
  EXPECT_EQ(replay[3].view_after().stage_history_size(), 3);
}

TEST_F(AuditServiceTest, ReplayedViewsAreTheViewsOnTheRecordedAxis) {
  // beta's revenue makes acme's ABC class move as acme's orders arrive.
  Record("beta", Opened("Beta"), Day(0));
  Record("beta", Order("o-1", 1000), Day(1));
  Record("acme", Opened("Acme"), Day(2));
  Record("acme", Order("o-1", 10), Day(3));
  Record("acme", Order("o-2", 5000), Day(4));
  clock_.Set(Day(10));

  std::vector<kam::v1::ReplayAccountResponse> replay = ReplayOk(ReplayOf("acme"));
  ASSERT_EQ(replay.size(), 3u);
  EXPECT_EQ(replay[0].view_after().abc_class(), kam::v1::ABC_CLASS_C);
  EXPECT_EQ(replay[1].view_after().abc_class(), kam::v1::ABC_CLASS_C);
  EXPECT_EQ(replay[2].view_after().abc_class(), kam::v1::ABC_CLASS_A);
  ExpectRecordedAxisViews("acme", replay);
}

// The replay keeps its history across events; corrections, retractions (of
// an event and of a correction), a late-recorded order, an event that is no
// account event and a retraction logged before the event it names must all
// give what the RECORDED axis shows at that time.
TEST_F(AuditServiceTest, ReplayedViewsThroughCorrectionsAndRetractionsAreTheRecordedAxis) {
  int day = 0;
  const auto record = [&](const std::string& id, kam::v1::AccountEvent event,
                          absl::Time occurred_at) {
    eventstore::EventData data = DataOf(std::move(event), occurred_at);
    data.event_id = id;
    AppendAll("acme", {data}, Day(day++));
  };
  record("e-open", Opened("Acme"), Day(0));
  record("e-contact", ts::Contact("c-1", "", kam::v1::CONTACT_ROLE_DECISION_MAKER), Day(1));
  record("e-order", Order("o-1", 5000), Day(2));
  record("e-visit", ts::Visit("review"), Day(3));
  record("e-fix", ts::Correct("e-order", Order("o-1", 7000)), Day(4));
  record("e-late", Order("o-2", 300), Day(1));  // Recorded on day 5.
  record("e-unvisit", ts::Retract("e-visit"), Day(6));
  record("e-fix-late", ts::Correct("e-late", Order("o-2", 400)), Day(7));
  record("e-unfix", ts::Retract("e-fix-late"), Day(8));
  eventstore::EventData note;
  note.type = "example.Note";
  note.data = "not an AccountEvent";
  note.occurred_at = Day(9);
  AppendAll("acme", {note}, Day(day++));
  record("e-early-retraction", ts::Retract("e-future"), Day(10));  // Only raw appends can.
  record("e-share", Share(70), Day(11));
  record("e-future", ts::Visit("named before it was logged"), Day(12));
  record("e-visit-2", ts::Visit("after everything"), Day(13));
  clock_.Set(Day(30));

  std::vector<kam::v1::ReplayAccountResponse> replay = ReplayOk(ReplayOf("acme"));
  ASSERT_EQ(replay.size(), 14u);
  ExpectRecordedAxisViews("acme", replay);
}

TEST_F(AuditServiceTest, ReplayStopsAtToVersion) {
  RecordAcme();
  kam::v1::ReplayAccountRequest request = ReplayOf("acme");
  request.set_to_version(1);
  std::vector<kam::v1::ReplayAccountResponse> replay = ReplayOk(request);
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay.back().event().version(), 1u);
  request.set_to_version(0);
  EXPECT_EQ(ReplayOk(request).size(), 1u);
  request.set_to_version(99);
  EXPECT_EQ(ReplayOk(request).size(), 4u);
}

TEST_F(AuditServiceTest, ReplayStopsAtAsOf) {
  RecordAcme();
  kam::v1::ReplayAccountRequest request = ReplayOf("acme");
  *request.mutable_as_of() = ToProto(Day(2));  // Inclusive.
  std::vector<kam::v1::ReplayAccountResponse> replay = ReplayOk(request);
  ASSERT_EQ(replay.size(), 3u);
  EXPECT_EQ(replay.back().view_after().stage(), kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  *request.mutable_as_of() = ToProto(Day(1) + absl::Hours(12));
  EXPECT_EQ(ReplayOk(request).size(), 2u);
  *request.mutable_as_of() = ToProto(Day(-1));
  EXPECT_EQ(ReplayOk(request).size(), 0u);
}

TEST_F(AuditServiceTest, ReplayErrors) {
  RecordAcme();
  grpc::Status status;
  EXPECT_TRUE(Replay(ReplayOf("nobody"), &status).empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("nobody"), std::string::npos);

  EXPECT_TRUE(Replay(ReplayOf(""), &status).empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("account_id", 0), 0u);

  kam::v1::ReplayAccountRequest bad_time = ReplayOf("acme");
  bad_time.mutable_as_of()->set_nanos(-5);
  EXPECT_TRUE(Replay(bad_time, &status).empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("as_of", 0), 0u);
}

TEST_F(AuditServiceTest, ReplayPassesOverEventsThatAreNotAccountEvents) {
  Record("acme", Opened("Acme"), Day(0));
  eventstore::EventData note;
  note.type = "example.Note";
  note.data = "not an AccountEvent";
  note.occurred_at = Day(1);
  AppendAll("acme", {note}, Day(1));
  Record("acme", Order("o-1", 5000), Day(2));

  std::vector<kam::v1::ReplayAccountResponse> replay = ReplayOk(ReplayOf("acme"));
  ASSERT_EQ(replay.size(), 3u);
  EXPECT_EQ(replay[1].event().type(), "example.Note");
  EXPECT_FALSE(replay[1].has_account_event());
  ASSERT_TRUE(replay[1].has_view_after());
  EXPECT_EQ(replay[1].view_after().version(), 0u);  // The view is as it was.
  EXPECT_EQ(replay[2].view_after().stage(), kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
}

TEST_F(AuditServiceTest, ReplayStreamsLongStreamsInOrder) {
  // More events than one read batch, recorded in two commits.
  Record("acme", Opened("Acme"), Day(0));
  std::vector<eventstore::EventData> visits;
  for (int i = 0; i < 700; ++i) visits.push_back(DataOf(ts::Visit("review"), Day(1)));
  AppendAll("acme", visits, Day(1));
  Record("acme", Order("o-1", 5000), Day(2));

  std::vector<kam::v1::ReplayAccountResponse> replay = ReplayOk(ReplayOf("acme"));
  ASSERT_EQ(replay.size(), 702u);
  for (size_t i = 0; i < replay.size(); ++i) {
    ASSERT_EQ(replay[i].event().version(), i);
    ASSERT_EQ(replay[i].view_after().version(), i);
  }
  EXPECT_EQ(replay.back().view_after().stage(), kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
}

// ---------------------------------------------------------------------------
// VerifyLog and GetLogHead

TEST_F(AuditServiceTest, VerifyLogOfAGoodLog) {
  RecordAcme();
  const eventstore::LogHead head = server_.engine().log().Head();
  ASSERT_EQ(head.position, 4u);

  kam::v1::VerifyLogResponse whole;
  ASSERT_TRUE(audit_->VerifyLog(testing::Context().get(), {}, &whole).ok());
  EXPECT_TRUE(whole.ok());
  EXPECT_EQ(whole.checked(), 4u);
  EXPECT_EQ(whole.last_position(), head.position);
  EXPECT_EQ(whole.head_hash(), head.hash);
  EXPECT_EQ(whole.first_bad_position(), 0u);
  EXPECT_TRUE(whole.problem().empty());

  kam::v1::VerifyLogRequest range;
  range.set_from_position(2);
  range.set_to_position(3);
  kam::v1::VerifyLogResponse part;
  ASSERT_TRUE(audit_->VerifyLog(testing::Context().get(), range, &part).ok());
  EXPECT_TRUE(part.ok());
  EXPECT_EQ(part.checked(), 2u);
  EXPECT_EQ(part.last_position(), 3u);
  auto third = server_.engine().log().ReadAll(3, eventstore::Direction::kForward, 1, {});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(part.head_hash(), third->events.at(0).hash);

  range.set_to_position(1000);  // Beyond the head: the head.
  ASSERT_TRUE(audit_->VerifyLog(testing::Context().get(), range, &part).ok());
  EXPECT_EQ(part.checked(), 3u);
  EXPECT_EQ(part.head_hash(), head.hash);

  range.set_from_position(3);
  range.set_to_position(2);
  EXPECT_EQ(audit_->VerifyLog(testing::Context().get(), range, &part).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  range.set_from_position(9);
  range.set_to_position(0);
  EXPECT_EQ(audit_->VerifyLog(testing::Context().get(), range, &part).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AuditServiceTest, VerifyAndHeadOfAnEmptyLog) {
  kam::v1::VerifyLogResponse verify;
  ASSERT_TRUE(audit_->VerifyLog(testing::Context().get(), {}, &verify).ok());
  EXPECT_TRUE(verify.ok());
  EXPECT_EQ(verify.checked(), 0u);
  EXPECT_EQ(verify.last_position(), 0u);
  EXPECT_EQ(verify.head_hash(), std::string(32, '\0'));

  kam::v1::GetLogHeadResponse head;
  ASSERT_TRUE(audit_->GetLogHead(testing::Context().get(), {}, &head).ok());
  EXPECT_EQ(head.position(), 0u);
  EXPECT_EQ(head.hash(), std::string(32, '\0'));
  EXPECT_FALSE(head.has_recorded_at());
}

TEST_F(AuditServiceTest, GetLogHeadIsTheLogsHead) {
  RecordAcme();
  const eventstore::LogHead expected = server_.engine().log().Head();
  kam::v1::GetLogHeadResponse head;
  ASSERT_TRUE(audit_->GetLogHead(testing::Context().get(), {}, &head).ok());
  EXPECT_EQ(head.position(), expected.position);
  EXPECT_EQ(head.hash(), expected.hash);
  EXPECT_EQ(FromProto(head.recorded_at()), expected.recorded_at);
  EXPECT_EQ(FromProto(head.recorded_at()), Day(3));
}

// ---------------------------------------------------------------------------
// Authorization

class AuditAuthTest : public AuditServiceTest {
 protected:
  AuditAuthTest()
      : AuditServiceTest(testing::TokenOptions(
            "audit", {{"auditor-token", "auditor"}, {"reader-token", "reader"}})) {}
};

TEST_F(AuditAuthTest, OnlyAuditorsAudit) {
  RecordAcme();
  grpc::Status status;
  EXPECT_EQ(Replay(ReplayOf("acme"), &status, "auditor-token").size(), 4u);
  EXPECT_TRUE(status.ok()) << status.error_message();
  kam::v1::GetLogHeadResponse head;
  EXPECT_TRUE(audit_->GetLogHead(testing::Context("auditor-token").get(), {}, &head).ok());

  for (auto [token, code] :
       {std::pair<std::string, grpc::StatusCode>{"", grpc::StatusCode::UNAUTHENTICATED},
        {"reader-token", grpc::StatusCode::PERMISSION_DENIED}}) {
    EXPECT_TRUE(Replay(ReplayOf("acme"), &status, token).empty());
    EXPECT_EQ(status.error_code(), code);
    kam::v1::VerifyLogResponse verify;
    EXPECT_EQ(audit_->VerifyLog(testing::Context(token).get(), {}, &verify).error_code(), code);
    EXPECT_EQ(verify.checked(), 0u);
    kam::v1::GetLogHeadResponse refused;
    EXPECT_EQ(audit_->GetLogHead(testing::Context(token).get(), {}, &refused).error_code(), code);
    EXPECT_EQ(refused.position(), 0u);
  }
}

}  // namespace
}  // namespace kam::services
