// The real kamd program, run as a child process: its flags and exit codes,
// durability of every acknowledged append through SIGTERM and SIGKILL under
// load, views that survive a restart, and its metrics endpoint.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
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

extern char** environ;

namespace kam::services {
namespace {

using ::testing::HasSubstr;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// kamd as a child process: stdout through a pipe (for its "listening on"
// line), stderr into a file (its logs).
class Kamd {
 public:
  Kamd(const std::vector<std::string>& args, std::string stderr_path)
      : stderr_path_(std::move(stderr_path)) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe failed";
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(KAMD_PATH));
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, KAMD_PATH, &actions, &attributes, argv.data(), environ) != 0) {
      ADD_FAILURE() << "cannot start " << KAMD_PATH;
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(out[1]);
    stdout_fd_ = out[0];
  }

  ~Kamd() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }

  // Reads stdout until the "listening on" line; false when kamd exits or
  // says nothing in time.
  bool WaitUntilListening(absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (stdout_.find('\n') == std::string::npos) {
      pollfd readable{stdout_fd_, POLLIN, 0};
      const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (wait_ms <= 0 || poll(&readable, 1, wait_ms) <= 0) return false;
      char buffer[4096];
      ssize_t n = read(stdout_fd_, buffer, sizeof(buffer));
      if (n <= 0) return false;
      stdout_.append(buffer, n);
    }
    return Between(stdout_, "listening on ", ",").size() > 0;
  }

  // HOST:PORT of the gRPC server, from the "listening on" line.
  std::string address() const { return Between(stdout_, "listening on ", ","); }
  std::string metrics_address() const { return Between(stdout_, "metrics on http://", "/"); }
  const std::string& stdout_text() const { return stdout_; }
  std::string logs() const { return ReadWholeFile(stderr_path_); }

  void Signal(int signal) { kill(pid_, signal); }

  // The wait status once kamd exited, or -1 (after killing it) at timeout.
  int Wait(absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        ADD_FAILURE() << "kamd did not exit in time";
        return -1;  // The destructor kills it.
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    exited_ = true;
    return status;
  }

 private:
  static std::string Between(const std::string& text, const std::string& start,
                             const std::string& end) {
    size_t from = text.find(start);
    if (from == std::string::npos) return "";
    from += start.size();
    size_t to = text.find(end, from);
    return to == std::string::npos ? "" : text.substr(from, to - from);
  }

  std::string stderr_path_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool exited_ = false;
  std::string stdout_;
};

// TimeUtil::GetCurrentTime has only whole seconds here; views need more.
google::protobuf::Timestamp ProtoNow() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(absl::Now()));
}

int ExitCode(int wait_status) { return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1; }

class KamdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kamd_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string data() const { return dir_ + "/data"; }

  std::unique_ptr<Kamd> Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--data", data(), "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto kamd = std::make_unique<Kamd>(args, absl::StrCat(dir_, "/kamd", starts_++, ".log"));
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
  v1::RecordRequest request;
  request.set_account_id(account_id);
  request.set_request_id("open-" + account_id);
  v1::AccountEvent* event = request.mutable_event();
  *event->mutable_occurred_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
      absl::ToUnixSeconds(absl::Now() - absl::Hours(2)));
  event->set_actor("kamd-test");
  event->mutable_account_opened()->set_name("Acme Trading");
  event->mutable_account_opened()->set_kind(v1::ACCOUNT_KIND_CUSTOMER);
  event->mutable_account_opened()->set_account_manager("maria");
  return request;
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
