// A real kamd engine and gRPC server on a loopback port in a fresh data
// directory, with client stubs: what the services tests run against.

#ifndef KAM_TESTS_SERVICES_TEST_SERVER_H_
#define KAM_TESTS_SERVICES_TEST_SERVER_H_

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "kam/v1/accounts.grpc.pb.h"
#include "kam/v1/audit.grpc.pb.h"
#include "kam/v1/event_store.grpc.pb.h"
#include "kam/v1/views.grpc.pb.h"
#include "services/engine.h"
#include "services/server.h"

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

}  // namespace kam::services::testing

#endif  // KAM_TESTS_SERVICES_TEST_SERVER_H_
