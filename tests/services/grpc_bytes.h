// Calls through grpc::GenericStub with hand-encoded bytes, for the standard
// services whose protos Debian's gRPC does not ship (grpc.health.v1,
// reflection).

#ifndef KAM_TESTS_SERVICES_GRPC_BYTES_H_
#define KAM_TESTS_SERVICES_GRPC_BYTES_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "tests/services/test_server.h"

namespace kam::services::testing {

inline std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

inline grpc::ByteBuffer FromString(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// "SERVING", "NOT_SERVING", or what else Check answered for `service`.
inline std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& service) {
  grpc::GenericStub stub(channel);
  auto context = Context();
  // HealthCheckRequest{service}: field 1, length-delimited, its length one
  // byte as names are short; proto3 writes nothing for "".
  const std::string length(1, static_cast<char>(service.size()));
  grpc::Slice slice(service.empty() ? "" : absl::StrCat("\x0a", length, service));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(context.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::StrCat("error ", status.error_code(), ": ", status.error_message());
  }
  // HealthCheckResponse{status}: field 1, varint.
  const std::string answer = ToString(response);
  if (answer == std::string("\x08\x01", 2)) return "SERVING";
  if (answer == std::string("\x08\x02", 2)) return "NOT_SERVING";
  return absl::StrCat("unexpected answer of ", answer.size(), " bytes");
}

}  // namespace kam::services::testing

#endif  // KAM_TESTS_SERVICES_GRPC_BYTES_H_
