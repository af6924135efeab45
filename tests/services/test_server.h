// A real kamd engine and gRPC server on a loopback port in a fresh data
// directory, with client stubs: what the services tests run against.

#ifndef KAM_TESTS_SERVICES_TEST_SERVER_H_
#define KAM_TESTS_SERVICES_TEST_SERVER_H_

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "kam/v1/accounts.grpc.pb.h"
#include "kam/v1/audit.grpc.pb.h"
#include "kam/v1/event_store.grpc.pb.h"
#include "kam/v1/views.grpc.pb.h"
#include "projections/projection_store.h"
#include "services/auth.h"
#include "services/engine.h"
#include "services/server.h"
#include "tests/support/fake_clock.h"

namespace kam::services::testing {

class TestServer {
 public:
  // Opens an engine in a fresh directory and serves it on 127.0.0.1:<free>.
  explicit TestServer(ServerOptions options = ServerOptions(),
                      EngineOptions engine_options = EngineOptions()) {
    char pattern[] = "/tmp/kam_services_XXXXXX";
    if (mkdtemp(pattern) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    dir_ = pattern;
    engine_options_ = std::move(engine_options);
    options_ = std::move(options);
    if (options_.listen == "127.0.0.1:50051") options_.listen = "127.0.0.1:0";
    Start();
  }
  ~TestServer() {
    Stop();
    std::filesystem::remove_all(dir_);
  }

  // Stops the server and closes the engine, keeping the data directory.
  void Stop() {
    server_.reset();
    engine_.reset();
  }
  // Opens the same data directory again on a new port.
  void Start() {
    engine_options_.data_dir = dir_ + "/data";
    auto engine = Engine::Open(engine_options_);
    EXPECT_TRUE(engine.ok()) << engine.status();
    if (!engine.ok()) return;
    engine_ = std::move(*engine);
    auto server = KamServer::Start(engine_.get(), options_);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return;
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  // What the next Start() opens the engine with (its data_dir aside).
  EngineOptions& engine_options() { return engine_options_; }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  Engine& engine() { return *engine_; }
  KamServer& server() { return *server_; }
  const std::string& dir() const { return dir_; }

  std::unique_ptr<kam::v1::EventStore::Stub> EventStore() const {
    return kam::v1::EventStore::NewStub(channel_);
  }
  std::unique_ptr<kam::v1::Accounts::Stub> Accounts() const {
    return kam::v1::Accounts::NewStub(channel_);
  }
  std::unique_ptr<kam::v1::Views::Stub> Views() const { return kam::v1::Views::NewStub(channel_); }
  std::unique_ptr<kam::v1::Audit::Stub> Audit() const { return kam::v1::Audit::NewStub(channel_); }

 private:
  std::string dir_;
  EngineOptions engine_options_;
  ServerOptions options_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<KamServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A client context with a deadline, and a bearer token when given.
inline std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "",
                                                    absl::Duration timeout = absl::Seconds(30)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

// Options of a server that requires tokens: `token_roles` (token, role) in a
// tokens file of this test process, `name` telling the binary's files apart.
inline ServerOptions TokenOptions(
    const std::string& name, const std::vector<std::pair<std::string, std::string>>& token_roles) {
  const std::string path = absl::StrCat(::testing::TempDir(), name, "_tokens_", getpid(), ".txt");
  std::ofstream out(path);
  for (const auto& [token, role] : token_roles) out << TokenHash(token) << " " << role << "\n";
  ServerOptions options;
  options.tokens_file = path;
  return options;
}

// A TestServer whose engine runs on a clock the test sets, for tests that
// append events to the log directly, as the Accounts service would record
// them, with a known recorded_at. The clock starts at Day(0).
class ClockedServerTest : public ::testing::Test {
 protected:
  explicit ClockedServerTest(ServerOptions options)
      : server_(std::move(options), EngineOptionsWithClock()) {}

  // Day `n` of the tests' calendar; day 0 is 2026-01-01.
  static absl::Time Day(int n) { return absl::FromUnixSeconds(1767225600) + absl::Hours(24 * n); }

  // Appends `events` to `account`'s stream in one commit as if now were
  // `recorded_at`, without waiting for the views; returns the last position,
  // or 0 after a test failure.
  uint64_t AppendAt(const std::string& account, const std::vector<eventstore::EventData>& events,
                    absl::Time recorded_at) {
    clock_.Set(recorded_at);
    auto r = server_.engine().log().Append(projections::AccountStream(account),
                                           eventstore::ExpectedVersion::Any(), events);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->last_position : 0;
  }

  // Waits (bounded) until the views include `position`.
  void AwaitViews(uint64_t position) {
    EXPECT_GE(server_.engine().projector().WaitFor(position, absl::Now() + absl::Seconds(5)),
              position);
  }

  test_support::FakeClock clock_{Day(0)};  // Before the server, which uses it.
  TestServer server_;

 private:
  EngineOptions EngineOptionsWithClock() {
    EngineOptions options;
    options.clock = &clock_;
    return options;
  }
};

}  // namespace kam::services::testing

#endif  // KAM_TESTS_SERVICES_TEST_SERVER_H_
