// The real kamd program, run as a child process: its flags and exit codes,
// durability of every acknowledged append through SIGTERM and SIGKILL under
// load, views that survive a restart, and its metrics endpoint.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "eventstore/rocksdb_log.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "kam/v1/accounts.grpc.pb.h"
#include "kam/v1/audit.grpc.pb.h"
#include "kam/v1/event_store.grpc.pb.h"
#include "kam/v1/views.grpc.pb.h"
#include "services/auth.h"
#include "tests/support/account_events.h"
#include "tests/support/kamd_process.h"

namespace kam::services {
namespace {

using ::testing::HasSubstr;

using test_support::ExitCode;
using test_support::Kamd;
using test_support::ServeArgs;

// TimeUtil::GetCurrentTime has only whole seconds here; views need more.
google::protobuf::Timestamp ProtoNow() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(absl::Now()));
}

class KamdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kamd_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string data() const { return dir_ + "/data"; }

  std::unique_ptr<Kamd> Start(const std::vector<std::string>& extra = {}) {
    auto kamd = std::make_unique<Kamd>(ServeArgs(data(), extra),
                                       absl::StrCat(dir_, "/kamd", starts_++, ".log"));
    EXPECT_TRUE(kamd->WaitUntilListening()) << kamd->stdout_text() << kamd->logs();
    return kamd;
  }

  // Runs kamd to its exit: the exit code, and stderr in *logs.
  int RunToExit(const std::vector<std::string>& args, std::string* logs) {
    Kamd kamd(args, absl::StrCat(dir_, "/run", starts_++, ".log"));
    const int status = kamd.Wait(absl::Seconds(30));
    *logs = kamd.logs();
    return ExitCode(status);
  }

  std::string dir_;
  int starts_ = 0;
};

std::shared_ptr<grpc::Channel> Connect(const Kamd& kamd) {
  return grpc::CreateChannel(kamd.address(), grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout = absl::Seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

// Waits (bounded) until the server answers GetLogHead.
v1::GetLogHeadResponse WaitForHead(const std::shared_ptr<grpc::Channel>& channel) {
  auto context = Context();
  context->set_wait_for_ready(true);
  v1::GetLogHeadResponse head;
  grpc::Status status = v1::Audit::NewStub(channel)->GetLogHead(context.get(), {}, &head);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return head;
}

// Clients appending until their calls fail, keeping what was acknowledged.
class AppendLoad {
 public:
  struct Acked {
    std::string event_id;
    uint64_t position;
  };

  // Each client appends up to `per_client` events, one per call.
  AppendLoad(const std::shared_ptr<grpc::Channel>& channel, int clients, int per_client = 100000) {
    for (int client = 0; client < clients; ++client) {
      threads_.emplace_back(
          [this, channel, client, per_client] { Run(channel, client, per_client); });
    }
  }
  ~AppendLoad() { Join(); }

  // True once `count` appends were acknowledged, false at the deadline.
  bool WaitForAcked(size_t count, absl::Duration timeout = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return acked_.size() >= count || clients_done_ == threads_.size();
    };
    mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
    return acked_.size() >= count;
  }

  void Join() {
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  std::vector<Acked> acked() const {
    absl::MutexLock lock(&mu_);
    return acked_;
  }

 private:
  void Run(const std::shared_ptr<grpc::Channel>& channel, int client, int per_client) {
    std::unique_ptr<v1::EventStore::Stub> stub = v1::EventStore::NewStub(channel);
    for (int i = 0; i < per_client; ++i) {
      v1::AppendRequest request;
      request.set_stream(absl::StrCat("load-", client));
      v1::EventData* event = request.add_events();
      event->set_event_id(absl::StrCat("load-", client, "-", i));
      event->set_type("test.Loaded");
      event->set_data(std::string(100, 'x'));
      *event->mutable_occurred_at() = ProtoNow();
      v1::AppendResponse response;
      auto context = Context();
      if (!stub->Append(context.get(), request, &response).ok()) break;
      absl::MutexLock lock(&mu_);
      acked_.push_back({event->event_id(), response.first_position()});
    }
    absl::MutexLock lock(&mu_);
    ++clients_done_;
  }

  std::vector<std::thread> threads_;
  mutable absl::Mutex mu_;
  std::vector<Acked> acked_ ABSL_GUARDED_BY(mu_);
  size_t clients_done_ ABSL_GUARDED_BY(mu_) = 0;
};

// Every acknowledged append is in the log on disk, where it was acknowledged.
void ExpectAllDurable(const std::string& data_dir, const std::vector<AppendLoad::Acked>& acked) {
  eventstore::RocksDbLogOptions options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<eventstore::EventLog>> log =
      eventstore::OpenRocksDbLog(data_dir + "/log", options);
  ASSERT_TRUE(log.ok()) << log.status();
  size_t missing = 0;
  for (const AppendLoad::Acked& ack : acked) {
    absl::StatusOr<std::optional<eventstore::RecordedEvent>> found =
        (*log)->FindEvent(ack.event_id);
    ASSERT_TRUE(found.ok()) << found.status();
    if (!found->has_value()) {
      ++missing;
      continue;
    }
    EXPECT_EQ((*found)->position, ack.position) << ack.event_id;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged appends";
  absl::StatusOr<eventstore::VerifyResult> verified = (*log)->Verify(1, 0);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->ok) << verified->problem;
}

TEST_F(KamdTest, SigtermDuringLoadExitsZeroAndKeepsEveryAcknowledgedAppend) {
  std::unique_ptr<Kamd> kamd = Start();
  auto channel = Connect(*kamd);
  WaitForHead(channel);
  AppendLoad load(channel, 8);
  ASSERT_TRUE(load.WaitForAcked(200));
  kamd->Signal(SIGTERM);
  load.Join();
  const int status = kamd->Wait();
  EXPECT_TRUE(WIFEXITED(status)) << "kamd died of signal " << WTERMSIG(status);
  EXPECT_EQ(ExitCode(status), 0) << kamd->logs();
  const std::vector<AppendLoad::Acked> acked = load.acked();
  EXPECT_GE(acked.size(), 200u);
  ExpectAllDurable(data(), acked);
  const std::string logs = kamd->logs();
  EXPECT_THAT(logs, HasSubstr("level=info msg=\"stopping"));
  EXPECT_THAT(logs, HasSubstr("signal=SIGTERM"));
  EXPECT_THAT(logs, HasSubstr("msg=stopped"));
}

// A client that made a call and is idle now (a blocking stub polls nothing
// until its next call) never answers gRPC's graceful GOAWAY, which holds a
// server's shutdown up to 20 s; kamd closes such connections once no call
// is left. The bound is half of that wait, not a measure of speed.
TEST_F(KamdTest, SigtermWithAnIdleClientConnectedDoesNotWaitForIt) {
  std::unique_ptr<Kamd> kamd = Start();
  auto channel = Connect(*kamd);
  WaitForHead(channel);
  const absl::Time signalled = absl::Now();
  kamd->Signal(SIGTERM);
  const int status = kamd->Wait(absl::Seconds(60));
  const absl::Duration stopping = absl::Now() - signalled;
  EXPECT_EQ(ExitCode(status), 0) << kamd->logs();
  EXPECT_LT(stopping, absl::Seconds(3)) << kamd->logs();
  EXPECT_EQ(channel.use_count(), 1);  // Connected, unused, until kamd exited.
}

TEST_F(KamdTest, SigkillDuringLoadKeepsEveryAcknowledgedAppend) {
  std::unique_ptr<Kamd> kamd = Start();
  auto channel = Connect(*kamd);
  WaitForHead(channel);
  AppendLoad load(channel, 8);
  ASSERT_TRUE(load.WaitForAcked(200));
  kamd->Signal(SIGKILL);
  load.Join();
  const int status = kamd->Wait();
  EXPECT_TRUE(WIFSIGNALED(status));
  ExpectAllDurable(data(), load.acked());

  // And kamd opens the data again after the crash.
  kamd = Start();
  v1::GetLogHeadResponse head = WaitForHead(Connect(*kamd));
  EXPECT_GE(head.position(), load.acked().size());
}

v1::RecordRequest OpenAccount(const std::string& account_id) {
  v1::AccountEvent event = test_support::Opened("Acme Trading", "maria");
  *event.mutable_occurred_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
      absl::ToUnixSeconds(absl::Now() - absl::Hours(2)));
  event.set_actor("kamd-test");
  return test_support::Request(account_id, "open-" + account_id, event);
}

TEST_F(KamdTest, ARestartKeepsViewsAndIdempotency) {
  std::unique_ptr<Kamd> kamd = Start();
  auto channel = Connect(*kamd);
  WaitForHead(channel);
  const v1::RecordRequest open = OpenAccount("acme");
  v1::RecordResponse recorded;
  auto context = Context();
  grpc::Status status = v1::Accounts::NewStub(channel)->Record(context.get(), open, &recorded);
  ASSERT_TRUE(status.ok()) << status.error_message();

  v1::GetAccountRequest request;
  request.set_account_id("acme");
  request.set_min_position(recorded.position());
  request.set_time_axis(v1::TIME_AXIS_RECORDED);
  *request.mutable_as_of() = ProtoNow();
  v1::AccountView before;
  context = Context();
  status = v1::Views::NewStub(channel)->GetAccount(context.get(), request, &before);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(before.position(), recorded.position());

  // An idle client connection keeps a stopping server waiting (about 5 s)
  // for the client to hang up after the server's GOAWAY: hang up first (a
  // finished call's context still holds its channel).
  context.reset();
  channel.reset();
  kamd->Signal(SIGTERM);
  ASSERT_EQ(ExitCode(kamd->Wait()), 0) << kamd->logs();
  kamd = Start();
  channel = Connect(*kamd);
  WaitForHead(channel);

  v1::AccountView after;
  context = Context();
  status = v1::Views::NewStub(channel)->GetAccount(context.get(), request, &after);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(before, after))
      << before.DebugString() << "\n---\n"
      << after.DebugString();

  v1::RecordResponse retried;
  context = Context();
  status = v1::Accounts::NewStub(channel)->Record(context.get(), open, &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retried.event_id(), recorded.event_id());
  EXPECT_EQ(retried.position(), recorded.position());
}

// GET /metrics over a plain socket: what a Prometheus scraper does.
std::string HttpGet(const std::string& host_port, const std::string& path) {
  std::vector<std::string> parts = absl::StrSplit(host_port, ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) return "";
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, parts[0].c_str(), &address.sin_addr);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", host_port, "\r\n\r\n");
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[8192];
      ssize_t n;
      while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
    }
  }
  close(fd);
  return response;
}

// The value of an unlabelled sample, or -1.
double Sample(const std::string& metrics, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    double value = 0;
    if (fields.size() == 2 && fields[0] == name && absl::SimpleAtod(fields[1], &value)) {
      return value;
    }
  }
  return -1;
}

TEST_F(KamdTest, ServesPrometheusMetrics) {
  std::unique_ptr<Kamd> kamd = Start({"--metrics", "127.0.0.1:0"});
  ASSERT_FALSE(kamd->metrics_address().empty()) << kamd->stdout_text();
  auto channel = Connect(*kamd);
  WaitForHead(channel);
  AppendLoad load(channel, 2, 5);
  load.Join();
  ASSERT_EQ(load.acked().size(), 10u);
  {
    auto context = Context();
    v1::GetAccountRequest request;
    request.set_account_id("nobody");
    v1::AccountView view;
    EXPECT_EQ(v1::Views::NewStub(channel)->GetAccount(context.get(), request, &view).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  const std::string response = HttpGet(kamd->metrics_address(), "/metrics");
  ASSERT_THAT(response, HasSubstr("200 OK"));
  EXPECT_EQ(Sample(response, "kam_log_appends_total"), 10);
  EXPECT_EQ(Sample(response, "kam_log_events_total"), 10);
  EXPECT_EQ(Sample(response, "kam_log_head_position"), 10);
  const double groups = Sample(response, "kam_log_commit_group_appends_count");
  EXPECT_GE(groups, 1);  // Two clients: 5 to 10 fsyncs.
  EXPECT_LE(groups, 10);
  EXPECT_EQ(Sample(response, "kam_log_commit_group_events_sum"), 10);
  EXPECT_GE(Sample(response, "kam_projection_lag_positions"), 0);
  EXPECT_EQ(Sample(response, "kam_subscribers"), 0);
  EXPECT_EQ(Sample(response, "kam_view_cache_hits_total"), 0);
  EXPECT_EQ(Sample(response, "kam_view_cache_misses_total"), 1);  // "nobody", computed.
  EXPECT_GE(Sample(response, "kam_view_cache_views"), 0);
  EXPECT_GE(Sample(response, "kam_view_warming_queued"), 0);
  EXPECT_THAT(response, HasSubstr("kam_append_latency_seconds_bucket"));
  EXPECT_THAT(response, HasSubstr("kam_subscriber_lag_positions_bucket"));

  channel.reset();  // Hangs up first, as above.
  kamd->Signal(SIGINT);
  EXPECT_EQ(ExitCode(kamd->Wait()), 0) << kamd->logs();
}

// ---------------------------------------------------------------------------
// Flags and exit codes

TEST_F(KamdTest, AnUnknownFlagIsAUsageError) {
  std::string logs;
  EXPECT_EQ(RunToExit({"--no-such-flag"}, &logs), 2);
  EXPECT_THAT(logs, HasSubstr("--no-such-flag"));
  EXPECT_EQ(RunToExit({"--data", data(), "--tls-cert", dir_ + "/cert.pem"}, &logs), 2);
  EXPECT_THAT(logs, HasSubstr("--tls-key"));
  EXPECT_EQ(RunToExit({"--data", data(), "unexpected-argument"}, &logs), 2);
  EXPECT_FALSE(std::filesystem::exists(data()));
}

TEST_F(KamdTest, HelpExitsZero) {
  std::string logs;
  EXPECT_EQ(RunToExit({"--help"}, &logs), 0);
}

TEST_F(KamdTest, ANonLoopbackListenWithoutTokensIsRefused) {
  std::string logs;
  EXPECT_EQ(RunToExit({"--data", data(), "--listen", "0.0.0.0:0"}, &logs), 1);
  EXPECT_THAT(logs, HasSubstr("level=error"));
  EXPECT_THAT(logs, HasSubstr("refusing to listen on 0.0.0.0:0 without --tokens"));
  EXPECT_FALSE(std::filesystem::exists(data())) << "refused before touching the data";
}

TEST_F(KamdTest, FailuresNameTheirCause) {
  std::string logs;
  EXPECT_EQ(
      RunToExit({"--data", data(), "--listen", "127.0.0.1:0", "--tokens", dir_ + "/no-tokens"},
                &logs),
      1);
  EXPECT_THAT(logs, HasSubstr(dir_ + "/no-tokens"));
  EXPECT_EQ(
      RunToExit({"--data", data(), "--listen", "127.0.0.1:0", "--config", dir_ + "/no-rules.json"},
                &logs),
      1);
  EXPECT_THAT(logs, HasSubstr(dir_ + "/no-rules.json"));

  // A second kamd on the same data directory.
  std::unique_ptr<Kamd> first = Start();
  EXPECT_EQ(RunToExit({"--data", data(), "--listen", "127.0.0.1:0"}, &logs), 1);
  EXPECT_THAT(logs, HasSubstr("cannot open the engine"));
  EXPECT_THAT(logs, HasSubstr(data()));
}

TEST_F(KamdTest, LogsNeverHoldATokenAndSayAuthIsOn) {
  const std::string token = "kamd-test-secret-token";
  {
    std::ofstream tokens(dir_ + "/tokens");
    tokens << TokenHash(token) << " auditor\n";
  }
  std::unique_ptr<Kamd> kamd = Start({"--tokens", dir_ + "/tokens"});
  EXPECT_THAT(kamd->stdout_text(), HasSubstr("tokens required"));
  auto stub = v1::Audit::NewStub(Connect(*kamd));
  for (const std::string& sent : {token, token + "-wrong"}) {
    auto context = Context();
    context->AddMetadata("authorization", "Bearer " + sent);
    v1::GetLogHeadResponse head;
    grpc::Status status = stub->GetLogHead(context.get(), {}, &head);
    EXPECT_EQ(status.ok(), sent == token) << status.error_message();
  }
  stub.reset();  // Hangs up first, as above.
  kamd->Signal(SIGTERM);
  EXPECT_EQ(ExitCode(kamd->Wait()), 0);
  EXPECT_THAT(kamd->logs(), HasSubstr("auth=on"));
  EXPECT_THAT(kamd->logs(), ::testing::Not(HasSubstr(token)));
}

}  // namespace
}  // namespace kam::services
