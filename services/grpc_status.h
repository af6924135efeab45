// The one place where absl::Status becomes grpc::Status.

#ifndef KAM_SERVICES_GRPC_STATUS_H_
#define KAM_SERVICES_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace kam::services {

// Same code, same message. DataLoss and Internal keep their message: they
// name files and positions an operator needs, never request data.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace kam::services

#endif  // KAM_SERVICES_GRPC_STATUS_H_
