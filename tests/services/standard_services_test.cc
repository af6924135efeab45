// The standard services beside kam's own: grpc.health.v1.Health and server
// reflection, so grpcurl-style tools can list and call everything. Neither
// proto ships with Debian's gRPC, so the calls go through the generic stub
// with the few bytes of their messages written out.

#include <string>

#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "tests/services/grpc_bytes.h"
#include "tests/services/test_server.h"

namespace kam::services {
namespace {

using testing::FromString;
using testing::ToString;

TEST(StandardServicesTest, HealthCheckSaysServing) {
  testing::TestServer server;
  EXPECT_EQ(testing::HealthOf(server.channel(), ""), "SERVING");
  for (const char* service :
       {"kam.v1.EventStore", "kam.v1.Accounts", "kam.v1.Views", "kam.v1.Audit"}) {
    EXPECT_EQ(testing::HealthOf(server.channel(), service), "SERVING") << service;
  }
}

// Reflection's ServerReflectionInfo is a bidirectional stream: one request
// (list_services), then the answer, then the call is closed.
class ListServices : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit ListServices(grpc::GenericStub* stub) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    stub->PrepareBidiStreamingCall(&context_,
                                   "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   grpc::StubOptions(), this);
    // ServerReflectionRequest{list_services: "*"}: field 7, length-delimited.
    request_ = FromString(std::string("\x3a\x01*", 3));
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  void OnWriteDone(bool) override { StartWritesDone(); }
  void OnReadDone(bool ok) override {
    if (ok) answer_ = ToString(response_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  std::string Wait() {
    done_.WaitForNotification();
    EXPECT_TRUE(status_.ok()) << status_.error_message();
    return answer_;
  }

 private:
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::string answer_;
  grpc::Status status_;
  absl::Notification done_;
};

TEST(StandardServicesTest, ReflectionListsEveryKamService) {
  testing::TestServer server;
  grpc::GenericStub stub(server.channel());
  ListServices call(&stub);
  const std::string answer = call.Wait();
  for (const char* service : {"kam.v1.EventStore", "kam.v1.Accounts", "kam.v1.Views",
                              "kam.v1.Audit", "grpc.health.v1.Health"}) {
    EXPECT_NE(answer.find(service), std::string::npos) << service << " is not listed";
  }
}

}  // namespace
}  // namespace kam::services
