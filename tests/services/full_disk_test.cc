// A full disk under a running server, end to end over loopback: the append
// that meets it and every later one fail with RESOURCE_EXHAUSTED naming the
// cause, the health check and the metrics say that recording stopped while
// reads keep working, and once the disk is freed a restart has every
// acknowledged event and records again.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kam/v1/accounts.grpc.pb.h"
#include "kam/v1/audit.grpc.pb.h"
#include "kam/v1/event_store.grpc.pb.h"
#include "kam/v1/views.grpc.pb.h"
#include "projections/projection_store.h"
#include "services/engine.h"
#include "services/metrics.h"
#include "tests/services/grpc_bytes.h"
#include "tests/services/test_server.h"
#include "tests/support/account_events.h"
#include "tests/support/full_disk_env.h"

namespace kam::services {
namespace {

using ::kam::services::testing::Context;
using ::kam::services::testing::HealthOf;
using ::kam::services::testing::TestServer;
using ::kam::test_support::FullDisk;
using Fault = ::kam::test_support::FullDisk::Fault;
namespace ts = ::kam::test_support;

constexpr char kAccount[] = "acme";
constexpr char kStream[] = "imports";  // Appended to through EventStore.

// Every event of `stream`; records a failure if the read fails.
std::vector<v1::RecordedEvent> ReadWholeStream(TestServer& server, const std::string& stream) {
  auto context = Context();
  v1::ReadStreamRequest request;
  request.set_stream(stream);
  auto reader = server.EventStore()->ReadStream(context.get(), request);
  std::vector<v1::RecordedEvent> events;
  for (v1::ReadStreamResponse message; reader->Read(&message);) {
    events.insert(events.end(), message.events().begin(), message.events().end());
  }
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return events;
}

// Audit.VerifyLog of the whole log: ok, having checked `events`.
void ExpectWholeLogVerifies(TestServer& server, uint64_t events) {
  v1::VerifyLogResponse verified;
  const grpc::Status status =
      server.Audit()->VerifyLog(Context().get(), v1::VerifyLogRequest(), &verified);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(verified.ok()) << "position " << verified.first_bad_position() << ": "
                             << verified.problem();
  EXPECT_EQ(verified.checked(), events);
}

// The health of the server ("") and of each kam.v1 service.
std::map<std::string, std::string> Health(const std::shared_ptr<grpc::Channel>& channel) {
  std::map<std::string, std::string> health;
  for (const char* service :
       {"", "kam.v1.EventStore", "kam.v1.Accounts", "kam.v1.Views", "kam.v1.Audit"}) {
    health[service] = HealthOf(channel, service);
  }
  return health;
}

std::map<std::string, std::string> AllServing() {
  return {{"", "SERVING"},
          {"kam.v1.EventStore", "SERVING"},
          {"kam.v1.Accounts", "SERVING"},
          {"kam.v1.Views", "SERVING"},
          {"kam.v1.Audit", "SERVING"}};
}

// The value of the metric `name` without labels in Prometheus text `text`,
// from its sample line: its HELP line says "1 once ...", so a plain search
// for "<name> 1" would always match.
std::string SampleOf(const std::string& text, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, name + " ")) return std::string(line);
  }
  return "no sample of " + name;
}

// ---------------------------------------------------------------------------
// Calls

v1::AppendRequest AppendOf(const std::vector<std::string>& event_ids) {
  v1::AppendRequest request;
  request.set_stream(kStream);
  for (const std::string& id : event_ids) {
    v1::EventData* e = request.add_events();
    e->set_event_id(id);
    e->set_type("test.Imported");
    e->set_data(absl::StrCat("data of ", id));
  }
  return request;
}

v1::RecordRequest RecordOf(const std::string& request_id, const v1::AccountEvent& event) {
  return ts::Request(kAccount, request_id, event);
}

// Event ids of `events`, in order.
std::vector<std::string> IdsOf(const std::vector<v1::RecordedEvent>& events) {
  std::vector<std::string> ids;
  for (const v1::RecordedEvent& e : events) ids.push_back(e.event_id());
  return ids;
}

void ExpectNamesFullDisk(const grpc::Status& status) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "No space")) << status.error_message();
}

// Records a failure for each difference a reader could notice.
void ExpectSameEvent(const v1::RecordedEvent& a, const v1::RecordedEvent& b) {
  EXPECT_EQ(a.event_id(), b.event_id());
  EXPECT_EQ(a.stream(), b.stream());
  EXPECT_EQ(a.version(), b.version());
  EXPECT_EQ(a.position(), b.position());
  EXPECT_EQ(a.data(), b.data());
  EXPECT_EQ(a.hash(), b.hash()) << "position " << a.position();
}

// A server one of whose stores (`store`: EngineOptions::log_env or
// ::projections_env) is on a disk the test fills; RestartOnDefaultDisk()
// starts it again on the same data directory with every store on the default
// disk, as kamd restarted once the disk has room.
class StoreOnFullDiskTest : public ::testing::TestWithParam<Fault> {
 protected:
  using Store = eventstore::StorageEnv EngineOptions::*;

  explicit StoreOnFullDiskTest(Store store)
      : store_(store), disk_(GetParam()), server_(ServerOptions(), OnFullDisk()) {}

  EngineOptions OnFullDisk() {
    EngineOptions options;
    options.*store_ = disk_.env();
    options.metrics = &metrics_;
    return options;
  }

  // A restarted kamd has the default file system and fresh metrics.
  void RestartOnDefaultDisk() {
    server_.Stop();
    server_.engine_options().*store_ = nullptr;
    server_.engine_options().metrics = &restarted_metrics_;
    server_.Start();
  }

  // Audit.VerifyLog of the whole log: ok, having checked `events`.
  void ExpectLogVerifies(uint64_t events) { ExpectWholeLogVerifies(server_, events); }

  const Store store_;
  FullDisk disk_;
  // Both outlive the engines, which report to them.
  ServerMetrics metrics_;
  ServerMetrics restarted_metrics_;
  TestServer server_;
};

// The log's disk fills; the projections' has room.
class FullDiskTest : public StoreOnFullDiskTest {
 protected:
  FullDiskTest() : StoreOnFullDiskTest(&EngineOptions::log_env) {}

  grpc::Status Append(const v1::AppendRequest& request, v1::AppendResponse* response) {
    return server_.EventStore()->Append(Context().get(), request, response);
  }
  grpc::Status Record(const v1::RecordRequest& request, v1::RecordResponse* response) {
    return server_.Accounts()->Record(Context().get(), request, response);
  }

  // Every event of the log; records a failure if the read fails.
  std::vector<v1::RecordedEvent> ReadAll() {
    auto context = Context();
    auto reader = server_.EventStore()->ReadAll(context.get(), v1::ReadAllRequest());
    std::vector<v1::RecordedEvent> events;
    for (v1::ReadAllResponse message; reader->Read(&message);) {
      events.insert(events.end(), message.events().begin(), message.events().end());
    }
    const grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return events;
  }

  // Every event of kStream; records a failure if the read fails.
  std::vector<v1::RecordedEvent> ReadStream() { return ReadWholeStream(server_, kStream); }
};

TEST_P(FullDiskTest, RecordingStopsReadsGoOnAndARestartKeepsEveryAcknowledgedEvent) {
  // Before the disk fills: both ways of writing work, everything serves.
  const absl::Time opened_at = absl::Now() - absl::Hours(48);
  v1::RecordResponse opened;
  grpc::Status status = Record(RecordOf("open", ts::At(opened_at, ts::Opened())), &opened);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::AppendResponse imported;
  status = Append(AppendOf({"ack-0", "ack-1"}), &imported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const uint64_t head = imported.last_position();
  ASSERT_EQ(head, 3u);
  const std::vector<v1::RecordedEvent> acknowledged = ReadAll();
  ASSERT_EQ(acknowledged.size(), head);
  EXPECT_EQ(Health(server_.channel()), AllServing());
  EXPECT_EQ(SampleOf(metrics_.Text(), "kam_log_refuses_appends"), "0");

  // The append that meets the full disk fails. The engine reports the fault
  // before the append is answered, so health and metrics say so already:
  // recording stopped, nothing else did.
  disk_.Fill();
  const v1::AppendRequest lost = AppendOf({"lost-0", "lost-1"});
  v1::AppendResponse not_appended;
  ExpectNamesFullDisk(Append(lost, &not_appended));
  std::map<std::string, std::string> refusing = AllServing();
  refusing[""] = "NOT_SERVING";
  refusing["kam.v1.Accounts"] = "NOT_SERVING";
  EXPECT_EQ(Health(server_.channel()), refusing);
  const std::string metrics = metrics_.Text();
  EXPECT_EQ(SampleOf(metrics, "kam_log_refuses_appends"), "1");
  EXPECT_EQ(SampleOf(metrics, "kam_projections_stopped"), "0");

  // Recording fails for the same cause.
  const v1::RecordRequest visit = RecordOf(
      "visit", ts::At(opened_at + absl::Hours(24),
                      ts::Visit(v1::VISITOR_SENIORITY_SALES, "Wang Fang", "quarterly review")));
  v1::RecordResponse not_recorded;
  ExpectNamesFullDisk(Record(visit, &not_recorded));

  // Reads go on, and see exactly what was acknowledged.
  const std::vector<v1::RecordedEvent> stream = ReadStream();
  ASSERT_EQ(stream.size(), 2u);
  ExpectSameEvent(stream[0], acknowledged[1]);
  ExpectSameEvent(stream[1], acknowledged[2]);
  v1::GetAccountRequest get;
  get.set_account_id(kAccount);
  get.set_min_position(head);
  v1::AccountView view;
  status = server_.Views()->GetAccount(Context().get(), get, &view);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(view.profile().name(), "Acme Steel");
  ASSERT_NO_FATAL_FAILURE(ExpectLogVerifies(head));

  // Room again is not enough: what the failed write left on disk is known
  // only once a restart has recovered the log.
  disk_.Free();
  ExpectNamesFullDisk(Append(lost, &not_appended));
  EXPECT_EQ(Health(server_.channel()), refusing);

  RestartOnDefaultDisk();
  EXPECT_EQ(Health(server_.channel()), AllServing());
  EXPECT_EQ(SampleOf(restarted_metrics_.Text(), "kam_log_refuses_appends"), "0");
  const std::vector<v1::RecordedEvent> recovered = ReadAll();
  ASSERT_GE(recovered.size(), acknowledged.size());
  for (size_t i = 0; i < acknowledged.size(); ++i) ExpectSameEvent(acknowledged[i], recovered[i]);
  // Recovery may keep the failed append (its record reached the file) or
  // drop it, but only whole.
  if (recovered.size() > acknowledged.size()) {
    EXPECT_EQ(IdsOf(recovered),
              (std::vector<std::string>{opened.event_id(), "ack-0", "ack-1", "lost-0", "lost-1"}));
  }

  // Clients retry what failed with the same ids: each is recorded once,
  // whichever way recovery went.
  v1::AppendResponse retried;
  status = Append(lost, &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retried.first_position(), head + 1);
  v1::RecordResponse visited;
  status = Record(visit, &visited);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(visited.position(), head + 3);
  EXPECT_EQ(IdsOf(ReadAll()), (std::vector<std::string>{opened.event_id(), "ack-0", "ack-1",
                                                        "lost-0", "lost-1", visited.event_id()}));
  ASSERT_NO_FATAL_FAILURE(ExpectLogVerifies(head + 3));
}

INSTANTIATE_TEST_SUITE_P(Faults, FullDiskTest,
                         ::testing::ValuesIn(::kam::test_support::kEveryFault),
                         ::kam::test_support::FaultTestName());

// ---------------------------------------------------------------------------
// The projections' disk fills; the log's has room.

class ProjectionsDiskFullTest : public StoreOnFullDiskTest {
 protected:
  ProjectionsDiskFullTest() : StoreOnFullDiskTest(&EngineOptions::projections_env) {}

  // Notified once the engine has reported kProjectionsStopped to every
  // listener registered before this one (the server's health among them).
  void ListenForProjectionsStopped() {
    server_.engine().OnFault(
        [stopped = projections_stopped_](EngineFault fault, const absl::Status& /*cause*/) {
          if (fault == EngineFault::kProjectionsStopped) stopped->Notify();
        });
  }

  // The account's view; min_position 0 does not wait for the projections.
  grpc::Status GetAccount(uint64_t min_position, v1::AccountView* view) {
    v1::GetAccountRequest request;
    request.set_account_id(kAccount);
    request.set_min_position(min_position);
    return server_.Views()->GetAccount(Context("", absl::Seconds(30)).get(), request, view);
  }

  // Appends three events of ~1 MB to another account's stream, which the
  // projections file (the views ignore them: their type is no account
  // event's); returns the new head, or 0 after a test failure.
  uint64_t AppendBallast(int n) {
    v1::AppendRequest request;
    request.set_stream(projections::AccountStream("ballast"));
    for (int i = 0; i < 3; ++i) {
      v1::EventData* e = request.add_events();
      e->set_event_id(absl::StrCat("ballast-", n, "-", i));
      e->set_type("test.Ballast");
      e->set_data(std::string(1000 * 1000, 'b'));
    }
    v1::AppendResponse response;
    const grpc::Status status = server_.EventStore()->Append(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return status.ok() ? response.last_position() : 0;
  }

  // Every event of the account's stream; records a failure if the read fails.
  std::vector<v1::RecordedEvent> ReadAccountStream() {
    return ReadWholeStream(server_, projections::AccountStream(kAccount));
  }

  // Shared with the engine's listener, which may outlive this fixture's members.
  const std::shared_ptr<absl::Notification> projections_stopped_ =
      std::make_shared<absl::Notification>();
};

// Contact ids of `view`, in order.
std::vector<std::string> ContactIdsOf(const v1::AccountView& view) {
  std::vector<std::string> ids;
  for (const v1::Contact& c : view.contacts()) ids.push_back(c.contact_id());
  return ids;
}

TEST_P(ProjectionsDiskFullTest, ViewsStopRecordingGoesOnAndARestartCatchesUp) {
  ListenForProjectionsStopped();
  const absl::Time opened_at = absl::Now() - absl::Hours(48);
  v1::RecordResponse opened;
  grpc::Status status = server_.Accounts()->Record(
      Context().get(), RecordOf("open", ts::At(opened_at, ts::Opened())), &opened);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::AccountView view;
  status = GetAccount(opened.position(), &view);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(view.profile().name(), "Acme Steel");
  EXPECT_EQ(Health(server_.channel()), AllServing());
  EXPECT_EQ(SampleOf(metrics_.Text(), "kam_projections_stopped"), "0");

  // The log is on another disk: both ways of writing still succeed.
  disk_.Fill();
  v1::RecordResponse buyer;
  status = server_.Accounts()->Record(
      Context().get(),
      RecordOf("buyer", ts::At(opened_at + absl::Hours(1),
                               ts::Contact("buyer", "purchasing", v1::CONTACT_ROLE_PURCHASER))),
      &buyer);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::AppendRequest append;
  append.set_stream(projections::AccountStream(kAccount));
  v1::EventData* imported = append.add_events();
  imported->set_event_id("imported-cto");
  imported->set_type("kam.v1.ContactAdded");
  const absl::Time imported_at = opened_at + absl::Hours(2);
  *imported->mutable_occurred_at() = projections::TimeToProto(imported_at);
  imported->set_data(
      ts::At(imported_at, ts::Contact("cto", "engineering", v1::CONTACT_ROLE_INFLUENCER))
          .SerializeAsString());
  v1::AppendResponse appended;
  status = server_.EventStore()->Append(Context().get(), append, &appended);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const uint64_t recorded = appended.last_position();  // The account's last event.
  ASSERT_EQ(recorded, 3u);
  uint64_t head = recorded;

  // The store writes without fsync: a disk that refuses writes stops the
  // projections at the first event (its WAL write), while one whose fsyncs
  // fail is met only by the first memtable flush, once 64 MiB (RocksDB's
  // write_buffer_size) have been filed. Ballast gets there; either way, a
  // reader waiting for the head learns why it will not come.
  constexpr int kMaxBallastAppends = 60;  // 180 MB, well past one flush.
  int ballast_appends = 0;
  while ((status = GetAccount(head, &view)).ok() && ballast_appends < kMaxBallastAppends) {
    head = AppendBallast(ballast_appends++);
    ASSERT_NE(head, 0u);
  }
  if (GetParam() == Fault::kSyncFails) {
    EXPECT_GT(ballast_appends, 0);
  } else {
    EXPECT_EQ(ballast_appends, 0);
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "No space")) << status.error_message();
  ASSERT_TRUE(projections_stopped_->WaitForNotificationWithTimeout(absl::Seconds(30)))
      << "the projections never reported stopping";

  // The views stopped, nothing else did.
  std::map<std::string, std::string> stopped = AllServing();
  stopped[""] = "NOT_SERVING";
  stopped["kam.v1.Views"] = "NOT_SERVING";
  EXPECT_EQ(Health(server_.channel()), stopped);
  const std::string metrics = metrics_.Text();
  EXPECT_EQ(SampleOf(metrics, "kam_projections_stopped"), "1");
  EXPECT_EQ(SampleOf(metrics, "kam_log_refuses_appends"), "0");

  // The views still answer, as of where they stopped: before the contacts
  // when the disk refused their write, after them when only the flush of
  // the ballast met the fault. The log has it all.
  status = GetAccount(0, &view);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(view.profile().name(), "Acme Steel");
  EXPECT_EQ(view.position(), GetParam() == Fault::kSyncFails ? recorded : opened.position());
  ASSERT_NO_FATAL_FAILURE(ExpectLogVerifies(head));
  EXPECT_EQ(IdsOf(ReadAccountStream()),
            (std::vector<std::string>{opened.event_id(), buyer.event_id(), "imported-cto"}));

  // Once the disk has room, a restart catches the views up with the log.
  disk_.Free();
  RestartOnDefaultDisk();
  status = GetAccount(head, &view);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(view.position(), recorded);
  EXPECT_EQ(ContactIdsOf(view), (std::vector<std::string>{"buyer", "cto"}));
  EXPECT_EQ(Health(server_.channel()), AllServing());
  EXPECT_EQ(SampleOf(restarted_metrics_.Text(), "kam_projections_stopped"), "0");
}

INSTANTIATE_TEST_SUITE_P(Faults, ProjectionsDiskFullTest,
                         ::testing::ValuesIn(::kam::test_support::kEveryFault),
                         ::kam::test_support::FaultTestName());

}  // namespace
}  // namespace kam::services
